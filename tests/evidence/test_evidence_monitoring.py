"""The CloudWatch.1-14 / CIS 4.x checks, proven on a template synthesized with every CIS
alarm switched off, with a metric filter (exact pattern), an alarm on its metric and a
subscribed SNS topic added by hand, and with each piece missing or wrong."""

from __future__ import annotations

import pytest

from evidence_assemblies import copy_assembly, edit_template, synthesize, trail
from trail_validators.evidence.assembly import read_assembly
from trail_validators.evidence.report import build_report
from trail_validators.contract.monitoring_controls import MONITORING_CONTROLS

CONTROL = MONITORING_CONTROLS[0]  # CloudWatch.1, CIS 4.3
NAMESPACE = "CISBenchmark"


@pytest.fixture(scope="module")
def unmonitored_cdk_out(tmp_path_factory):
    return synthesize(tmp_path_factory.mktemp("unmonitored") / "cdk.out",
                      disabledMonitoringControls=[control.control_id for control in MONITORING_CONTROLS])


def test_with_every_cis_alarm_off_no_monitoring_control_is_satisfied(unmonitored_cdk_out):
    for control in MONITORING_CONTROLS:
        assert control_status(unmonitored_cdk_out, control.control_id).status == "not_satisfied"


def add_monitoring(resources: dict, control=CONTROL, *, pattern: str | None = None, alarm: bool = True,
                   action: bool = True, subscribed: bool = True, alarm_metric: str | None = None,
                   log_group: dict | None = None) -> None:
    number = control.control_id.replace(".", "")
    group = log_group or {"Ref": trail(resources)["CloudWatchLogsLogGroupArn"]["Fn::GetAtt"][0]}
    resources[f"Filter{number}"] = {"Type": "AWS::Logs::MetricFilter", "Properties": {
        "LogGroupName": group, "FilterPattern": control.filter_pattern if pattern is None else pattern,
        "MetricTransformations": [{"MetricNamespace": NAMESPACE, "MetricName": control.metric_name,
                                   "MetricValue": "1"}]}}
    if "CisTopic" not in resources:
        resources["CisTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": "alias/aws/sns"}}
        if subscribed:
            resources["CisSubscription"] = {"Type": "AWS::SNS::Subscription", "Properties": {
                "TopicArn": {"Ref": "CisTopic"}, "Protocol": "email", "Endpoint": "security@example.com"}}
    if alarm:
        resources[f"Alarm{number}"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "Namespace": NAMESPACE, "MetricName": alarm_metric or control.metric_name, "Statistic": "Sum",
            "Period": 300, "EvaluationPeriods": 1, "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            **({"AlarmActions": [{"Ref": "CisTopic"}]} if action else {})}}


def control_status(cdk_out, control_id):
    return {c.id: c for c in build_report(read_assembly(cdk_out)).controls}[control_id]


def test_filter_alarm_and_subscribed_topic_satisfy_cloudwatch_1_and_cis_4_3(unmonitored_cdk_out, tmp_path):
    cdk_out = edit_template(copy_assembly(unmonitored_cdk_out, tmp_path / "cdk.out"), "SecureTrail", add_monitoring)
    for control_id in (CONTROL.control_id, f"CIS.{CONTROL.cis_section}"):
        control = control_status(cdk_out, control_id)
        assert control.status == "satisfied", control.reason
        assert [(item.resource_type, item.property_path) for item in control.evidence] == [
            ("AWS::Logs::MetricFilter", "FilterPattern"), ("AWS::CloudWatch::Alarm", "MetricName"),
            ("AWS::CloudWatch::Alarm", "Unit"), ("AWS::CloudWatch::Alarm", "AlarmActions")]
        assert control.evidence[0].value == CONTROL.filter_pattern
    assert control_status(cdk_out, "CloudWatch.2").status == "not_satisfied"


def test_every_monitoring_control_is_satisfied_when_all_are_wired(unmonitored_cdk_out, tmp_path):
    def wire_all(resources):
        for control in MONITORING_CONTROLS:
            add_monitoring(resources, control)
    cdk_out = edit_template(copy_assembly(unmonitored_cdk_out, tmp_path / "cdk.out"), "SecureTrail", wire_all)
    for control in MONITORING_CONTROLS:
        assert control_status(cdk_out, control.control_id).status == "satisfied"
        assert control_status(cdk_out, f"CIS.{control.cis_section}").status == "satisfied"


def _other_log_group(resources):
    resources["OtherGroup"] = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/other"}}
    add_monitoring(resources, log_group={"Ref": "OtherGroup"})


MISSING_PIECES = {
    "a term added to the pattern": lambda r: add_monitoring(r, pattern=CONTROL.filter_pattern[:-1] + " && $.x = 1}"),
    "quotes CDK's FilterPattern would add": lambda r: add_monitoring(
        r, pattern=CONTROL.filter_pattern.replace('"Root"', 'Root')),
    "no alarm": lambda r: add_monitoring(r, alarm=False),
    "an alarm on another metric": lambda r: add_monitoring(r, alarm_metric="SomethingElse"),
    "an alarm without action": lambda r: add_monitoring(r, action=False),
    "a topic nobody subscribes to": lambda r: add_monitoring(r, subscribed=False),
    "the filter on another log group": _other_log_group,
}


@pytest.mark.parametrize("piece", MISSING_PIECES)
def test_each_missing_piece_leaves_the_control_not_satisfied(piece, unmonitored_cdk_out, tmp_path):
    cdk_out = edit_template(copy_assembly(unmonitored_cdk_out, tmp_path / "cdk.out"), "SecureTrail", MISSING_PIECES[piece])
    control = control_status(cdk_out, CONTROL.control_id)
    assert control.status == "not_satisfied"
    assert any(not item.holds for item in control.evidence)


def test_a_single_region_trail_cannot_satisfy_monitoring(unmonitored_cdk_out, tmp_path):
    def single_region(resources):
        add_monitoring(resources)
        trail(resources)["IsMultiRegionTrail"] = False
    cdk_out = edit_template(copy_assembly(unmonitored_cdk_out, tmp_path / "cdk.out"), "SecureTrail", single_region)
    assert control_status(cdk_out, CONTROL.control_id).status == "not_satisfied"


def test_a_subscription_by_topic_arn_name_counts(unmonitored_cdk_out, tmp_path):
    """Across stacks a subscription names the topic by ARN, not by Ref."""
    def by_arn(resources):
        add_monitoring(resources)
        resources["CisTopic"]["Properties"]["TopicName"] = "cis-alarms"
        resources["CisSubscription"]["Properties"]["TopicArn"] = "arn:aws:sns:us-east-1:111111111111:cis-alarms"
    cdk_out = edit_template(copy_assembly(unmonitored_cdk_out, tmp_path / "cdk.out"), "SecureTrail", by_arn)
    assert control_status(cdk_out, CONTROL.control_id).status == "satisfied"
