"""The posture watcher's Lambda on moto (CloudTrail status and selectors, KMS, S3, SNS,
DynamoDB): each weakening call is exactly one alert naming the principal, a redelivery
none, another resource none; the scheduled check alerts once per state change;
auto-restart calls StartLogging only when it is on."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from posture_events import api_call_event, scheduled_event, weakening_calls
from sqs_harness import LambdaContext, create_validators_table, published, subscribed_inbox
from trail_validators.alerts import AlertPublisher, ValidatorsTable
from trail_validators.contract import EXPECTED_TRAIL_FIELDS, HEARTBEATS, POSTURE_WATCHER, Env, PostureEnv, PostureKind, PostureMetrics, encode_flag
from trail_validators.handlers import posture as handler_module
from trail_validators.handlers.posture import PostureWatcher, config_from_env
from trail_validators.posture.aws import PostureState

ACCOUNT, REGION = "123456789012", "eu-west-1"
TRAIL = "org-trail"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"
BUCKETS = ("org-trail-logs-test", "org-trail-access-logs-test")
LOG_GROUP = f"/aws/cloudtrail/{TRAIL}"
SELECTORS = [{"Name": "All management events",
              "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]


def tls_deny_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


class World:
    def __init__(self, auto_restart: bool) -> None:
        c = {n: boto3.client(n, region_name=REGION) for n in ("s3", "kms", "cloudtrail", "sns", "sqs", "dynamodb")}
        self.clients = c
        for bucket in BUCKETS:
            c["s3"].create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
            c["s3"].put_bucket_policy(Bucket=bucket, Policy=tls_deny_policy(bucket))
        self.key_arn = c["kms"].create_key(Description="trail key")["KeyMetadata"]["Arn"]
        c["cloudtrail"].create_trail(Name=TRAIL, S3BucketName=BUCKETS[0], IsMultiRegionTrail=True,
                                     IsOrganizationTrail=True, EnableLogFileValidation=True)
        c["cloudtrail"].put_event_selectors(TrailName=TRAIL, AdvancedEventSelectors=SELECTORS)
        c["cloudtrail"].start_logging(Name=TRAIL_ARN)
        topic = c["sns"].create_topic(Name=f"{TRAIL}-alerts")["TopicArn"]
        self.inbox = subscribed_inbox(c["sqs"], c["sns"], topic)
        table = create_validators_table(c["dynamodb"])
        self.environment = {
            Env.TABLE_NAME: table, Env.ALERTS_TOPIC_ARN: topic, Env.HOME_REGION: REGION,
            PostureEnv.TRAIL_ARN: TRAIL_ARN, PostureEnv.ACCOUNT: ACCOUNT, PostureEnv.CHECK_TRAIL: "true",
            PostureEnv.AUTO_RESTART_LOGGING: encode_flag(auto_restart), PostureEnv.TRAIL_BUCKET: BUCKETS[0],
            PostureEnv.ACCESS_LOG_BUCKET: BUCKETS[1], PostureEnv.KEY_ARN: self.key_arn,
            PostureEnv.KEY_ALIAS: f"alias/{TRAIL}",
            PostureEnv.LOG_GROUP: LOG_GROUP, PostureEnv.EXPECTED_SELECTORS: json.dumps(SELECTORS),
            PostureEnv.EXPECTED_TRAIL: json.dumps({**dict.fromkeys(EXPECTED_TRAIL_FIELDS, ""),
                                                   "S3BucketName": BUCKETS[0]})}
        config = config_from_env(self.environment)
        self.watcher = PostureWatcher(
            config, table=ValidatorsTable(table, c["dynamodb"]), state=PostureState(table, c["dynamodb"]),
            alerts=AlertPublisher(topic, c["sns"]), cloudtrail=c["cloudtrail"], kms=c["kms"], s3=c["s3"])

    def alerts(self) -> list[dict]:
        found, batch = [], published(self.clients["sqs"], self.inbox)
        while batch:
            found += batch
            batch = published(self.clients["sqs"], self.inbox)
        return found

    def is_logging(self) -> bool:
        return self.clients["cloudtrail"].get_trail_status(Name=TRAIL_ARN)["IsLogging"]


@pytest.fixture
def world(aws_env, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield World(auto_restart=False)


@pytest.fixture
def healing_world(aws_env, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield World(auto_restart=True)


def open_kinds(conditions: list[str]) -> list[str]:
    """The kinds of open conditions (``<kind>@<resource>``)."""
    return [c.split("@", 1)[0] for c in conditions]


def kinds(alerts: list[dict]) -> list[str]:
    return [a["kind"] for a in alerts]


# -- events --------------------------------------------------------------------------------
def test_each_weakening_call_is_exactly_one_alert_naming_the_principal(world):
    calls = weakening_calls(trail_name=TRAIL, trail_arn=TRAIL_ARN, buckets=list(BUCKETS), key_arn=world.key_arn,
                            log_group=LOG_GROUP, key_alias=f"alias/{TRAIL}")
    for source, name, parameters, resources in calls:
        sample = api_call_event(source, name, parameters, account=ACCOUNT, region=REGION, resources=resources,
                                principal=f"arn:aws:sts::{ACCOUNT}:assumed-role/Ops/{name}")
        assert world.watcher.on_api_call(sample) == "alerted"
        (alert,) = world.alerts()
        (finding,) = alert["findings"]
        assert alert["kind"] == PostureKind.WEAKENING_API_CALL
        assert finding["details"]["principal_arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Ops/{name}"
        assert finding["details"]["event_name"] == name and name in finding["message"]


def test_a_redelivered_event_alerts_once(world):
    sample = api_call_event("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL}, account=ACCOUNT,
                            region=REGION)
    assert [world.watcher.on_api_call(sample) for _ in range(3)] == ["alerted"] * 3
    assert len(world.alerts()) == 1


def test_a_call_on_an_unrelated_resource_alerts_nobody(world):
    for source, name, parameters in (("s3.amazonaws.com", "PutBucketPolicy", {"bucketName": "other-bucket"}),
                                     ("s3.amazonaws.com", "DeleteBucket", {"bucketName": f"{BUCKETS[0]}-old"}),
                                     ("cloudtrail.amazonaws.com", "StopLogging", {"name": "another-trail"}),
                                     ("logs.amazonaws.com", "DeleteLogGroup", {"logGroupName": "/aws/other"})):
        sample = api_call_event(source, name, parameters, account=ACCOUNT, region=REGION)
        assert world.watcher.on_api_call(sample) == "ignored"
    assert world.alerts() == []


def test_malformed_and_foreign_events_are_counted_rejections_not_failures(world, capsys):
    foreign = api_call_event("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL_ARN}, account="999999999999",
                             region=REGION)
    handler_module.metrics.clear_metrics()
    for sample in ({"detail-type": "AWS API Call via CloudTrail"}, "junk", foreign, {"detail": []}):
        assert world.watcher.on_api_call(sample) == "rejected"
    assert world.alerts() == []
    handler_module.metrics.flush_metrics()
    blob = next(json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line)
    assert blob[PostureMetrics.REJECTED_EVENTS.name] == [1.0] * 4 or blob[PostureMetrics.REJECTED_EVENTS.name] == 4


# -- the scheduled check -------------------------------------------------------------------
def test_each_scheduled_check_emits_its_heartbeat_and_an_event_does_not(world, capsys):
    heartbeat = HEARTBEATS[POSTURE_WATCHER].metric
    handler_module.metrics.clear_metrics()
    world.watcher.on_api_call({"detail": []})
    handler_module.metrics.flush_metrics()
    assert heartbeat.name not in capsys.readouterr().out
    world.watcher.check()
    handler_module.metrics.flush_metrics()
    blob = next(json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line)
    assert blob[heartbeat.name] in (1, [1.0], 1.0)
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == heartbeat.namespace


def test_a_healthy_trail_alerts_nobody(world):
    assert world.watcher.check() == [] and world.alerts() == []


def test_the_check_alerts_once_when_logging_stops_and_once_when_it_resumes(world):
    world.clients["cloudtrail"].stop_logging(Name=TRAIL_ARN)
    assert open_kinds(world.watcher.check()) == [PostureKind.LOGGING_STOPPED]
    assert kinds(world.alerts()) == [PostureKind.LOGGING_STOPPED]
    for _ in range(3):  # it lasts: no alert every 15 minutes
        world.watcher.check()
    assert world.alerts() == []
    world.clients["cloudtrail"].start_logging(Name=TRAIL_ARN)
    assert world.watcher.check() == []
    assert kinds(world.alerts()) == [f"{PostureKind.LOGGING_STOPPED}_cleared"]
    world.watcher.check()
    assert world.alerts() == []


def test_without_auto_restart_the_watcher_never_starts_logging(world):
    world.clients["cloudtrail"].stop_logging(Name=TRAIL_ARN)
    world.watcher.check()
    assert not world.is_logging()
    (alert,) = world.alerts()
    assert "StartLogging" not in json.dumps(alert)


def test_with_auto_restart_the_watcher_starts_logging_and_says_so(healing_world):
    healing_world.clients["cloudtrail"].stop_logging(Name=TRAIL_ARN)
    healing_world.watcher.check()
    assert healing_world.is_logging()
    (alert,) = healing_world.alerts()
    assert alert["kind"] == PostureKind.LOGGING_STOPPED
    assert "StartLogging called" in alert["findings"][0]["message"]


def test_with_auto_restart_a_healthy_trail_is_left_alone(healing_world, monkeypatch):
    calls = []
    monkeypatch.setattr(handler_module, "start_logging", lambda *a: calls.append(a))
    healing_world.watcher.check()
    assert calls == [] and healing_world.alerts() == []


def test_the_check_finds_the_key_bucket_trail_and_selector_conditions(world):
    c = world.clients
    key_id = world.key_arn.rsplit("/", 1)[1]  # moto's DisableKey takes only the id
    c["kms"].disable_key(KeyId=key_id)
    c["s3"].delete_bucket_policy(Bucket=BUCKETS[1])
    c["cloudtrail"].update_trail(Name=TRAIL, EnableLogFileValidation=False, IsMultiRegionTrail=False)
    c["cloudtrail"].put_event_selectors(TrailName=TRAIL, AdvancedEventSelectors=[
        {"Name": "reads only", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                                  {"Field": "readOnly", "Equals": ["true"]}]}])
    assert set(open_kinds(world.watcher.check())) == {
        PostureKind.KEY_DISABLED, PostureKind.BUCKET_TLS_DENY_MISSING, PostureKind.LOG_FILE_VALIDATION_OFF,
        PostureKind.NOT_MULTI_REGION, PostureKind.EVENT_SELECTORS_CHANGED}
    assert len(world.alerts()) == 5
    c["kms"].enable_key(KeyId=key_id)
    c["kms"].schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    world.watcher.check()
    assert sorted(kinds(world.alerts())) == [f"{PostureKind.KEY_DISABLED}_cleared", PostureKind.KEY_PENDING_DELETION]


def test_a_deleted_trail_is_a_finding_not_a_crash(world):
    world.clients["cloudtrail"].delete_trail(Name=TRAIL)
    assert open_kinds(world.watcher.check()) == [PostureKind.TRAIL_MISSING]


def test_the_lambda_entry_point_routes_the_schedule_and_the_calls(world, monkeypatch):
    monkeypatch.setattr(handler_module, "_watcher", world.watcher)
    world.clients["cloudtrail"].stop_logging(Name=TRAIL_ARN)
    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/schedule"
    assert handler_module.handler(scheduled_event(ACCOUNT, REGION, rule), LambdaContext()) == {
        "open_conditions": [f"{PostureKind.LOGGING_STOPPED}@{TRAIL_ARN}"]}
    sample = api_call_event("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL}, account=ACCOUNT, region=REGION)
    assert handler_module.handler(sample, LambdaContext()) == {"result": "alerted"}
    forged = {**scheduled_event(ACCOUNT, REGION, rule), "source": "my.app"}
    assert handler_module.handler(forged, LambdaContext()) == {"result": "rejected"}


# -- failed calls: not this function's (they have their own rules, queue and function) ------
def test_a_failed_call_reaching_the_watcher_is_rejected_and_counted_never_an_alert(world, monkeypatch):
    """Its rules send only calls that succeeded; a failed call sent here anyway (a forged
    invocation) costs no alert and no summary: the failed-calls function summarizes them."""
    counted = []
    monkeypatch.setattr(handler_module.metrics, "add_metric",
                        lambda name, unit, value: counted.append((name, value)))
    mallory = f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev/mallory"
    sample = api_call_event("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL}, account=ACCOUNT,
                            region=REGION, principal=mallory, error_code="AccessDenied")
    assert world.watcher.on_api_call(sample) == "rejected"
    assert world.alerts() == []
    assert counted == [(PostureMetrics.REJECTED_EVENTS.name, 1)]
