"""Weakened copies of the default synth, as data: each names the control it breaks and
edits the SecureTrail template's resources (and, when it needs them, its Conditions or
Parameters) in place. Shared by the table test and the property test."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from evidence_assemblies import bucket_id, bucket_policy, of_type, trail, trail_key
from trail_validators.contract import AccessLogMetrics, DigestMetrics

OTHER_ACCOUNT = "999999999999"
NEVER = {"Fn::Equals": ["yes", "no"]}


@dataclass(frozen=True)
class Weakening:
    name: str
    control_id: str
    change: Callable[[dict], None]
    """Edits the whole template (``Resources``, ``Conditions``, ``Parameters``)."""


def _resources(change: Callable[[dict], None]) -> Callable[[dict], None]:
    return lambda template: change(template["Resources"])


def _trail_bucket(resources: dict) -> dict:
    return resources[bucket_id(resources, "trail")]["Properties"]


def _first_rule(resources: dict) -> dict:
    return _trail_bucket(resources)["LifecycleConfiguration"]["Rules"][0]


def _add_statement(role: str, statement: dict) -> Callable[[dict], None]:
    return _resources(lambda resources: bucket_policy(resources, role)["Statement"].append(statement))


def _bucket_arns(role: str) -> Callable[[dict], list]:
    def arns(resources: dict) -> list:
        bucket = bucket_id(resources, role)
        return [{"Fn::GetAtt": [bucket, "Arn"]}, {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/*"]]}]
    return arns


def _grant(role: str, principal, actions, condition=None) -> Callable[[dict], None]:
    def change(resources: dict) -> None:
        statement = {"Effect": "Allow", "Principal": principal, "Action": actions,
                     "Resource": _bucket_arns(role)(resources)}
        if condition:
            statement["Condition"] = condition
        bucket_policy(resources, role)["Statement"].append(statement)
    return _resources(change)


def _key_statement(statement: dict) -> Callable[[dict], None]:
    return _resources(lambda resources: trail_key(resources)["KeyPolicy"]["Statement"].append(statement))


def _validator_alarm(metric, **properties) -> Callable[[dict], None]:
    def change(resources: dict) -> None:
        alarms = [body for body in of_type(resources, "AWS::CloudWatch::Alarm")
                  if body["Properties"].get("MetricName") == metric.name]
        assert alarms, f"no {metric.name} alarm to weaken"
        for alarm in alarms:
            alarm["Properties"].update(properties)
    return _resources(change)


def _trail_property(**properties) -> Callable[[dict], None]:
    return _resources(lambda resources: trail(resources).update(properties))


def _never(resource_type: str) -> Callable[[dict], None]:
    def change(template: dict) -> None:
        template.setdefault("Conditions", {})["Never"] = NEVER
        for body in of_type(template["Resources"], resource_type):
            body["Condition"] = "Never"
    return change


def _second_topic_policy(template: dict) -> None:
    resources = template["Resources"]
    (topic_id,) = [logical_id for logical_id, body in resources.items()
                   if body["Type"] == "AWS::SNS::Topic"
                   and body["Properties"].get("TopicName", "").endswith("delivery")]
    resources["SecondTopicPolicy"] = {"Type": "AWS::SNS::TopicInlinePolicy", "Properties": {
        "TopicArn": {"Ref": topic_id}, "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "sns:Publish",
             "Resource": {"Ref": topic_id}}]}}}


def _second_bucket_policy(template: dict) -> None:
    resources = template["Resources"]
    trail_bucket = bucket_id(resources, "trail")
    resources["SecondBucketPolicy"] = {"Type": "AWS::S3::BucketPolicy", "Properties": {
        "Bucket": {"Ref": trail_bucket}, "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            s for s in bucket_policy(resources, "trail")["Statement"] if s.get("Effect") != "Deny"]}}}


def _deny_condition(key: str, extra: dict) -> Callable[[dict], None]:
    def change(resources: dict) -> None:
        for statement in bucket_policy(resources, "trail")["Statement"]:
            if statement.get("Effect") == "Deny" and key in json.dumps(statement.get("Condition")):
                for operator, entries in extra.items():
                    statement["Condition"].setdefault(operator, {}).update(entries)
    return _resources(change)


def _source_arn(value) -> Callable[[dict], None]:
    def change(resources: dict) -> None:
        for statement in bucket_policy(resources, "trail")["Statement"]:
            for entries in statement.get("Condition", {}).values():
                if "aws:SourceArn" in entries and statement.get("Principal") == {"Service": "cloudtrail.amazonaws.com"}:
                    entries["aws:SourceArn"] = value
    return _resources(change)


def _identity_policy(template: dict) -> None:
    resources = template["Resources"]
    role = next(logical_id for logical_id, body in resources.items() if body["Type"] == "AWS::IAM::Role")
    resources["LogEraser"] = {"Type": "AWS::IAM::Policy", "Properties": {
        "PolicyName": "erase", "Roles": [{"Ref": role}], "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
             "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id(resources, "trail"), "Arn"]}, "/*"]]}}]}}}


def _basic_selectors_without_management(resources: dict) -> None:
    properties = trail(resources)
    properties.pop("AdvancedEventSelectors", None)
    properties["EventSelectors"] = [{"IncludeManagementEvents": "false", "ReadWriteType": "All"}]


WEAKENINGS: tuple[Weakening, ...] = (
    Weakening("logs expire after 1 day", "ST.13", _resources(lambda r: _first_rule(r).update(ExpirationInDays=1))),
    Weakening("noncurrent versions expire after 1 day", "ST.13",
              _resources(lambda r: _first_rule(r).update(NoncurrentVersionExpiration={"NoncurrentDays": 1}))),
    Weakening("expiry days as an intrinsic", "ST.13",
              _resources(lambda r: _first_rule(r).update(ExpirationInDays={"Ref": "AWS::NoValue"}))),
    Weakening("a second rule expires one prefix after 30 days", "ST.13", _resources(lambda r: _trail_bucket(r)[
        "LifecycleConfiguration"]["Rules"].append({"Id": "Prune", "Status": "Enabled", "Prefix": "AWSLogs/",
                                                    "ExpirationInDays": 30}))),
    Weakening("logs expire on a fixed date", "ST.13", _resources(lambda r: _first_rule(r).update(
        ExpirationDate="2027-01-01T00:00:00Z"))),
    Weakening("key policy Principal * kms:*", "KMS.5",
              _key_statement({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"})),
    Weakening("key policy AWS * with a condition that admits every account", "KMS.5", _key_statement(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringLike": {"aws:PrincipalAccount": "*"}}})),
    Weakening("key policy another account's root kms:*", "KMS.5", _key_statement(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, "Action": "kms:*",
         "Resource": "*"})),
    Weakening("key policy lets another account's role decrypt with no condition", "KMS.5", _key_statement(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:role/reader"}, "Action": "kms:Decrypt",
         "Resource": "*"})),
    Weakening("key policy NotPrincipal allow", "KMS.5", _key_statement(
        {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, "Action": "kms:Decrypt",
         "Resource": "*"})),
    Weakening("key policy as an intrinsic", "KMS.5", _resources(lambda r: trail_key(r).update(
        KeyPolicy={"Fn::If": ["Never", {}, {}]}))),
    Weakening("trail bucket grants s3:* to another account", "ST.14",
              _grant("trail", {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, "s3:*")),
    Weakening("trail bucket lets anyone delete objects", "ST.14", _grant("trail", "*", ["s3:DeleteObject"])),
    Weakening("access-log bucket lets the account change its policy", "ST.14", _grant(
        "access_log", {"AWS": {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, ":root"]]}},
        "s3:PutBucketPolicy")),
    Weakening("CloudTrail granted s3:Put* instead of s3:PutObject", "ST.14",
              _grant("trail", {"Service": "cloudtrail.amazonaws.com"}, "s3:Put*")),
    Weakening("NotAction allow on the trail bucket", "ST.14", _add_statement("trail", {
        "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "NotAction": "s3:GetObject",
        "Resource": "*"})),
    Weakening("an identity policy deletes trail logs", "ST.14", _identity_policy),
    Weakening("tampering alarm ActionsEnabled false", "ST.6",
              _validator_alarm(DigestMetrics.TAMPERING_FINDINGS, ActionsEnabled=False)),
    Weakening("tampering alarm threshold 1e9", "ST.6",
              _validator_alarm(DigestMetrics.TAMPERING_FINDINGS, Threshold=1e9)),
    Weakening("plain-HTTP alarm ActionsEnabled false", "ST.7",
              _validator_alarm(AccessLogMetrics.NON_TLS_SUCCESS, ActionsEnabled="false")),
    Weakening("plain-HTTP alarm threshold 1e9", "ST.7",
              _validator_alarm(AccessLogMetrics.NON_TLS_SUCCESS, Threshold=1e9)),
    Weakening("TopicInlinePolicy second policy on the delivery topic", "ST.4", _second_topic_policy),
    Weakening("second bucket policy without the TLS denies", "S3.5", _second_bucket_policy),
    Weakening("TLS deny that also requires SecureTransport never", "S3.5",
              _deny_condition("aws:SecureTransport", {"StringEquals": {"aws:SecureTransport": "never"}})),
    Weakening("TLS 1.2 deny that also requires TlsVersion > 9", "ST.3",
              _deny_condition("s3:TlsVersion", {"NumericGreaterThan": {"s3:TlsVersion": 9}})),
    Weakening("IsLogging false", "CIS.3.1", _trail_property(IsLogging=False)),
    Weakening("IsLogging 'false' (validation)", "CIS.3.2", _trail_property(IsLogging="false")),
    Weakening("IsLogging false (CloudTrail.1)", "CloudTrail.1", _trail_property(IsLogging=False)),
    Weakening("IsLogging false (organization trail)", "ST.8", _trail_property(IsLogging="FALSE")),
    Weakening("IsLogging false (digest validation)", "ST.6", _trail_property(IsLogging=False)),
    Weakening("trail never created", "CIS.3.1", _never("AWS::CloudTrail::Trail")),
    Weakening("trail bucket policy never created", "ST.3", _never("AWS::S3::BucketPolicy")),
    Weakening("IncludeManagementEvents 'false' in basic selectors", "CloudTrail.1",
              _resources(_basic_selectors_without_management)),
    Weakening("aws:SourceArn names another account's trail", "ST.1", _source_arn(
        f"arn:aws:cloudtrail:us-east-1:{OTHER_ACCOUNT}:trail/secure-org-trail")),
    Weakening("aws:SourceArn names another trail", "ST.1", _source_arn(
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":cloudtrail:us-east-1:", {"Ref": "AWS::AccountId"},
                           ":trail/some-other-trail"]]})),
    Weakening("aws:SourceArn as a wildcard", "ST.1", _source_arn("arn:aws:cloudtrail:*:*:trail/*")),
    Weakening("log file validation as an intrinsic", "CIS.3.2",
              _trail_property(EnableLogFileValidation={"Ref": "Validation"})),
)
