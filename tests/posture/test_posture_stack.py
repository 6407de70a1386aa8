"""The posture watcher as synthesized: its EventBridge rules, matched with a real pattern
matcher (moto's EventBridge implementation) against recorded-shape CloudTrail events,
catch each weakening call in the account where it happens and nothing on other resources;
its role is least privilege (StartLogging only when asked, only on this trail); its
schedule follows the prop; in two accounts both halves reach the Log Archive's alerts."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from moto.events.models import EventPattern

from conftest import (DEPLOY_ACCOUNT, LOG_ARCHIVE_ACCOUNT, MANAGEMENT_ACCOUNT, REGION, TRAIL_ARN, TRAIL_NAME,
                      build_organization, build_stack, default_props, organization_props)
from posture_events import api_call_event, stack_calls, validator_calls, weakening_calls
from secure_trail import SecureTrail
from secure_trail.props import SecureTrailConfigError
from template_tokens import Deployment, as_list, string_like
from trail_validators.contract import POSTURE_PREFIX, PostureMetrics, posture_event_marker, posture_state_key
from trail_validators.contract.weakening_calls import (CLOUDTRAIL, CLOUDWATCH, DYNAMODB, EVENTS, KMS, LAMBDA, LOGS,
                                                       RESOURCE_FIELDS, S3, SNS, SQS, STATES, WEAKENING_CALLS)
from trail_validators.handlers import posture as handler
from trail_validators.posture.judge import Rejection, judge_api_call

HANDLER = "trail_validators.handlers.posture.handler"
API_CALL = "AWS API Call via CloudTrail"


class Watched:
    """A template as deployed: its posture rules (resolved) and the names of what it watches."""

    def __init__(self, template: dict, account: str) -> None:
        self.d = d = Deployment(template["Resources"], account, REGION)
        self.function = next(k for k, r in d.of_type("AWS::Lambda::Function").items()
                             if r["Properties"]["Handler"] == HANDLER)
        patterns = {k: EventPattern.load(json.dumps(d.resolve_within(r["Properties"]["EventPattern"])))
                    for k, r in d.of_type("AWS::Events::Rule").items()
                    if "EventPattern" in r["Properties"] and "PostureWatcher" in k}
        invokes = {k for k, r in d.of_type("AWS::Events::Rule").items()
                   if {"Fn::GetAtt": [self.function, "Arn"]} in [t["Arn"] for t in r["Properties"]["Targets"]]}
        self.rules = {k: p for k, p in patterns.items() if k in invokes}
        """The rules that invoke the posture watcher's function (real alerts)."""
        self.failed_rules = {k: p for k, p in patterns.items() if k not in invokes}
        """The rules that feed the failed-calls queue."""
        self.env = d.environment(HANDLER)
        self.schedules = [r["Properties"] for k, r in d.of_type("AWS::Events::Rule").items()
                          if "ScheduleExpression" in r["Properties"] and "PostureWatcher" in k]

    def matching(self, event: dict) -> list[str]:
        return [k for k, pattern in self.rules.items() if pattern.matches_event(event)]


@pytest.fixture(scope="module")
def single(template) -> Watched:
    return Watched(template.to_json(), DEPLOY_ACCOUNT)


@pytest.fixture(scope="module")
def org(org_stacks) -> tuple[Watched, Watched]:
    log_archive, trail = org_stacks
    return (Watched(Template.from_stack(log_archive).to_json(), LOG_ARCHIVE_ACCOUNT),
            Watched(Template.from_stack(trail).to_json(), MANAGEMENT_ACCOUNT))


def samples(watched_names: dict, account: str):
    calls = weakening_calls(trail_name=TRAIL_NAME, trail_arn=TRAIL_ARN, buckets=watched_names["buckets"],
                            key_arn=watched_names["key_arn"], log_group=watched_names["log_group"],
                            key_alias=watched_names["key_alias"])
    for source, name, parameters, resources in calls:
        yield source, name, api_call_event(source, name, parameters, account=account, region=REGION,
                                           resources=resources)


def names_of(w: Watched) -> dict:
    env = w.env
    return {"buckets": [b for b in (env.get("POSTURE_TRAIL_BUCKET"), env.get("POSTURE_ACCESS_LOG_BUCKET")) if b],
            "key_arn": env.get("POSTURE_KEY_ARN") or "arn:aws:kms:eu-west-1:000000000000:key/none",
            "log_group": env.get("POSTURE_LOG_GROUP"), "key_alias": env.get("POSTURE_KEY_ALIAS")}


def test_the_single_stack_catches_every_weakening_call_with_exactly_one_rule(single):
    names = names_of(single)
    assert len(names["buckets"]) == 2 and names["log_group"] == f"/aws/cloudtrail/{TRAIL_NAME}"
    caught = 0
    for source, name, sample in samples(names, DEPLOY_ACCOUNT):
        assert len(single.matching(sample)) == 1, (source, name)
        caught += 1
    assert names["key_alias"] == f"alias/{TRAIL_NAME}"
    assert caught == 6 + 2 * (13 + 2 + 6) + 5 + 2 + 4 + 3 + 3  # and bucket notifications, the log group's filters


def test_every_call_of_the_one_table_is_matched_by_one_rule_and_judged_a_weakening(single):
    """A new line in the table is caught by the rules and judged by the core, with no other change."""
    watched = handler.config_from_env(single.env).watched
    ours = {CLOUDTRAIL: [watched.trail_name], S3: list(watched.buckets), KMS: [watched.key_arn],
            LOGS: [watched.log_group_name], LAMBDA: [f"{TRAIL_NAME}-posture-watcher"],
            EVENTS: [f"{TRAIL_NAME}-digest-planner"], SNS: [f"arn:aws:sns:{REGION}:{DEPLOY_ACCOUNT}:{TRAIL_NAME}-alerts"],
            STATES: [f"arn:aws:states:{REGION}:{DEPLOY_ACCOUNT}:stateMachine:{TRAIL_NAME}-digest-backfill"],
            CLOUDWATCH: [f"{watched.stack_name}-SecureTrailDigestValidatorTamperingAlarm-1A2B3C4D5E6F"],
            SQS: [f"https://sqs.{REGION}.amazonaws.com/{DEPLOY_ACCOUNT}/{watched.stack_name}-SecureTrailWork-AbC123"],
            DYNAMODB: [f"{watched.stack_name}-SecureTrailValidatorsTable-XYZ789"]}
    seen = 0
    for source, calls in WEAKENING_CALLS.items():
        for name, call in calls.items():
            recorded = f"{name}20150331v2" if call.versioned else name
            for field in RESOURCE_FIELDS[source][:1]:
                for resource in ours[source]:
                    sample = api_call_event(source, recorded, {field: resource}, account=DEPLOY_ACCOUNT,
                                            region=REGION)
                    assert len(single.matching(sample)) == 1, (source, name, field)
                    finding = judge_api_call(sample, watched)
                    assert finding is not None and not isinstance(finding, Rejection), (source, name)
                    assert finding.details["why"] == call.why
                    seen += 1
    assert seen == sum(len(calls) * len(ours[source]) for source, calls in WEAKENING_CALLS.items())


def test_alarms_queues_table_and_backfill_of_this_stack_are_watched_and_others_are_not(single):
    """Deleting several alarms at once, purging a queue, deleting the table, stopping a backfill,
    delegating CloudTrail's administration: caught; the same calls on another stack's parts: not."""
    watched = handler.config_from_env(single.env).watched
    stack = watched.stack_name
    assert stack == "SecureTrail"
    ours = [(CLOUDWATCH, "DeleteAlarms", {"alarmNames": ["someone-else-Alarm-1", f"{stack}-SecureTrailFindings-9Z"]}),
            (CLOUDWATCH, "DisableAlarmActions", {"alarmNames": [f"{stack}-SecureTrailHeartbeat-1A"]}),
            (SQS, "PurgeQueue", {"queueUrl": f"https://sqs.{REGION}.amazonaws.com/{DEPLOY_ACCOUNT}/{stack}-Work-1"}),
            (DYNAMODB, "DeleteTable", {"tableName": f"{stack}-SecureTrailValidatorsTable-1"}),
            (DYNAMODB, "UpdateTable", {"tableName": f"arn:aws:dynamodb:{REGION}:{DEPLOY_ACCOUNT}:table/{stack}-T-1"}),
            (STATES, "StopExecution", {"executionArn": f"arn:aws:states:{REGION}:{DEPLOY_ACCOUNT}:execution:"
                                                       f"{TRAIL_NAME}-digest-backfill:run-1"}),
            (CLOUDTRAIL, "RegisterOrganizationDelegatedAdmin", {"memberAccountId": "999999999999"})]
    for source, name, parameters in ours + stack_calls(stack=stack, account=DEPLOY_ACCOUNT, region=REGION):
        sample = api_call_event(source, name, parameters, account=DEPLOY_ACCOUNT, region=REGION)
        assert len(single.matching(sample)) == 1, name
        finding = judge_api_call(sample, watched)
        assert finding is not None and not isinstance(finding, Rejection), name
    others = [(CLOUDWATCH, "DeleteAlarms", {"alarmNames": ["OtherStack-Alarm-1", f"x{stack}-Alarm"]}),
              (SQS, "DeleteQueue", {"queueUrl": f"https://sqs.{REGION}.amazonaws.com/{DEPLOY_ACCOUNT}/Other-Work"}),
              (SQS, "DeleteQueue", {"queueUrl": f"https://sqs.{REGION}.amazonaws.com/333333333333/{stack}-Work-1"}),
              (DYNAMODB, "DeleteTable", {"tableName": "OtherStack-Table"}),
              (STATES, "DeleteStateMachine", {"stateMachineArn": f"arn:aws:states:{REGION}:{DEPLOY_ACCOUNT}:"
                                                                 "stateMachine:other-backfill"})]
    for source, name, parameters in others:
        sample = api_call_event(source, name, parameters, account=DEPLOY_ACCOUNT, region=REGION)
        assert single.matching(sample) == [], (name, parameters)
        assert judge_api_call(sample, watched) is None, (name, parameters)


def validator_samples(account: str, **names) -> list[tuple[str, dict]]:
    return [(name, api_call_event(source, name, parameters, account=account, region=REGION,
                                  response_elements=response))
            for source, name, parameters, response in validator_calls(trail_name=TRAIL_NAME, account=account,
                                                                        region=REGION, **names)]


@pytest.mark.parametrize("url", [
    f"https://sqs.{REGION}.amazonaws.com/{DEPLOY_ACCOUNT}/SecureTrail-Work-1",
    f"https://sqs.{REGION}.amazonaws.com.cn/{DEPLOY_ACCOUNT}/SecureTrail-Work-1",
    f"https://sqs.{REGION}.api.aws/{DEPLOY_ACCOUNT}/SecureTrail-Work-1",
    f"https://{REGION}.queue.amazonaws.com/{DEPLOY_ACCOUNT}/SecureTrail-Work-1",
    f"http://sqs.{REGION}.amazonaws.com/{DEPLOY_ACCOUNT}/SecureTrail-Work-1",
    f"http://{REGION}.queue.amazonaws.com/{DEPLOY_ACCOUNT}/SecureTrail-Work-1",
], ids=["standard", "china", "dual-stack", "legacy", "http", "http-legacy"])
def test_a_call_on_our_queue_is_caught_whatever_the_spelling_of_its_url(single, url):
    sample = api_call_event(SQS, "DeleteQueue", {"queueUrl": url}, account=DEPLOY_ACCOUNT, region=REGION)
    assert len(single.matching(sample)) == 1
    finding = judge_api_call(sample, handler.config_from_env(single.env).watched)
    assert finding is not None and not isinstance(finding, Rejection)
    other = api_call_event(SQS, "DeleteQueue", {"queueUrl": url.replace("/SecureTrail-", "/Other-")},
                           account=DEPLOY_ACCOUNT, region=REGION)
    assert single.matching(other) == []


def test_every_call_that_blinds_a_validator_is_caught_by_one_rule_and_judged_a_finding(single):
    watched = handler.config_from_env(single.env).watched
    samples_ = validator_samples(DEPLOY_ACCOUNT)
    assert {(s["detail"]["eventSource"], n.rstrip("0123456789v")) for n, s in samples_} == {
        (source, name) for source in (LAMBDA, EVENTS, SNS, STATES) for name in WEAKENING_CALLS[source]}
    for name, sample in samples_:
        assert len(single.matching(sample)) == 1, name
        finding = judge_api_call(sample, watched)
        assert finding is not None and not isinstance(finding, Rejection), name
        assert finding.kind == "weakening_api_call" and finding.details["event_name"] == name


def test_the_same_calls_on_another_deployments_functions_rules_or_topics_are_nothing(single):
    watched = handler.config_from_env(single.env).watched
    others = validator_samples(DEPLOY_ACCOUNT, function="app-worker", rule="app-nightly",
                               topic=f"arn:aws:sns:{REGION}:{DEPLOY_ACCOUNT}:app-alerts", state_machine="app-flow")
    others += validator_samples(DEPLOY_ACCOUNT, function=f"x{TRAIL_NAME}-digest-validator",
                                rule=f"x{TRAIL_NAME}-digest-planner",
                                topic=f"arn:aws:sns:{REGION}:999999999999:{TRAIL_NAME}-alerts",
                                state_machine=f"x{TRAIL_NAME}-digest-backfill")
    for name, sample in others:
        assert single.matching(sample) == [], (name, sample["detail"]["requestParameters"])
        assert judge_api_call(sample, watched) is None, name


def test_an_unversioned_or_other_lambda_call_is_not_judged_a_versioned_row(single):
    watched = handler.config_from_env(single.env).watched
    function = f"{TRAIL_NAME}-digest-validator"
    for name in ("DeleteFunctionUrlConfig20150331", "UpdateFunctionCodeX", "GetFunction20150331v2"):
        sample = api_call_event(LAMBDA, name, {"functionName": function}, account=DEPLOY_ACCOUNT, region=REGION)
        assert judge_api_call(sample, watched) is None, name


def test_the_rules_and_the_judge_read_the_same_table(single, monkeypatch):
    """A row added to the table reaches the judge unchanged; the rules list exactly the table's names."""
    from trail_validators.contract import weakening_calls as table
    template_rules = [single.d.resolve_within(r["Properties"]["EventPattern"])
                      for k, r in single.d.of_type("AWS::Events::Rule").items()
                      if "EventPattern" in r["Properties"] and "PostureWatcher" in k]
    listed = {}
    for rule in template_rules:
        (source,) = rule["detail"]["eventSource"]
        listed[source] = {n["prefix"] if isinstance(n, dict) else n for n in rule["detail"]["eventName"]}
    assert listed == {source: set(calls) for source, calls in table.WEAKENING_CALLS.items()}
    row = table.Call("a test row", "lambda:TestCall", True)
    monkeypatch.setitem(table.WEAKENING_CALLS[LAMBDA], "TestCall", row)
    watched = handler.config_from_env(single.env).watched
    sample = api_call_event(LAMBDA, "TestCall20990101", {"functionName": f"{TRAIL_NAME}-posture-watcher"},
                            account=DEPLOY_ACCOUNT, region=REGION)
    finding = judge_api_call(sample, watched)
    assert finding is not None and finding.details["why"] == "a test row"


def test_in_two_accounts_each_call_is_caught_in_the_account_where_it_happens(org):
    log_archive, trail = org
    storage = names_of(log_archive)
    assert not storage["log_group"] and log_archive.env["POSTURE_CHECK_TRAIL"] == "false"
    trail_side = names_of(trail)
    assert trail_side["buckets"] == [] and "POSTURE_KEY_ARN" not in trail.env
    for source, name, sample in samples({**storage, "log_group": trail_side["log_group"]}, LOG_ARCHIVE_ACCOUNT):
        in_log_archive = source in ("s3.amazonaws.com", "kms.amazonaws.com")
        assert len(log_archive.matching(sample)) == (1 if in_log_archive else 0), (source, name)
    for source, name, sample in samples({**storage, "log_group": trail_side["log_group"]}, MANAGEMENT_ACCOUNT):
        in_trail_account = source in ("cloudtrail.amazonaws.com", "logs.amazonaws.com")
        assert len(trail.matching(sample)) == (1 if in_trail_account else 0), (source, name)


def unrelated(names: dict, account: str) -> list[dict]:
    bucket, key_arn = names["buckets"][0], names["key_arn"]
    other = [("s3.amazonaws.com", "PutBucketPolicy", {"bucketName": f"{bucket}-copy"}),
             ("s3.amazonaws.com", "DeleteBucketPolicy", {"bucketName": f"x{bucket}"}),
             ("s3.amazonaws.com", "DeleteBucket", {"bucketName": bucket.upper()}),
             ("s3.amazonaws.com", "GetBucketPolicy", {"bucketName": bucket}),
             ("cloudtrail.amazonaws.com", "StopLogging", {"name": f"{TRAIL_NAME}-2"}),
             ("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL_ARN + "x"}),
             ("cloudtrail.amazonaws.com", "StartLogging", {"name": TRAIL_ARN}),
             ("kms.amazonaws.com", "DisableKey", {"keyId": key_arn + "0"}),
             ("kms.amazonaws.com", "Decrypt", {"keyId": key_arn}),
             ("kms.amazonaws.com", "UpdateAlias", {"aliasName": f"alias/{TRAIL_NAME}-delivery"}),
             ("logs.amazonaws.com", "DeleteLogGroup", {"logGroupName": f"/aws/cloudtrail/{TRAIL_NAME}-old"})]
    return [api_call_event(source, name, parameters, account=account, region=REGION)
            for source, name, parameters in other]


def test_no_rule_matches_a_call_on_another_resource_or_a_harmless_call(single):
    for sample in unrelated(names_of(single), DEPLOY_ACCOUNT):
        assert single.matching(sample) == [], sample["detail"]["requestParameters"]


def test_trail_names_and_key_ids_are_matched_whatever_their_case(single):
    names = names_of(single)
    key_id = names["key_arn"].rsplit("/", 1)[1]
    for source, name, parameters in (("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL_NAME.upper()}),
                                     ("cloudtrail.amazonaws.com", "RemoveTags", {"resourceId": TRAIL_ARN.upper()}),
                                     ("kms.amazonaws.com", "DisableKey", {"keyId": key_id.swapcase()})):
        sample = api_call_event(source, name, parameters, account=DEPLOY_ACCOUNT, region=REGION)
        assert len(single.matching(sample)) == 1, parameters


def test_no_rule_matches_another_detail_type_or_source(single):
    (source, name, sample), *_ = samples(names_of(single), DEPLOY_ACCOUNT)
    assert single.matching(sample)
    assert single.matching({**sample, "detail-type": "AWS Console Sign In via CloudTrail"}) == []
    assert single.matching({**sample, "source": "my.app"}) == []


def test_every_rule_and_the_schedule_invoke_the_posture_function(template, single):
    resources = template.to_json()["Resources"]
    rules = {k: r for k, r in resources.items() if r["Type"] == "AWS::Events::Rule" and "PostureWatcher" in k
             and "PostureWatcherFailed" not in k}
    assert len(rules) == 12 and len(single.rules) == 11
    for rule in rules.values():
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [single.function, "Arn"]}


def test_the_schedule_is_every_15_minutes_by_default(single):
    assert [s["ScheduleExpression"] for s in single.schedules] == ["rate(15 minutes)"]


@pytest.mark.parametrize("interval,expression", [(5, "rate(5 minutes)"), (cdk.Duration.hours(1), "rate(1 hour)")])
def test_the_schedule_follows_the_prop(interval, expression):
    template = Template.from_stack(build_stack(default_props(posture_check_interval=interval))).to_json()
    assert [r["Properties"]["ScheduleExpression"] for k, r in template["Resources"].items()
            if r["Type"] == "AWS::Events::Rule" and "PostureWatcherSchedule" in k] == [expression]


@pytest.mark.parametrize("interval", [0, -5, 1441, True, 1.5, "15", cdk.Duration.seconds(90), cdk.Duration.days(2)])
def test_a_bad_interval_is_refused_naming_the_prop(interval):
    with pytest.raises(SecureTrailConfigError, match="posture_check_interval"):
        default_props(posture_check_interval=interval).validate()


def statements(w: Watched) -> list[dict]:
    return w.d.role_statements(HANDLER)


def actions(w: Watched) -> set[str]:
    return {a for s in statements(w) for a in as_list(s["Action"])}


def test_start_logging_is_granted_only_when_auto_restart_is_on_and_only_on_this_trail(single):
    assert "cloudtrail:StartLogging" not in actions(single)
    assert single.env["POSTURE_AUTO_RESTART_LOGGING"] == "false"
    healing = Watched(Template.from_stack(build_stack(default_props(auto_restart_logging=True))).to_json(),
                      DEPLOY_ACCOUNT)
    (start,) = [s for s in statements(healing) if "cloudtrail:StartLogging" in as_list(s["Action"])]
    assert [healing.d.resolve(r) for r in as_list(start["Resource"])] == [TRAIL_ARN] and "Condition" not in start
    assert healing.env["POSTURE_AUTO_RESTART_LOGGING"] == "true"


def test_the_role_reads_only_this_trail_key_and_buckets(single):
    by_action = {}
    for s in statements(single):
        for action in as_list(s["Action"]):
            if action.startswith(("cloudtrail:", "kms:DescribeKey", "s3:")):
                by_action.setdefault(action, []).extend(single.d.resolve(r) for r in as_list(s["Resource"]))
    assert by_action["cloudtrail:GetTrailStatus"] == [TRAIL_ARN]
    assert by_action["kms:DescribeKey"] == [single.env["POSTURE_KEY_ARN"]]
    assert sorted(by_action["s3:GetBucketPolicy"]) == sorted(f"arn:aws:s3:::{b}" for b in names_of(single)["buckets"])
    assert not any(a.startswith(("cloudtrail:Stop", "cloudtrail:Update", "cloudtrail:Delete", "s3:Put", "kms:Put"))
                   for a in by_action)
    assert all("*" not in r for rs in by_action.values() for r in rs)


def test_the_role_reaches_only_its_own_table_items(single):
    patterns = [p for s in statements(single) if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))
                for p in s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]]
    assert patterns == [f"{POSTURE_PREFIX}*"]
    for key in (posture_state_key(TRAIL_ARN), posture_event_marker("e-1")):
        assert string_like(patterns[0], key)
    for other in ("checkpoint#111111111111#eu-west-1", "alert#s3://x", "audited#s3://x"):
        assert not string_like(patterns[0], other)


def test_the_trail_accounts_watcher_publishes_to_the_log_archive_alerts_topic(org):
    log_archive, trail = org
    alerts_arn = f"arn:aws:sns:{REGION}:{LOG_ARCHIVE_ACCOUNT}:{TRAIL_NAME}-alerts"
    assert trail.env["ALERTS_TOPIC_ARN"] == alerts_arn
    assert log_archive.env["ALERTS_TOPIC_ARN"] == alerts_arn
    role_arns = [f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/{TRAIL_NAME}-{role}"
                 for role in ("posture-watcher", "posture-failed-calls")]
    for role in ("posture-watcher", "posture-failed-calls"):  # both publish to the alerts topic
        (named,) = [r for r in trail.d.of_type("AWS::IAM::Role").values()
                    if r["Properties"].get("RoleName") == f"{TRAIL_NAME}-{role}"]
    resources = log_archive.d.resources
    (topic_statement,) = [s for r in resources.values() if r["Type"] == "AWS::SNS::TopicPolicy"
                          for s in r["Properties"]["PolicyDocument"]["Statement"]
                          if s.get("Sid") == "TrailAccountPostureWatcherPublishes"]
    (key_statement,) = [s for r in resources.values() if r["Type"] == "AWS::KMS::Key"
                        for s in r["Properties"]["KeyPolicy"]["Statement"]
                        if s.get("Sid") == "TrailAccountPostureWatcherEncryptsAlerts"]
    for s in (topic_statement, key_statement):
        assert [log_archive.d.resolve(a) for a in s["Condition"]["ArnEquals"]["aws:PrincipalArn"]] == role_arns
        assert MANAGEMENT_ACCOUNT in json.dumps(s["Principal"])
    assert log_archive.d.resolve(
        key_statement["Condition"]["StringEquals"]["kms:EncryptionContext:aws:sns:topicArn"]) == alerts_arn
    assert sorted(as_list(key_statement["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_alarms_on_posture_findings_notify_the_alerts_topic(template):
    alarms = [r["Properties"] for k, r in template.to_json()["Resources"].items()
              if r["Type"] == "AWS::CloudWatch::Alarm" and "PostureWatcherFindings" in k]
    (alarm,) = alarms
    assert (alarm["Namespace"], alarm["MetricName"]) == (PostureMetrics.FINDINGS.namespace,
                                                        PostureMetrics.FINDINGS.name)
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "posture-watcher"}]
    assert alarm["AlarmActions"] == [{"Ref": next(k for k in template.to_json()["Resources"]
                                                  if k.startswith("SecureTrailTopicsAlerts"))}]


def test_watch_posture_off_removes_the_watcher():
    template = Template.from_stack(build_stack(default_props(watch_posture=False))).to_json()
    assert not [k for k in template["Resources"] if "PostureWatcher" in k]
    log_archive, trail = build_organization(organization_props(watch_posture=False))
    assert not [k for k in Template.from_stack(trail).to_json()["Resources"] if "Posture" in k or "Validator" in k]


def test_metric_posture_findings_reads_the_contract():
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account=DEPLOY_ACCOUNT, region=REGION))
    trail = SecureTrail(stack, "T", org_id="o-a1b2c3d4e5", trail_name=TRAIL_NAME)
    metric = trail.metric_posture_findings()
    assert (metric.namespace, metric.metric_name, metric.dimensions) == (
        PostureMetrics.FINDINGS.namespace, PostureMetrics.FINDINGS.name, PostureMetrics.FINDINGS.dimensions)
    off = SecureTrail(stack, "Off", org_id="o-a1b2c3d4e5", trail_name="other-trail", watch_posture=False)
    with pytest.raises(SecureTrailConfigError, match="watch_posture"):
        off.metric_posture_findings()


def test_the_context_keys_set_the_posture_props():
    from conftest import cdk_json_context
    from secure_trail.context import props_from_context

    def props_with(**context):
        return props_from_context(cdk.App(context={**cdk_json_context(), **context}).node)

    defaults = props_with()
    assert (defaults.watch_posture, defaults.posture_check_minutes, defaults.auto_restart_logging) == (True, 15, False)
    props = props_with(watchPosture="false", postureCheckMinutes="60", autoRestartLogging="true")
    assert (props.watch_posture, props.posture_check_minutes, props.auto_restart_logging) == (False, 60, True)
    for key, value in (("postureCheckMinutes", "true"), ("postureCheckMinutes", "1.5"), ("autoRestartLogging", "1")):
        with pytest.raises(SecureTrailConfigError, match=f"context {key}"):
            props_with(**{key: value})
    with pytest.raises(SecureTrailConfigError, match="posture_check_interval"):
        props_with(postureCheckMinutes="0").validate()
