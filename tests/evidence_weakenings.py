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


# Shapes a hostile template may take that a reader of literals alone misses: intrinsics where
# a literal is needed, parameters a deploy may override, policies on a bucket or topic it
# names indirectly, principals and accounts that are well-formed but not this deployment's.
UNDECIDED = "Undecided"
"""A Condition on a parameter without a default: nothing in the template says what a deploy gets."""


def _with_context(template: dict) -> None:
    template.setdefault("Parameters", {}).update({
        "UndecidedValue": {"Type": "String"}, "WithDefault": {"Type": "String", "Default": "no"},
        "OtherBucket": {"Type": "String", "Default": "somewhere-else"}})
    template.setdefault("Conditions", {})[UNDECIDED] = {"Fn::Equals": [{"Ref": "UndecidedValue"}, "yes"]}


def _in_context(change: Callable[[dict], None]) -> Callable[[dict], None]:
    def apply(template: dict) -> None:
        _with_context(template)
        change(template)
    return apply


def _maybe(value) -> dict:
    return {"Fn::If": [UNDECIDED, value, {"Ref": "AWS::NoValue"}]}


def _resource_of_type(resources: dict, resource_type: str, contains: str = "") -> dict:
    return next(body["Properties"] for body in resources.values()
                if body["Type"] == resource_type and contains in json.dumps(body))


def _statement_if(role: str) -> Callable[[dict], None]:
    def change(template: dict) -> None:
        resources = template["Resources"]
        bucket_policy(resources, role)["Statement"].append(_maybe({
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}, "Action": "s3:*",
            "Resource": _bucket_arns(role)(resources)}))
    return _in_context(change)


def _effect_if(template: dict) -> None:
    resources = template["Resources"]
    bucket_policy(resources, "trail")["Statement"].append({
        "Effect": {"Fn::If": [UNDECIDED, "Allow", "Deny"]}, "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
        "Action": "s3:DeleteObject", "Resource": _bucket_arns("trail")(resources)})


def _key_statement_if(template: dict) -> None:
    trail_key(template["Resources"])["KeyPolicy"]["Statement"].append(_maybe(
        {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}))


def _no_deny_policy(resources: dict, bucket) -> dict:
    return {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": bucket, "PolicyDocument": {
        "Version": "2012-10-17", "Statement": [s for s in bucket_policy(resources, "trail")["Statement"]
                                               if s.get("Effect") != "Deny"]}}}


def _second_policy_on(bucket_of: Callable[[dict], object], condition: str | None = None):
    def change(template: dict) -> None:
        resources = template["Resources"]
        policy = _no_deny_policy(resources, bucket_of(resources))
        if condition:
            template["Conditions"]["Deployed"] = {"Fn::Equals": [{"Ref": "WithDefault"}, "yes"]}
            policy["Condition"] = "Deployed"
        resources["SecondBucketPolicy"] = policy
    return _in_context(change)


def _trail_bucket_by_name(resources: dict) -> dict:
    return resources[bucket_id(resources, "trail")]["Properties"]["BucketName"]


def _trail_on_parameter_default(template: dict) -> None:
    template["Conditions"]["Deployed"] = {"Fn::Equals": [{"Ref": "WithDefault"}, "no"]}
    (trail_id,) = [lid for lid, body in template["Resources"].items() if body["Type"] == "AWS::CloudTrail::Trail"]
    template["Resources"][trail_id]["Condition"] = "Deployed"


def _logging_grant_account(account: str) -> Callable[[dict], None]:
    def change(resources: dict) -> None:
        for statement in bucket_policy(resources, "access_log")["Statement"]:
            if statement.get("Principal") == {"Service": "logging.s3.amazonaws.com"}:
                for entries in statement["Condition"].values():
                    if "aws:SourceAccount" in entries:
                        entries["aws:SourceAccount"] = account
    return _resources(change)


def _identity(resource_type: str, **properties) -> Callable[[dict], None]:
    def change(resources: dict) -> None:
        role = next(logical_id for logical_id, body in resources.items() if body["Type"] == "AWS::IAM::Role")
        statement = {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": {"Fn::Join": ["", [
            {"Fn::GetAtt": [bucket_id(resources, "trail"), "Arn"]}, "/*"]]}}
        document = {"Version": "2012-10-17", "Statement": [statement]}
        if resource_type == "AWS::IAM::User":
            body = {"Policies": [{"PolicyName": "erase", "PolicyDocument": document}]}
        elif resource_type == "AWS::IAM::RolePolicy":
            body = {"PolicyName": "erase", "RoleName": {"Ref": role}, "PolicyDocument": document}
        else:
            body = {"PolicyName": "erase", "Roles": [{"Ref": role}], "PolicyDocument": document}
        statement.update(properties)
        if "NotResource" in properties:
            del statement["Resource"]
        resources["LogEraser"] = {"Type": resource_type, "Properties": body}
    return _resources(change)


def _cis_alarm(metric_name: str, **properties) -> Callable[[dict], None]:
    def change(resources: dict) -> None:
        alarms = [body["Properties"] for body in of_type(resources, "AWS::CloudWatch::Alarm")
                  if body["Properties"].get("MetricName") == metric_name]
        assert alarms, f"no {metric_name} alarm"
        for alarm in alarms:
            alarm.update(properties)
    return _resources(change)


def _root_filter(**transformation) -> Callable[[dict], None]:
    def change(resources: dict) -> None:
        for body in of_type(resources, "AWS::Logs::MetricFilter"):
            for item in body["Properties"]["MetricTransformations"]:
                if item["MetricName"] == ROOT_METRIC:
                    item.update(transformation)
    return _resources(change)


def _subscriptions(change: Callable[[dict], None]) -> Callable[[dict], None]:
    def apply(resources: dict) -> None:
        for logical_id in [lid for lid, body in resources.items() if body["Type"] == "AWS::SNS::Subscription"]:
            change_result = change(resources[logical_id]["Properties"])
            if change_result == "drop":
                del resources[logical_id]
    return _resources(apply)


def _second_topic_policy_for_both(template: dict) -> None:
    resources = template["Resources"]
    topics = [{"Ref": lid} for lid, body in resources.items() if body["Type"] == "AWS::SNS::Topic"]
    resources["BothTopicsPolicy"] = {"Type": "AWS::SNS::TopicPolicy", "Properties": {"Topics": topics,
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "sns:Publish",
             "Resource": "*"}]}}}


ROOT_METRIC = "RootUserUsage"

WEAKENINGS += (
    Weakening("a bucket-policy statement wrapped in Fn::If grants s3:* to another account", "ST.14",
              _statement_if("trail")),
    Weakening("a bucket-policy statement whose Effect is Fn::If", "ST.14", _in_context(_effect_if)),
    Weakening("a key-policy statement wrapped in Fn::If lets everyone kms:*", "KMS.5", _in_context(_key_statement_if)),
    Weakening("a second bucket policy on a bucket named by a parameter", "S3.5",
              _second_policy_on(lambda r: {"Ref": "OtherBucket"})),
    Weakening("a second bucket policy on a bucket from Fn::ImportValue", "S3.5",
              _second_policy_on(lambda r: {"Fn::ImportValue": "shared-bucket"})),
    Weakening("a second bucket policy whose Condition is false only by a parameter default", "S3.5",
              _second_policy_on(lambda r: {"Ref": bucket_id(r, "trail")}, condition="Deployed")),
    Weakening("a second bucket policy naming the trail bucket by its name string", "S3.5",
              _second_policy_on(_trail_bucket_by_name)),
    Weakening("the trail's Condition is true only by a parameter default", "CIS.3.1",
              _in_context(_trail_on_parameter_default)),
    Weakening("the logging grant's aws:SourceAccount is another account", "ST.5", _logging_grant_account(OTHER_ACCOUNT)),
    Weakening("the logging grant's aws:SourceAccount is a wildcard", "ST.5", _logging_grant_account("*")),
    Weakening("key policy lets everyone decrypt pinned to another organization", "KMS.5", _key_statement(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-attacker0000"}}})),
    Weakening("an identity policy deletes trail logs through NotResource", "ST.14",
              _identity("AWS::IAM::Policy", NotResource="arn:aws:s3:::unrelated-bucket/*")),
    Weakening("an IAM user's inline policy deletes trail logs", "ST.14", _identity("AWS::IAM::User")),
    Weakening("an AWS::IAM::RolePolicy deletes trail logs", "ST.14", _identity("AWS::IAM::RolePolicy")),
    Weakening("CloudWatch Logs delivery only under an undecided Condition", "CloudTrail.5", _in_context(
        lambda t: trail(t["Resources"]).update(CloudWatchLogsLogGroupArn=_maybe(
            trail(t["Resources"])["CloudWatchLogsLogGroupArn"])))),
    Weakening("the trail bucket's access-log destination is a parameter", "CIS.3.4", _in_context(
        lambda t: _trail_bucket(t["Resources"])["LoggingConfiguration"].update(
            DestinationBucketName={"Ref": "OtherBucket"}))),
    Weakening("the delivery topic's key only under an undecided Condition", "SNS.1", _in_context(
        lambda t: _resource_of_type(t["Resources"], "AWS::SNS::Topic", "delivery").update(
            KmsMasterKeyId=_maybe(_resource_of_type(t["Resources"], "AWS::SNS::Topic", "delivery")["KmsMasterKeyId"])))),
    Weakening("the trail bucket's KMS key only under an undecided Condition", "S3.17", _in_context(
        lambda t: _trail_bucket(t["Resources"])["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"].update(KMSMasterKeyID=_maybe("alias/aws/s3")))),
    Weakening("the trail bucket's lifecycle configuration is Fn::If", "ST.13", _in_context(
        lambda t: _trail_bucket(t["Resources"]).update(LifecycleConfiguration={"Fn::If": [
            UNDECIDED, {"Rules": [{"Id": "Prune", "Status": "Enabled", "ExpirationInDays": 1}]},
            _trail_bucket(t["Resources"])["LifecycleConfiguration"]]}))),
    Weakening("the trail's log group keeps events 30 days, written as a string", "ST.10", _resources(
        lambda r: _resource_of_type(r, "AWS::Logs::LogGroup", "/aws/cloudtrail/").update(RetentionInDays="30"))),
    Weakening("the root-usage alarm needs 3 of 3 breaching periods", "CIS.4.3",
              _cis_alarm(ROOT_METRIC, EvaluationPeriods=3, DatapointsToAlarm=3)),
    Weakening("the tampering alarm needs 2 breaching periods", "ST.6",
              _validator_alarm(DigestMetrics.TAMPERING_FINDINGS, EvaluationPeriods=2)),
    Weakening("the root-usage filter emits its metric with a dimension the alarm lacks", "CIS.4.3",
              _root_filter(Dimensions=[{"Key": "user", "Value": "$.userIdentity.arn"}])),
    Weakening("the root-usage filter's metric defaults to 1 when nothing matches", "CIS.4.3",
              _root_filter(DefaultValue=1)),
    Weakening("the alert subscription filters out every alarm", "CIS.4.3", _subscriptions(
        lambda s: s.update(FilterPolicy={"never": ["matches"]}))),
    Weakening("the tampering alarm's topic has no subscriber", "ST.6", _subscriptions(lambda s: "drop")),
    Weakening("the trail writes to a bucket that is not the deployment's", "S3.5",
              _trail_property(S3BucketName="someone-elses-bucket")),
    Weakening("the TLS deny names another account's root instead of everyone", "S3.5", _resources(
        lambda r: [s.update(Principal={"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"})
                   for s in bucket_policy(r, "trail")["Statement"] if s.get("Effect") == "Deny"])),
    Weakening("a second TopicPolicy lists both topics", "ST.4", _second_topic_policy_for_both),
)


def _cloudtrail_grant_if(template: dict) -> None:
    statements = bucket_policy(template["Resources"], "trail")["Statement"]
    (index,) = [i for i, s in enumerate(statements) if s.get("Sid") == "CloudTrailAclCheck"]
    statement = statements[index]
    unscoped = {key: value for key, value in statement.items() if key != "Condition"}
    statements[index] = {"Fn::If": [UNDECIDED, statement, unscoped]}


WEAKENINGS += (
    Weakening("a CloudTrail grant wrapped in Fn::If whose other branch has no aws:SourceArn", "ST.1",
              _in_context(_cloudtrail_grant_if)),
    Weakening("a CloudTrail grant without aws:SourceArn under an undecided Condition", "ST.1", _in_context(
        lambda t: t["Resources"].update(MaybeGrant={"Type": "AWS::S3::BucketPolicy", "Condition": UNDECIDED,
                                                    "Properties": {"Bucket": "unrelated", "PolicyDocument": {
                                                        "Statement": [{"Effect": "Allow", "Principal": {
                                                            "Service": "cloudtrail.amazonaws.com"},
                                                            "Action": "s3:PutObject", "Resource": "*"}]}}}))),
)

WEAKENINGS += (
    Weakening("the root-usage alarm asks for a unit the filter does not publish", "CIS.4.3",
              _cis_alarm(ROOT_METRIC, Unit="Seconds")),
)


def _deny_publishing_to_alerts(resources: dict) -> None:
    (policy,) = [body["Properties"] for body in of_type(resources, "AWS::SNS::TopicPolicy")
                 if "Alerts" in json.dumps(body["Properties"]["Topics"])]
    policy["PolicyDocument"]["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
                                                  "Resource": "*"})


WEAKENINGS += (
    Weakening("the alerts topic denies every publish (the root-usage alarm)", "CIS.4.3",
              _resources(_deny_publishing_to_alerts)),
    Weakening("the alerts topic denies every publish (the tampering alarm)", "ST.6",
              _resources(_deny_publishing_to_alerts)),
)

WEAKENINGS += (
    Weakening("key policy lets a service decrypt with no condition", "KMS.5", _key_statement(
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": ["kms:Decrypt",
                                                                                      "kms:GenerateDataKey*"],
         "Resource": "*"})),
)


def _key_of_topics_never_created(template: dict) -> None:
    resources = template["Resources"]
    template.setdefault("Conditions", {})["Never"] = NEVER
    key_id = _resource_of_type(resources, "AWS::SNS::Topic", "delivery")["KmsMasterKeyId"]["Fn::GetAtt"][0]
    resources[key_id]["Condition"] = "Never"


WEAKENINGS += (
    Weakening("the topics' key is never created", "SNS.1", _key_of_topics_never_created),
)


def _management_selector(**operators) -> Callable[[dict], None]:
    def change(resources: dict) -> None:
        for selector in trail(resources)["AdvancedEventSelectors"]:
            for field in selector["FieldSelectors"]:
                if field["Field"] == "eventCategory":
                    field.update(operators)
    return _resources(change)


WEAKENINGS += (
    Weakening("the management selector also says eventCategory NotEquals Management", "CIS.3.1",
              _management_selector(NotEquals=["Management"])),
    Weakening("the management selector also says eventCategory NotEquals Management (root-usage alarm)", "CIS.4.3",
              _management_selector(NotEquals=["Management"])),
)

WEAKENINGS += (
    Weakening("the trail key is created disabled", "CIS.3.5",
              _resources(lambda r: trail_key(r).update(Enabled="false"))),
)

WEAKENINGS += (
    Weakening("the trail bucket lets S3 server access logging write into it", "ST.14",
              _grant("trail", {"Service": "logging.s3.amazonaws.com"}, "s3:PutObject")),
)


def _cloudtrail_context(value) -> Callable[[dict], None]:
    def change(resources: dict) -> None:
        for statement in trail_key(resources)["KeyPolicy"]["Statement"]:
            for entries in statement.get("Condition", {}).values():
                if "kms:EncryptionContext:aws:cloudtrail:arn" in entries:
                    entries["kms:EncryptionContext:aws:cloudtrail:arn"] = value
    return _resources(change)


WEAKENINGS += (
    Weakening("the CloudTrail encryption context admits every account's trails", "ST.2",
              _cloudtrail_context("arn:aws:cloudtrail:*:*:trail/*")),
    Weakening("the CloudTrail encryption context names another account", "ST.2",
              _cloudtrail_context(f"arn:aws:cloudtrail:*:{OTHER_ACCOUNT}:trail/*")),
)
