"""Shapes CloudFormation and IAM read differently from a naive reader: a resource whose
Condition is false, a second policy on one bucket or topic, a deny that can never match,
a Boolean written as a string, an alarm that can never notify, and the CI gate."""

from __future__ import annotations

import json

import pytest

from evidence_assemblies import (bucket_id, bucket_policy, cloudtrail_source_arn, copy_assembly, edit_template,
                                 logical_ids, template_path, trail)
from trail_validators.cli.main import main
from trail_validators.evidence.assembly import read_assembly
from trail_validators.evidence.report import build_report

NEVER = {"Never": {"Fn::Equals": ["a", "b"]}}


def status(cdk_out, control_id):
    return {c.id: c for c in build_report(read_assembly(cdk_out)).controls}[control_id].status


def weakened(default_cdk_out, tmp_path, change):
    return edit_template(copy_assembly(default_cdk_out, tmp_path / "cdk.out"), "SecureTrail", change)


@pytest.mark.parametrize("control_id, resource_type", [
    ("CIS.3.1", "AWS::CloudTrail::Trail"), ("CIS.3.2", "AWS::CloudTrail::Trail"),
    ("ST.8", "AWS::CloudTrail::Trail"), ("S3.5", "AWS::S3::BucketPolicy"), ("ST.3", "AWS::S3::BucketPolicy")])
def test_a_resource_whose_condition_is_false_satisfies_nothing(control_id, resource_type, default_cdk_out, tmp_path):
    assert status(default_cdk_out, control_id) == "satisfied"

    def change(resources):
        for logical_id in logical_ids(resources, resource_type):
            resources[logical_id]["Condition"] = "Never"
    cdk_out = weakened(default_cdk_out, tmp_path, change)
    path = template_path(cdk_out, "SecureTrail")
    template = json.loads(path.read_text())
    template["Conditions"] = NEVER
    path.write_text(json.dumps(template))
    assert status(cdk_out, control_id) == "not_satisfied"


@pytest.mark.parametrize("control_id", ["S3.5", "ST.3"])
def test_a_second_bucket_policy_on_the_trail_bucket_is_not_satisfied(control_id, default_cdk_out, tmp_path):
    def change(resources):
        trail_bucket = bucket_id(resources, "trail")
        (policy_id,) = [logical_id for logical_id in logical_ids(resources, "AWS::S3::BucketPolicy")
                        if resources[logical_id]["Properties"]["Bucket"] == {"Ref": trail_bucket}]
        second = json.loads(json.dumps(resources[policy_id]))
        second["Properties"]["PolicyDocument"]["Statement"] = [
            s for s in second["Properties"]["PolicyDocument"]["Statement"] if s.get("Effect") != "Deny"]
        resources["SecondPolicy"] = second
    assert status(weakened(default_cdk_out, tmp_path, change), control_id) == "not_satisfied"


@pytest.mark.parametrize("control_id, key, contradiction", [
    ("S3.5", "aws:SecureTransport", {"StringEquals": {"aws:SecureTransport": "never"}}),
    ("S3.5", "aws:SecureTransport", {"Null": {"aws:SecureTransport": "true"}}),
    ("ST.3", "s3:TlsVersion", {"NumericGreaterThan": {"s3:TlsVersion": 9}})])
def test_a_deny_that_can_never_match_is_not_the_deny(control_id, key, contradiction, default_cdk_out, tmp_path):
    def change(resources):
        for statement in bucket_policy(resources, "trail")["Statement"]:
            if statement.get("Effect") == "Deny" and key in json.dumps(statement.get("Condition")):
                statement["Condition"].update(contradiction)
    assert status(weakened(default_cdk_out, tmp_path, change), control_id) == "not_satisfied"


def test_include_management_events_written_as_a_false_string_is_false(default_cdk_out, tmp_path):
    def change(resources):
        body = trail(resources)
        body.pop("AdvancedEventSelectors", None)
        body["EventSelectors"] = [{"IncludeManagementEvents": "false", "ReadWriteType": "All"}]
    cdk_out = weakened(default_cdk_out, tmp_path, change)
    assert status(cdk_out, "CIS.3.1") == "not_satisfied"
    assert status(cdk_out, "CloudTrail.1") == "not_satisfied"


def test_the_fail_on_gate_exits_0_on_the_default_synth_and_1_on_a_weakened_copy(default_cdk_out, tmp_path, capsys):
    assert main(["evidence", str(default_cdk_out), "--fail-on", "not-satisfied", "--format", "json"]) == 0

    def change(resources):
        trail(resources)["EnableLogFileValidation"] = "false"
    cdk_out = weakened(default_cdk_out, tmp_path, change)
    assert main(["evidence", str(cdk_out), "--fail-on", "not-satisfied", "--format", "json"]) == 1
    assert main(["evidence", str(cdk_out), "--format", "json"]) == 0


def test_integers_written_as_strings_are_read_as_cloudformation_reads_them(default_cdk_out, tmp_path):
    """CloudFormation accepts ``"365"`` for an Integer: the log group keeps a year."""
    def change(resources):
        for body in resources.values():
            if body["Type"] == "AWS::Logs::LogGroup":
                body["Properties"]["RetentionInDays"] = "365"
    cdk_out = weakened(default_cdk_out, tmp_path, change)
    assert (status(cdk_out, "ST.10"), status(cdk_out, "ST.13")) == ("satisfied", "satisfied")


def test_a_source_arn_spelled_with_fn_sub_names_the_own_trail(default_cdk_out, tmp_path):
    change = cloudtrail_source_arn(
        {"Fn::Sub": "arn:${AWS::Partition}:cloudtrail:us-east-1:${AWS::AccountId}:trail/secure-org-trail"})
    assert status(weakened(default_cdk_out, tmp_path, change), "ST.1") == "satisfied"


def test_the_fail_on_gate_exits_0_on_the_organization_synth(organization_cdk_out):
    assert main(["evidence", str(organization_cdk_out), "--fail-on", "not-satisfied", "--format", "json"]) == 0
