"""Weakened templates whose control must not be satisfied: a deny narrowed by an extra
condition, an alarm that can never notify or never goes off on the first match, a wildcard
source ARN, a topic TLS deny for one principal."""

from __future__ import annotations

import json

import pytest

from evidence_assemblies import bucket_policy, copy_assembly, edit_template, of_type
from trail_validators.contract.monitoring_controls import MONITORING_CONTROLS
from trail_validators.evidence.assembly import read_assembly
from trail_validators.evidence.report import build_report

ONLY_ONE_ACCOUNT = {"StringEquals": {"aws:PrincipalAccount": "999999999999"}}
ROOT_METRIC = MONITORING_CONTROLS[0].metric_name  # CloudWatch.1


def status(cdk_out, control_id):
    return {c.id: c for c in build_report(read_assembly(cdk_out)).controls}[control_id]



def _narrow_deny(condition_key: str):
    """The deny keeps its TLS condition but gains one that makes it apply to one
    unrelated account only: toothless for everyone else."""
    def change(resources):
        for statement in bucket_policy(resources, "trail")["Statement"]:
            if statement.get("Effect") == "Deny" and condition_key in json.dumps(statement.get("Condition")):
                statement["Condition"].update(ONLY_ONE_ACCOUNT)
    return change



@pytest.mark.parametrize("control_id, condition_key", [("S3.5", "aws:SecureTransport"), ("ST.3", "s3:TlsVersion")])
def test_a_tls_deny_narrowed_by_an_extra_condition_does_not_satisfy(control_id, condition_key, default_cdk_out,
                                                                     tmp_path):
    assert status(default_cdk_out, control_id).status == "satisfied"
    cdk_out = edit_template(copy_assembly(default_cdk_out, tmp_path / "cdk.out"), "SecureTrail",
                            _narrow_deny(condition_key))
    assert status(cdk_out, control_id).status == "not_satisfied"



def _cis_alarms(resources):
    return [body for body in of_type(resources, "AWS::CloudWatch::Alarm")
            if body["Properties"].get("MetricName") == ROOT_METRIC]



def _actions_disabled(resources):
    for alarm in _cis_alarms(resources):
        alarm["Properties"]["ActionsEnabled"] = False



def _filter_counts_zero(resources):
    for metric_filter in of_type(resources, "AWS::Logs::MetricFilter"):
        for transformation in metric_filter["Properties"]["MetricTransformations"]:
            if transformation["MetricName"] == ROOT_METRIC:
                transformation["MetricValue"] = "0"



@pytest.mark.parametrize("toothless", [_actions_disabled, _filter_counts_zero])
def test_a_cis_alarm_that_can_never_notify_does_not_satisfy(toothless, default_cdk_out, tmp_path):
    assert status(default_cdk_out, "CloudWatch.1").status == "satisfied"
    with_alarm = edit_template(copy_assembly(default_cdk_out, tmp_path / "check"), "SecureTrail",
                               lambda r: _cis_alarms(r) or pytest.fail("no root-usage alarm to weaken"))
    assert status(with_alarm, "CloudWatch.1").status == "satisfied"
    cdk_out = edit_template(copy_assembly(default_cdk_out, tmp_path / "cdk.out"), "SecureTrail", toothless)
    assert status(cdk_out, "CloudWatch.1").status == "not_satisfied"



def _wildcard_source_arn(resources):
    """The bucket's CloudTrail grants admit any trail of any account, still "naming a trail"."""
    for statement in bucket_policy(resources, "trail")["Statement"]:
        for operator in list(statement.get("Condition", {})):
            if "aws:SourceArn" in statement["Condition"][operator]:
                del statement["Condition"][operator]["aws:SourceArn"]
                statement["Condition"].setdefault("StringLike", {})["aws:SourceArn"] = "arn:aws:cloudtrail:*:*:trail/*"



def _topic_tls_deny(change):
    def edit(resources):
        for policy in of_type(resources, "AWS::SNS::TopicPolicy"):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement.get("Effect") == "Deny" and "aws:SecureTransport" in json.dumps(statement):
                    change(statement)
    return edit



@pytest.mark.parametrize("control_id, weakening", [
    ("ST.1", _wildcard_source_arn),
    ("ST.4", _topic_tls_deny(lambda s: s["Condition"].update(ONLY_ONE_ACCOUNT))),
    ("ST.4", _topic_tls_deny(lambda s: s.update(Principal={"AWS": "arn:aws:iam::999999999999:root"}))),
], ids=["wildcard aws:SourceArn", "topic TLS deny for one account", "topic TLS deny for one principal"])
def test_a_guarantee_weakened_into_a_toothless_statement_is_not_satisfied(control_id, weakening, default_cdk_out,
                                                                          tmp_path):
    assert status(default_cdk_out, control_id).status == "satisfied"
    cdk_out = edit_template(copy_assembly(default_cdk_out, tmp_path / "cdk.out"), "SecureTrail", weakening)
    assert status(cdk_out, control_id).status == "not_satisfied"



def _alarm_change(**properties):
    def change(resources):
        for alarm in _cis_alarms(resources):
            alarm["Properties"].update(properties)
    return change



@pytest.mark.parametrize("toothless", [
    _alarm_change(ComparisonOperator="LessThanThreshold"),
    _alarm_change(Threshold=1000),
    _alarm_change(Dimensions=[{"Name": "Account", "Value": "999999999999"}]),
], ids=["below the threshold", "a thousand root uses", "a dimension the filter's metric never has"])
def test_a_cis_alarm_that_never_goes_off_on_the_first_match_does_not_satisfy(toothless, default_cdk_out, tmp_path):
    cdk_out = edit_template(copy_assembly(default_cdk_out, tmp_path / "cdk.out"), "SecureTrail", toothless)
    assert status(cdk_out, "CloudWatch.1").status == "not_satisfied"
