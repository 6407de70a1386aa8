"""Crafted policies, events and API answers: none may pass for a healthy posture, none is fatal."""

import pytest

from trail_validators.contract import PostureKind
from trail_validators.contract.handover import bucket_statements
from trail_validators.contract.weakening_calls import CLOUDTRAIL, CLOUDWATCH
from trail_validators.posture.handover import check_handover
from trail_validators.posture.judge import MAX_FIELD_CHARS, WatchedResources, judge_api_call, rule_findings

BUCKET = "owner-log-archive"
TRAIL = "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"
HANDED = bucket_statements(BUCKET, TRAIL, "111122223333")
WRITE = next(s for s in HANDED if s["Sid"] == "SecureTrailCloudTrailWrite")


def _missing(statements):
    return [f.details["statement"]["Sid"] for f in check_handover(BUCKET, {"Statement": statements}, HANDED)]


def test_the_handed_over_statements_as_they_are_give_no_finding():
    assert _missing(HANDED) == []


@pytest.mark.parametrize("narrowing", [
    {"StringEquals": {"aws:SourceAccount": "999999999999"}},
    {"DateLessThan": {"aws:CurrentTime": "2000-01-01T00:00:00Z"}},
    {"StringEqualsIfExists": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:999999999999:trail/x"}},
])
def test_a_live_allow_narrowed_by_an_extra_condition_does_not_cover(narrowing):
    condition = {**WRITE["Condition"], **narrowing} if next(iter(narrowing)) != "StringEquals" else {
        "StringEquals": {**WRITE["Condition"]["StringEquals"], **narrowing["StringEquals"]}}
    live = [s for s in HANDED if s is not WRITE] + [{**WRITE, "Condition": condition}]
    assert _missing(live) == ["SecureTrailCloudTrailWrite"]


@pytest.mark.parametrize("deny", [
    {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
    {"Effect": "Deny", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:*",
     "Resource": "arn:aws:s3:::*/AWSLogs/*"},
    {"Effect": "Deny", "Principal": {"AWS": "*"}, "NotAction": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
    {"Effect": "Deny", "Principal": "*", "Action": "S3:Put*", "Resource": f"arn:aws:s3:::{BUCKET}/*",
     "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc"}}},
])
def test_a_handed_over_allow_overridden_by_a_live_deny_is_not_in_place(deny):
    assert _missing([*HANDED, deny]) == ["SecureTrailCloudTrailWrite"]


def test_a_live_deny_of_other_actions_or_principals_leaves_the_allow_in_place():
    other = [{"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
             {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "s3:*",
              "Resource": "*"}]
    assert _missing([*HANDED, *other]) == []


WATCHED = WatchedResources(trail_arn=TRAIL, account="111122223333", region="us-east-1", stack_name="SecureTrail")


def _event(source, name, parameters):
    return {"detail-type": "AWS API Call via CloudTrail", "account": "111122223333", "region": "us-east-1",
            "detail": {"eventSource": source, "eventName": name, "requestParameters": parameters,
                       "recipientAccountId": "111122223333", "awsRegion": "us-east-1"}}


@pytest.mark.parametrize("value", [["444455556666"], {"id": "444455556666"}, 444455556666])
def test_a_delegated_admin_call_whatever_the_type_of_its_account_field_is_a_finding(value):
    finding = judge_api_call(_event(CLOUDTRAIL, "RegisterOrganizationDelegatedAdmin", {"memberAccountId": value}),
                             WATCHED)
    assert finding is not None and finding.kind == PostureKind.WEAKENING_API_CALL


@pytest.mark.parametrize("parameters", [
    {"memberAccountId": "4" * 100_000},
    {"alarmNames": ["SecureTrail-" + "A" * 100_000]},
])
def test_a_huge_resource_name_is_cut_in_the_alert(parameters):
    source = CLOUDTRAIL if "memberAccountId" in parameters else CLOUDWATCH
    name = "RegisterOrganizationDelegatedAdmin" if source == CLOUDTRAIL else "DeleteAlarms"
    finding = judge_api_call(_event(source, name, parameters), WATCHED)
    assert finding is not None
    assert len(finding.details["resource"]) <= MAX_FIELD_CHARS + 3 and len(finding.message) < 2 * MAX_FIELD_CHARS + 500
    assert all(len(k) <= MAX_FIELD_CHARS + 3 for k in finding.keys)


RULE_TARGET = "arn:aws:lambda:us-east-1:111122223333:function:org-trail-posture-watcher"


def _expected_rule():
    from trail_validators.contract.drift import DEFAULT_TARGET_DIGEST, RuleExpectation, rule_digest
    return {"org-trail-posture": RuleExpectation((("Target0", RULE_TARGET),), rule_digest(None, "rate(1 hour)"),
                                                 (("Target0", DEFAULT_TARGET_DIGEST),))}


@pytest.mark.parametrize("targets", [["Target0", None], [{"Id": "x"}, "Target0"], "Target0", None,
                                     [{"Id": "Target0"}], [{"Id": "Target0", "Arn": ["x"]}],
                                     *([{"Id": "Target0", "Arn": RULE_TARGET, field: value}]
                                       for field in ("Input", "InputPath", "InputTransformer", "DeadLetterConfig",
                                                     "RetryPolicy") for value in (7, "{", ["x"], {"Arn": 7}))])
def test_unreadable_rule_targets_are_a_finding_never_an_exception(targets):
    findings = rule_findings({"org-trail-posture": {"state": "ENABLED", "targets": targets,
                                                    "schedule": "rate(1 hour)"}}, _expected_rule())
    assert [f.kind for f in findings] == [PostureKind.RULE_CHANGED]


@pytest.mark.parametrize("rule", ["ENABLED", ["ENABLED"], 7])
def test_an_unreadable_rule_answer_is_a_finding_never_an_exception(rule):
    findings = rule_findings({"org-trail-posture": rule}, _expected_rule())
    assert [f.kind for f in findings] == [PostureKind.RULE_CHANGED]


@pytest.mark.parametrize("pattern", ["{not json", "[]", "7", '{"a": {"b": [1e999]}}'])
def test_an_unreadable_pattern_is_a_finding_never_an_exception(pattern):
    findings = rule_findings({"org-trail-posture": {"state": "ENABLED", "targets": [
        {"Id": "Target0", "Arn": RULE_TARGET}], "pattern": pattern, "schedule": "rate(1 hour)"}}, _expected_rule())
    assert [f.kind for f in findings] == [PostureKind.RULE_CHANGED]


HANDOVER_SPEC = {"trail_arn": TRAIL, "account": "111122223333", "partition": "aws", "prefix": "",
                 "readers": ["arn:aws:iam::111122223333:role/reader"], "org_id": "", "bucket": BUCKET}


def _posture_env(**overrides):
    import json

    from trail_validators.contract import Env, PostureEnv
    env = {Env.TABLE_NAME: "t", Env.ALERTS_TOPIC_ARN: "arn:aws:sns:us-east-1:111122223333:a",
           Env.HOME_REGION: "us-east-1", PostureEnv.TRAIL_ARN: TRAIL, PostureEnv.ACCOUNT: "111122223333",
           PostureEnv.CHECK_TRAIL: "false", PostureEnv.AUTO_RESTART_LOGGING: "false",
           PostureEnv.HANDOVER: json.dumps(HANDOVER_SPEC)}
    return {**env, **{getattr(PostureEnv, k): v for k, v in overrides.items()}}


@pytest.mark.parametrize("bad", [{"bucket": ["owner-log-archive"]}, {"key": {"arn": "x"}}, {"trail_arn": 7},
                                 {"readers": "arn:aws:iam::111122223333:role/reader"}, {"readers": [1]},
                                 {"prefix": 5}, {"topic": True}, {"org_id": ["o-abc"]}])
def test_a_handover_of_values_that_are_not_strings_is_refused_at_start(bad):
    import json

    from trail_validators.contract import ConfigurationError, PostureEnv
    from trail_validators.handlers.posture import config_from_env
    assert config_from_env(_posture_env()).handover
    with pytest.raises(ConfigurationError, match=PostureEnv.HANDOVER):
        config_from_env(_posture_env(HANDOVER=json.dumps({**HANDOVER_SPEC, **bad})))


def test_an_alarm_that_notifies_no_one_stays_open_while_the_alarms_cannot_be_read():
    from trail_validators.posture.judge import PostureObservation, judge_status, state_changes
    mute = [{"AlarmName": "SecureTrail-Heartbeat1-ABC", "ActionsEnabled": False, "AlarmActions": []}]
    opened = state_changes([], judge_status(PostureObservation(alarms=mute), expected_selectors=None, trail_arn=TRAIL,
                                            expected_alarms=EXPECTED_ALARM, alarm_prefix="SecureTrail-"))
    assert opened.appeared and opened.appeared[0].kind == PostureKind.ALARM_CHANGED
    throttled = state_changes(opened.open_kinds, judge_status(
        PostureObservation(alarms=None, errors=(("SecureTrail-*", "the alarms SecureTrail-* (Throttling)"),)),
        expected_selectors=None, trail_arn=TRAIL, expected_alarms=EXPECTED_ALARM, alarm_prefix="SecureTrail-"))
    assert throttled.cleared == []


def test_a_missing_handed_over_statement_is_not_cleared_when_its_owner_makes_the_policy_unreadable():
    from trail_validators.posture.handover import handover_findings
    from trail_validators.posture.judge import state_changes
    checks = [("bucket", BUCKET, HANDED)]
    missing = state_changes([], handover_findings(checks, {BUCKET: '{"Statement": []}'}))
    assert missing.appeared
    unreadable = state_changes(missing.open_kinds, handover_findings(checks, {BUCKET: None}))
    assert unreadable.cleared == []
    assert [f.kind for f in unreadable.appeared] == [PostureKind.HANDOVER_UNVERIFIABLE]


def _expected_alarm():
    from trail_validators.contract.drift import ArnContext, alarm_digest, decode_alarms, encode_alarms
    return decode_alarms(encode_alarms({"Heartbeat1": [["arn:aws:sns:us-east-1:111122223333:a"], [], []]},
                                       {"Heartbeat1": (alarm_digest(DEFINED), ())}),
                         ArnContext(trail_name="org-trail", partition="aws", region="us-east-1", account="111122223333"))


DEFINED = {"MetricName": "m", "Namespace": "n", "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1,
           "Threshold": 1, "ComparisonOperator": "LessThanThreshold"}
EXPECTED_ALARM = _expected_alarm()
NOTIFYING = {"AlarmName": "SecureTrail-Heartbeat1-ABC", "ActionsEnabled": True,
             "AlarmActions": ["arn:aws:sns:us-east-1:111122223333:a"]}


@pytest.mark.parametrize("alarms", [*([{**NOTIFYING, **DEFINED, field: value}]
                                      for field in ("Dimensions", "Metrics", "Threshold", "Period", "MetricName")
                                      for value in (7, "x", [7], [{"Name": 7}], {"Id": []})),
                                    [{**NOTIFYING, **DEFINED, "Metrics": [{"MetricStat": 7}, {"MetricStat": {
                                        "Metric": [], "Period": "x"}}]}],
                                    ["SecureTrail-A"], [None], [7], [{"AlarmName": 7}],
                                    [{"AlarmName": "SecureTrail-Heartbeat1-ABC", "ActionsEnabled": True,
                                      "AlarmActions": [{"Arn": "x"}]}],
                                    [{"AlarmName": "SecureTrail-Heartbeat1-ABC", "ActionsEnabled": True,
                                      "AlarmActions": "arn:aws:sns:us-east-1:111122223333:a", "OKActions": 5}]])
def test_an_unreadable_alarm_answer_is_a_finding_never_an_exception(alarms):
    from trail_validators.posture.judge import alarm_findings
    assert PostureKind.ALARM_CHANGED in [f.kind for f in alarm_findings(alarms, EXPECTED_ALARM, "SecureTrail-")]
