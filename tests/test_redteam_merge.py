"""Red-team regressions on the merge of issues 14-16: each test is one crafted input that
made a control look satisfied, a weakened bucket look healthy, a posture condition look
cleared when it was not, or a weakening call go unalerted."""

from __future__ import annotations

import json

import pytest

import analytics_samples as samples
from evidence_assemblies import bucket_policy, copy_assembly, edit_template, of_type, synthesize
from posture_events import api_call_event
from trail_validators.analytics.enrich import enrich
from trail_validators.analytics.subscription import decode
from trail_validators.contract import PostureKind
from trail_validators.evidence.assembly import read_assembly
from trail_validators.evidence.report import build_report
from trail_validators.contract.monitoring_controls import MONITORING_CONTROLS
from trail_validators.posture.judge import (PostureObservation, WatchedResources, has_tls_deny, judge_api_call,
                                            judge_status, state_changes)

TRAIL_ARN = "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail"
ONLY_ONE_ACCOUNT = {"StringEquals": {"aws:PrincipalAccount": "999999999999"}}
ROOT_METRIC = MONITORING_CONTROLS[0].metric_name  # CloudWatch.1


@pytest.fixture(scope="module")
def default_cdk_out(tmp_path_factory):
    return synthesize(tmp_path_factory.mktemp("redteam") / "cdk.out")


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


def _tls_policy(bucket: str, **extra_condition) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}, **extra_condition}}]})


def test_the_posture_check_sees_a_tls_deny_narrowed_by_an_extra_condition():
    assert has_tls_deny(_tls_policy("logs"), "logs")
    assert not has_tls_deny(_tls_policy("logs", **ONLY_ONE_ACCOUNT), "logs")
    assert not has_tls_deny(_tls_policy("logs", Bool={"aws:SecureTransport": "false", "aws:ViaAWSService": "false"}),
                            "logs")


def test_a_status_that_cannot_be_read_does_not_clear_an_open_condition():
    stopped = judge_status(PostureObservation(trail={"LogFileValidationEnabled": True, "IsMultiRegionTrail": True,
                                                     "IsOrganizationTrail": True},
                                              status={"IsLogging": False}), expected_selectors=None,
                           trail_arn=TRAIL_ARN)
    first = state_changes([], stopped)
    assert [f.kind for f in first.appeared] == [PostureKind.LOGGING_STOPPED]
    # The next run is throttled reading GetTrailStatus: logging may still be off.
    unreadable = judge_status(PostureObservation(trail={"LogFileValidationEnabled": True, "IsMultiRegionTrail": True,
                                                        "IsOrganizationTrail": True},
                                                 errors=("the trail (ThrottlingException)",)),
                              expected_selectors=None, trail_arn=TRAIL_ARN)
    second = state_changes(first.open_kinds, unreadable)
    assert second.cleared == []
    assert PostureKind.LOGGING_STOPPED in second.open_kinds
    # Read again, still stopped: no second alert for the same stop.
    third = state_changes(second.open_kinds, stopped)
    assert PostureKind.LOGGING_STOPPED not in [f.kind for f in third.appeared]
    assert PostureKind.CHECK_FAILED in third.cleared


def test_deleting_or_rewriting_a_cis_metric_filter_on_the_trails_log_group_alerts():
    """Without its filter a CIS alarm sees nothing: the quietest way to blind the monitoring."""
    group = "/aws/cloudtrail/org-trail"
    watched = WatchedResources(trail_arn=TRAIL_ARN, account="111111111111", region="us-east-1",
                               log_group_name=group)
    for name, parameters in (("DeleteMetricFilter", {"filterName": "RootUserUsage"}),
                             ("PutMetricFilter", {"filterName": "RootUserUsage", "filterPattern": "{$.x = 1}"}),
                             ("PutSubscriptionFilter", {"filterName": "analytics", "destinationArn": "arn:x"})):
        event = api_call_event("logs.amazonaws.com", name, {"logGroupName": group, **parameters},
                               account="111111111111", region="us-east-1")
        finding = judge_api_call(event, watched)
        assert finding is not None and finding.kind == PostureKind.WEAKENING_API_CALL, name
        other = api_call_event("logs.amazonaws.com", name, {"logGroupName": "/other", **parameters},
                               account="111111111111", region="us-east-1")
        assert judge_api_call(other, watched) is None


@pytest.mark.parametrize("name, value", [("principal.arn", "arn:aws:iam::111111111111:role/Innocent"),
                                         ("detection.tags", "nothing to see"), ("source.ip", "not an address"),
                                         ("", "blank"), ("   ", "blank"), ("a..b", 1), (".hidden", 1)])
def test_a_record_field_named_as_a_path_or_blank_is_dropped_not_indexed(name, value):
    """A written log event with such a top-level name would add a value to an enrichment
    field (a forged principal) or make OpenSearch refuse the document (the batch fails)."""
    record = {**samples.access_denied("111111111111"), name: value}
    source = enrich(decode(samples.payload([record])), index_prefix="cloudtrail",
                    account_names={}).documents[0].source
    assert name not in source
    assert source["malformedFields"] == [name]
    assert source["principal"]["arn"] != value and source["detection"]["tags"] == ["UnauthorizedApiCalls"]


@pytest.mark.parametrize("name", ["PutBucketNotification", "PutBucketNotificationConfiguration"])
def test_turning_off_the_access_log_buckets_eventbridge_feed_alerts(name):
    """The access-log audit runs on the bucket's EventBridge notifications: removing them
    stopped it with no alert."""
    watched = WatchedResources(trail_arn=TRAIL_ARN, account="222222222222", region="us-east-1", watch_trail=False,
                               buckets=("trail-logs", "access-logs"))
    event = api_call_event("s3.amazonaws.com", name, {"bucketName": "access-logs", "NotificationConfiguration": {}},
                           account="222222222222", region="us-east-1")
    finding = judge_api_call(event, watched)
    assert finding is not None and finding.kind == PostureKind.WEAKENING_API_CALL
    assert judge_api_call(api_call_event("s3.amazonaws.com", name, {"bucketName": "other"}, account="222222222222",
                                         region="us-east-1"), watched) is None


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
