"""Failed weakening calls, on a path that can never delay a real alert: the posture watcher's
rules (matched with moto's real EventBridge pattern matcher) take only calls that succeeded;
beside each, a rule on the same calls that failed feeds an encrypted, TLS-only queue with a DLQ,
consumed by a function of its own (its own reserved concurrency, partial batch failures) that
counts each failed call once and alerts once per principal, resource and window. The function
reads what the stack wires, and its own parts are watched as the validators' others are."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_cdk.assertions import Template
from moto import mock_aws
from moto.events.models import EventPattern

from conftest import DEPLOY_ACCOUNT, MANAGEMENT_ACCOUNT, REGION, TRAIL_ARN, TRAIL_NAME
from posture_events import api_call_event, stack_calls, validator_calls, weakening_calls
from sqs_harness import create_validators_table, deliver, published, queue_with_dlq, subscribed_inbox
from template_tokens import Deployment, as_list, string_like
from trail_validators.alerts import AlertPublisher, ValidatorsTable
from trail_validators.contract import (POSTURE_FAILED_CALLS, POSTURE_FAILED_PREFIX, ConfigurationError, Env,
                                      FailedCallsMetrics, PostureEnv, PostureKind)
from trail_validators.contract.weakening_calls import RESOURCE_FIELDS, WEAKENING_CALLS
from trail_validators.handlers import posture as posture_handler
from trail_validators.handlers import posture_failed_calls as handler_module
from trail_validators.handlers.posture_failed_calls import FailedCalls, config_from_env
from trail_validators.posture.judge import Rejection, judge_api_call

WATCHER = "trail_validators.handlers.posture.handler"
HANDLER = "trail_validators.handlers.posture_failed_calls.handler"
DENIED = "AccessDenied"


def resolved(d: Deployment, node):
    if isinstance(node, dict):
        if len(node) == 1 and next(iter(node)) in ("Ref", "Fn::GetAtt", "Fn::Join"):
            return d.resolve(node)
        return {k: resolved(d, v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolved(d, v) for v in node]
    return node


class Paths:
    """A template's two posture paths: the rules that invoke the watcher's function (real
    alerts) and the rules that feed the failed-calls queue, with the parts of each."""

    def __init__(self, template: dict, account: str) -> None:
        self.template = template
        self.d = d = Deployment(template["Resources"], account, REGION)
        functions = d.of_type("AWS::Lambda::Function")
        self.watcher = next(k for k, r in functions.items() if r["Properties"]["Handler"] == WATCHER)
        self.summarizer = next(k for k, r in functions.items() if r["Properties"]["Handler"] == HANDLER)
        (self.mapping,) = [r["Properties"] for r in d.of_type("AWS::Lambda::EventSourceMapping").values()
                           if r["Properties"]["FunctionName"] == {"Ref": self.summarizer}]
        self.queue = self.mapping["EventSourceArn"]["Fn::GetAtt"][0]
        rules = {k: r["Properties"] for k, r in d.of_type("AWS::Events::Rule").items() if "EventPattern" in r["Properties"]}
        self.real = {k: p for k, p in rules.items()
                     if [t["Arn"] for t in p["Targets"]] == [{"Fn::GetAtt": [self.watcher, "Arn"]}]}
        self.failed = {k: p for k, p in rules.items()
                       if [t["Arn"] for t in p["Targets"]] == [{"Fn::GetAtt": [self.queue, "Arn"]}]}
        self.patterns = {k: EventPattern.load(json.dumps(resolved(d, p["EventPattern"])))
                         for k, p in {**self.real, **self.failed}.items()}
        self.watcher_env = d.environment(WATCHER)
        self.env = d.environment(HANDLER)

    def matching(self, event: dict) -> tuple[list[str], list[str]]:
        """(real-alert rules, failed-calls rules) that match ``event``."""
        return ([k for k in self.real if self.patterns[k].matches_event(event)],
                [k for k in self.failed if self.patterns[k].matches_event(event)])


@pytest.fixture(scope="module")
def single(template) -> Paths:
    return Paths(template.to_json(), DEPLOY_ACCOUNT)


@pytest.fixture(scope="module")
def trail_half(org_stacks) -> Paths:
    return Paths(Template.from_stack(org_stacks[1]).to_json(), MANAGEMENT_ACCOUNT)


def all_samples(p: Paths, account: str, error_code: str | None):
    """Every sample call on our parts (trail, buckets, key, log group, the validators' parts,
    the stack's alarms, queues and table), as it succeeded or as it failed."""
    env = p.watcher_env
    calls = [(s, n, params, res, None) for s, n, params, res in weakening_calls(
        trail_name=TRAIL_NAME, trail_arn=TRAIL_ARN,
        buckets=[b for b in (env.get(PostureEnv.TRAIL_BUCKET), env.get(PostureEnv.ACCESS_LOG_BUCKET)) if b],
        key_arn=env.get(PostureEnv.KEY_ARN) or "arn:aws:kms:eu-west-1:000000000000:key/none",
        log_group=env.get(PostureEnv.LOG_GROUP), key_alias=env.get(PostureEnv.KEY_ALIAS))]
    calls += [(s, n, params, None, response) for s, n, params, response in
              validator_calls(trail_name=TRAIL_NAME, account=account, region=REGION)]
    calls += [(s, n, params, None, None) for s, n, params in stack_calls(stack=env[PostureEnv.STACK_NAME],
                                                                          account=account, region=REGION)]
    for source, name, parameters, resources, response in calls:
        yield source, name, api_call_event(source, name, parameters, account=account, region=REGION,
                                           resources=resources, response_elements=response, error_code=error_code)


# -- the rules: a failed call never reaches the real-alert function ---------------------------
def test_a_failed_call_matches_one_failed_calls_rule_and_no_real_alert_rule(single):
    count = 0
    for source, name, sample in all_samples(single, DEPLOY_ACCOUNT, DENIED):
        real, failed = single.matching(sample)
        assert real == [] and len(failed) == 1, (source, name, real, failed)
        count += 1
    assert count > 80


def test_a_call_that_succeeded_matches_one_real_alert_rule_and_no_failed_calls_rule(single):
    for source, name, sample in all_samples(single, DEPLOY_ACCOUNT, None):
        real, failed = single.matching(sample)
        assert len(real) == 1 and failed == [], (source, name, real, failed)


def test_every_call_of_the_table_that_failed_is_caught_by_one_failed_calls_rule(single):
    """A new line in the table reaches the failed-calls path too, with no other change."""
    ours = {"cloudtrail.amazonaws.com": TRAIL_NAME, "s3.amazonaws.com": single.watcher_env[PostureEnv.TRAIL_BUCKET],
            "kms.amazonaws.com": single.watcher_env[PostureEnv.KEY_ARN],
            "logs.amazonaws.com": single.watcher_env[PostureEnv.LOG_GROUP],
            "lambda.amazonaws.com": f"{TRAIL_NAME}-{POSTURE_FAILED_CALLS}",
            "events.amazonaws.com": f"{TRAIL_NAME}-{POSTURE_FAILED_CALLS}-trailcalls",
            "sns.amazonaws.com": f"arn:aws:sns:{REGION}:{DEPLOY_ACCOUNT}:{TRAIL_NAME}-alerts",
            "states.amazonaws.com": f"arn:aws:states:{REGION}:{DEPLOY_ACCOUNT}:stateMachine:{TRAIL_NAME}-digest-backfill",
            "monitoring.amazonaws.com": "SecureTrail-SecureTrailPostureWatcherFailedCallsWorkDeadLetter-1A2B",
            "sqs.amazonaws.com": f"https://sqs.{REGION}.amazonaws.com/{DEPLOY_ACCOUNT}/SecureTrail-"
                                 "SecureTrailPostureWatcherFailedCallsWorkQueue-AbC123",
            "dynamodb.amazonaws.com": "SecureTrail-SecureTrailValidatorsTable-XYZ789"}
    for source, calls in WEAKENING_CALLS.items():
        for name, call in calls.items():
            recorded = f"{name}20150331v2" if call.versioned else name
            sample = api_call_event(source, recorded, {RESOURCE_FIELDS[source][0]: ours[source]},
                                    account=DEPLOY_ACCOUNT, region=REGION, error_code=DENIED)
            assert single.matching(sample) == ([], [next(k for k in single.failed
                                                         if single.patterns[k].matches_event(sample))]), name


def test_the_real_alert_rules_take_only_calls_that_succeeded_and_each_has_its_failed_twin(single):
    """On the template: no rule invoking the posture watcher's function lets a failed call through."""
    assert len(single.real) == len(single.failed) == 11
    for rule in single.real.values():
        assert rule["EventPattern"]["detail"]["errorCode"] == [{"exists": False}], rule["Name"]
    twins = {}
    for rule in single.failed.values():
        detail = dict(rule["EventPattern"]["detail"])
        assert detail.pop("errorCode") == [{"exists": True}], rule["Name"]
        twins[json.dumps(resolved(single.d, {**rule["EventPattern"], "detail": detail}), sort_keys=True)] = rule
    for rule in single.real.values():  # the same calls, the same resources
        detail = {k: v for k, v in rule["EventPattern"]["detail"].items() if k != "errorCode"}
        assert json.dumps(resolved(single.d, {**rule["EventPattern"], "detail": detail}), sort_keys=True) in twins


def test_the_failed_calls_rules_feed_a_queue_and_never_the_watchers_function(single):
    for rule in single.failed.values():
        assert rule["Name"].startswith(f"{TRAIL_NAME}-{POSTURE_FAILED_CALLS}-")
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [single.queue, "Arn"]}
    assert single.summarizer != single.watcher


# -- the queue, the function, the event source -----------------------------------------------
def test_the_queue_is_encrypted_tls_only_with_a_dlq_and_admits_only_the_failed_calls_rules(single):
    d = single.d
    queue = d.resources[single.queue]["Properties"]
    state_key = d.one("AWS::KMS::Key", "ValidatorStateKey")
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [state_key, "Arn"]}
    assert queue["MessageRetentionPeriod"] == 14 * 86400 and queue["VisibilityTimeout"] == 360
    redrive = queue["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 3
    dlq = d.resources[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]["Properties"]
    assert dlq["KmsMasterKeyId"] == {"Fn::GetAtt": [state_key, "Arn"]} and dlq["MessageRetentionPeriod"] == 14 * 86400
    (policy,) = [r["Properties"]["PolicyDocument"]["Statement"] for r in d.of_type("AWS::SQS::QueuePolicy").values()
                 if {"Ref": single.queue} in r["Properties"]["Queues"]]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)
    (send,) = [s for s in policy if s["Effect"] == "Allow"]
    rule_arns = sorted(f"arn:aws:events:{REGION}:{DEPLOY_ACCOUNT}:rule/{r['Name']}" for r in single.failed.values())
    assert sorted(d.resolve(send["Condition"]["ArnEquals"]["aws:SourceArn"])) == rule_arns
    assert send["Principal"] == {"Service": "events.amazonaws.com"} and send["Action"] == "sqs:SendMessage"
    key_statements = d.resources[state_key]["Properties"]["KeyPolicy"]["Statement"]
    (key_send,) = [s for s in key_statements if s.get("Sid") == "EventBridgeSendsAsTheFailedCallsRules"]
    assert sorted(d.resolve(key_send["Condition"]["ArnEquals"]["aws:SourceArn"])) == rule_arns


def test_the_function_has_its_own_concurrency_and_reports_partial_batch_failures(single):
    functions = single.d.resources
    summarizer, watcher = (functions[k]["Properties"] for k in (single.summarizer, single.watcher))
    assert summarizer["FunctionName"] == f"{TRAIL_NAME}-{POSTURE_FAILED_CALLS}"
    assert summarizer["ReservedConcurrentExecutions"] == 2 and watcher["ReservedConcurrentExecutions"] == 2
    assert summarizer["Role"] != watcher["Role"]
    assert single.mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert single.mapping["BatchSize"] == 10 and single.mapping["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_an_alarm_fires_on_the_first_message_in_its_dlq(single):
    d = single.d
    dlq = d.resources[single.queue]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    (alarm,) = [r["Properties"] for r in d.of_type("AWS::CloudWatch::Alarm").values()
                if {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}} in r["Properties"].get("Dimensions", [])]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["AlarmActions"] == [{"Ref": d.one("AWS::SNS::Topic", "Alerts")}]


def test_the_role_writes_only_the_failed_calls_items_and_publishes_only_to_the_alerts_topic(single):
    statements = single.d.role_statements(HANDLER)
    patterns = [p for s in statements if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))
                for p in s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]]
    assert patterns == [f"{POSTURE_FAILED_PREFIX}*"]
    assert not string_like(patterns[0], "posture#state#x") and not string_like(patterns[0], "checkpoint#1#r")
    (publish,) = [s for s in statements if "sns:Publish" in as_list(s["Action"])]
    assert publish["Resource"] == {"Ref": single.d.one("AWS::SNS::Topic", "Alerts")}


# -- one source of truth: what the stack wires is what the handler reads ----------------------
def test_the_stack_wires_the_function_to_watch_what_the_posture_watcher_watches(single):
    config = config_from_env(single.env)
    watcher = posture_handler.config_from_env(single.watcher_env)
    assert config.watched == watcher.watched
    assert (config.table_name, config.alerts_topic_arn) == (watcher.table_name, watcher.alerts_topic_arn)


def test_every_variable_the_stack_sets_on_the_function_is_one_it_reads(single, trail_half):
    for paths in (single, trail_half):
        configured = config_from_env(paths.env)
        for name in paths.env:
            try:
                without = config_from_env({k: v for k, v in paths.env.items() if k != name})
            except ConfigurationError:
                continue
            assert without != configured, f"the failed-calls function ignores {name}"


def test_in_two_accounts_the_trail_half_publishes_to_the_log_archive_alerts_topic(trail_half):
    assert trail_half.env[Env.ALERTS_TOPIC_ARN] == trail_half.watcher_env[Env.ALERTS_TOPIC_ARN]
    assert f":{MANAGEMENT_ACCOUNT}:" not in trail_half.env[Env.ALERTS_TOPIC_ARN]
    assert config_from_env(trail_half.env).watched == posture_handler.config_from_env(trail_half.watcher_env).watched


# -- silence: its own parts are watched ----------------------------------------------------------
def test_calls_that_blind_the_failed_calls_path_are_real_alerts(single):
    """Its function, its event source mapping, its rules and its queues are named as the
    validators' other parts: the real-alert rules catch such calls and the judge alerts."""
    watched = posture_handler.config_from_env(single.watcher_env).watched
    stack = watched.stack_name
    function = f"{TRAIL_NAME}-{POSTURE_FAILED_CALLS}"
    calls = validator_calls(trail_name=TRAIL_NAME, account=DEPLOY_ACCOUNT, region=REGION, function=function,
                            rule=next(iter(single.failed.values()))["Name"])
    queue = f"https://sqs.{REGION}.amazonaws.com/{DEPLOY_ACCOUNT}/{stack}-SecureTrailPostureWatcherFailedCallsWorkQueue-1"
    calls += [("sqs.amazonaws.com", name, {"queueUrl": queue}, None)
              for name in ("DeleteQueue", "PurgeQueue", "SetQueueAttributes")]
    for source, name, parameters, response in calls:
        sample = api_call_event(source, name, parameters, account=DEPLOY_ACCOUNT, region=REGION,
                                response_elements=response)
        assert len(single.matching(sample)[0]) == 1, name
        finding = judge_api_call(sample, watched)
        assert finding is not None and not isinstance(finding, Rejection), name
        assert finding.kind == PostureKind.WEAKENING_API_CALL


def test_the_scheduled_check_compares_the_failed_calls_rules_too(single):
    config = posture_handler.config_from_env(single.watcher_env)
    assert {r["Name"] for r in single.failed.values()} <= set(config.expected_rules)


# -- the function on moto: counted once each, one alert a principal, resource and window ------
ACCOUNT = "123456789012"
TRAIL = "org-trail"
WATCHED_TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"
BUCKET = "org-trail-logs-test"


class World:
    def __init__(self, monkeypatch) -> None:
        self.sqs, sns, ddb = (boto3.client(n, region_name=REGION) for n in ("sqs", "sns", "dynamodb"))
        topic = sns.create_topic(Name=f"{TRAIL}-alerts")["TopicArn"]
        self.inbox = subscribed_inbox(self.sqs, sns, topic)
        table = create_validators_table(ddb)
        self.queue, self.dlq = queue_with_dlq(self.sqs, "failed-calls", max_receives=2)
        self.environment = {Env.TABLE_NAME: table, Env.ALERTS_TOPIC_ARN: topic, Env.HOME_REGION: REGION,
                            PostureEnv.TRAIL_ARN: WATCHED_TRAIL_ARN, PostureEnv.ACCOUNT: ACCOUNT,
                            PostureEnv.CHECK_TRAIL: "true", PostureEnv.TRAIL_BUCKET: BUCKET}
        config = config_from_env(self.environment)
        monkeypatch.setattr(handler_module, "_failed_calls", FailedCalls(
            config, table=ValidatorsTable(table, ddb), alerts=AlertPublisher(topic, sns)))
        self.counted: list[tuple[str, float]] = []
        monkeypatch.setattr(handler_module.metrics, "add_metric",
                            lambda name, unit, value: self.counted.append((name, value)))

    def deliver(self, bodies=()) -> set[str]:
        """Send ``bodies`` and run the handler on batches until the queue is drained (the
        failures of each batch are returned to the queue at once): the failed message ids."""
        failed: set[str] = set()
        for start in range(0, len(bodies), 10):
            failed |= deliver(self.sqs, self.queue, handler_module.handler, bodies[start:start + 10])
        if not bodies:  # a receive of what was returned (moto redrives past the receive count)
            failed |= deliver(self.sqs, self.queue, lambda event, context: handler_module.handler(
                event, context) if event["Records"] else {"batchItemFailures": []})
        return failed

    def alerts(self) -> list[dict]:
        found, batch = [], published(self.sqs, self.inbox)
        while batch:
            found += batch
            batch = published(self.sqs, self.inbox)
        return found

    def count(self) -> float:
        return sum(value for name, value in self.counted if name == FailedCallsMetrics.FAILED_CALLS.name)


@pytest.fixture
def world(aws_env, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield World(monkeypatch)


def denied(principal: str = "mallory", *, name: str = "StopLogging", time: str = "2026-11-25T04:12:31Z",
           event_id: str | None = None, error_code: str | None = DENIED) -> str:
    source, parameters = (("s3.amazonaws.com", {"bucketName": BUCKET}) if name == "PutBucketPolicy"
                          else ("cloudtrail.amazonaws.com", {"name": TRAIL}))
    sample = api_call_event(source, name, parameters, account=ACCOUNT, region=REGION, event_id=event_id,
                            principal=f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/{principal}", error_code=error_code)
    sample["detail"]["eventTime"] = time
    return json.dumps(sample)


def summaries(alerts: list[dict]) -> list[tuple[str, str, str]]:
    assert all(a["kind"] == PostureKind.FAILED_CALLS for a in alerts)
    return sorted((a["findings"][0]["details"]["principal_arn"].rsplit("/", 1)[1],
                   a["findings"][0]["details"]["resource"], a["findings"][0]["details"]["window_start"])
                  for a in alerts)


def test_n_failed_calls_of_one_principal_on_one_resource_are_one_alert_and_a_count_of_n(world):
    assert world.deliver([denied() for _ in range(25)]) == set()
    assert summaries(world.alerts()) == [("mallory", TRAIL, "2026-11-25T04:00Z")]
    assert world.count() == 25


def test_two_principals_are_two_alerts(world):
    world.deliver([denied("mallory"), denied("eve"), denied("mallory"), denied("eve")])
    assert summaries(world.alerts()) == [("eve", TRAIL, "2026-11-25T04:00Z"), ("mallory", TRAIL, "2026-11-25T04:00Z")]
    assert world.count() == 4


def test_each_resource_and_each_window_is_its_own_alert(world):
    world.deliver([denied(), denied(time="2026-11-25T04:59:59Z"), denied(name="PutBucketPolicy"),
                   denied(time="2026-11-25T05:00:00Z")])
    assert summaries(world.alerts()) == sorted([("mallory", BUCKET, "2026-11-25T04:00Z"),
                                                ("mallory", TRAIL, "2026-11-25T04:00Z"),
                                                ("mallory", TRAIL, "2026-11-25T05:00Z")])


def test_a_redelivered_batch_is_no_extra_alert_and_no_extra_count(world):
    batch = [denied(event_id=f"0000000{n}-aaaa-bbbb-cccc-dddddddddddd") for n in range(5)]
    world.deliver(batch)
    world.deliver(batch)
    assert len(world.alerts()) == 1 and world.count() == 5


def test_a_malformed_record_fails_alone_and_ends_in_the_dlq_never_dropped(world):
    forged = json.loads(denied())
    forged["account"] = forged["detail"]["recipientAccountId"] = "999999999999"
    bad = ["not json", json.dumps([1, 2]), json.dumps({"detail-type": "x"}), json.dumps(forged),
           denied(error_code=None)]  # a call that succeeded belongs to the real-alert path: never dropped here
    failed = world.deliver([*bad, denied()])
    assert len(failed) == len(bad)
    assert summaries(world.alerts()) == [("mallory", TRAIL, "2026-11-25T04:00Z")] and world.count() == 1
    world.deliver()  # the second receive: then the redrive moves them to the DLQ
    world.deliver()
    dead = world.sqs.receive_message(QueueUrl=world.dlq, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in dead) == sorted(bad)


def test_a_failed_call_on_another_resource_is_ignored_not_a_failure(world):
    other = json.loads(denied())
    other["detail"]["requestParameters"] = {"name": "someone-elses-trail"}
    assert world.deliver([json.dumps(other)]) == set()
    assert world.alerts() == [] and world.count() == 0


def test_a_publish_that_fails_is_retried_and_then_alerts_once(world, monkeypatch):
    publisher = handler_module._failed_calls.alerts
    real, calls = publisher.publish, []

    def flaky(*args):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("SNS throttled")
        return real(*args)

    monkeypatch.setattr(publisher, "publish", flaky)
    body = denied(event_id="11111111-aaaa-bbbb-cccc-dddddddddddd")
    assert len(world.deliver([body])) == 1
    assert world.deliver() == set()
    assert len(world.alerts()) == 1 and world.count() == 1


def test_a_missing_variable_is_a_configuration_error_naming_it(world):
    with pytest.raises(ConfigurationError, match=PostureEnv.ACCOUNT):
        config_from_env({k: v for k, v in world.environment.items() if k != PostureEnv.ACCOUNT})
