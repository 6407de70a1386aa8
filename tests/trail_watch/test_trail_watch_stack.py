"""The trail watch and the daily re-validation as synthesized: the trail bucket sends its
object events to EventBridge, the rule (matched by moto's real EventBridge matcher) takes
every created or deleted object under AWSLogs/ to the watch's queue, the function's
environment is what its handler reads, and the re-validation follows its prop."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from moto.events.models import EventPattern

from conftest import DEPLOY_ACCOUNT, ORG_ID, REGION, TRAIL_NAME, build_stack, default_props, policy_statements
from secure_trail.context import props_from_context
from secure_trail.props import SecureTrailConfigError
from template_tokens import Deployment, one
from trail_validators.contract import (DEFAULT_REVALIDATION_DAYS, HEARTBEATS, REVALIDATE_FIELD, TRAIL_WATCH, Env,
                                      TrailWatchMetrics)
from trail_validators.digests.layout import TrailLocation
from trail_validators.handlers import digest_validation, trail_watch
from watch_events import object_event

HANDLER = "trail_validators.handlers.trail_watch.handler"
PLANNER = "trail_validators.handlers.digest_validation.planner"
WHEN = datetime(2026, 11, 21, 3, tzinfo=timezone.utc)
PROPS = {"s3_key_prefix": "org/trail", "revalidation_days": 9, "log_expiration_days": 400}


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.from_stack(build_stack(default_props(**PROPS)))


@pytest.fixture(scope="module")
def deployment(template) -> Deployment:
    return Deployment(template.to_json()["Resources"], DEPLOY_ACCOUNT, REGION)


@pytest.fixture(scope="module")
def rule(template, deployment) -> EventPattern:
    _, rule = one(template, "AWS::Events::Rule", "TrailWatch")
    return EventPattern.load(json.dumps(deployment.resolve_within(rule["Properties"]["EventPattern"])))


def trail_bucket(d: Deployment) -> str:
    return d.resolve({"Ref": d.one("AWS::S3::Bucket", "TrailLogsBucket")})


def test_trail_bucket_sends_its_object_events_to_event_bridge(template):
    _, bucket = one(template, "AWS::S3::Bucket", "TrailLogsBucket")
    assert bucket["Properties"]["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    template.resource_count_is("Custom::S3BucketNotifications", 0)


@pytest.mark.parametrize("detail_type,reason", [("Object Created", "PutObject"), ("Object Created", "CopyObject"),
                                                ("Object Deleted", "DeleteObject"),
                                                ("Object Deleted", "Lifecycle Expiration")])
def test_rule_matches_every_object_event_under_awslogs(rule, deployment, detail_type, reason):
    key = f"org/trail/AWSLogs/{ORG_ID}/111111111111/CloudTrail/us-east-1/2026/11/21/x.json.gz"
    assert rule.matches_event(object_event(detail_type, trail_bucket(deployment), key, "v1", WHEN, reason=reason))


@pytest.mark.parametrize("bucket,key,detail_type", [
    ("another-bucket", "org/trail/AWSLogs/o/1/x", "Object Created"),
    (None, "org/trail/elsewhere/x", "Object Created"),
    (None, "AWSLogs/x", "Object Deleted"),
    (None, "org/trail/AWSLogs/x", "Object Restore Completed")])
def test_rule_matches_nothing_else(rule, deployment, bucket, key, detail_type):
    event = object_event(detail_type, bucket or trail_bucket(deployment), key, "v1", WHEN, reason="PutObject")
    assert not rule.matches_event(event)


def test_queue_admits_event_bridge_only_as_the_watch_rule(template):
    _, rule = one(template, "AWS::Events::Rule", "TrailWatch")
    assert rule["Properties"]["Name"] == f"{TRAIL_NAME}-{TRAIL_WATCH}"
    statements = policy_statements(template, "AWS::SQS::QueuePolicy", "PolicyDocument", "TrailWatchWorkQueue")
    (events,) = [s for s in statements if s["Effect"] == "Allow"]
    assert events["Condition"]["ArnEquals"] == {
        "aws:SourceArn": f"arn:aws:events:{REGION}:{DEPLOY_ACCOUNT}:rule/{TRAIL_NAME}-{TRAIL_WATCH}"}


def test_the_environment_the_stack_sets_is_what_the_handler_reads(deployment):
    environment = deployment.environment(HANDLER)
    assert trail_watch.config_from_env(environment) == trail_watch.WatchConfig(
        TrailLocation(trail_bucket(deployment), "org/trail", ORG_ID, TRAIL_NAME, REGION),
        deployment.resolve({"Ref": deployment.one("AWS::DynamoDB::Table", "ValidatorsTable")}),
        deployment.resolve({"Ref": deployment.one("AWS::SNS::Topic", "Alerts")}), 400)
    assert set(environment) == {Env.TRAIL_BUCKET, Env.TRAIL_PREFIX, Env.ORG_ID, Env.TRAIL_NAME, Env.HOME_REGION,
                                Env.TABLE_NAME, Env.ALERTS_TOPIC_ARN, Env.LOG_EXPIRATION_DAYS}


def test_the_watch_may_list_versions_under_awslogs_and_read_checkpoints_only(deployment):
    statements = deployment.role_statements(HANDLER)
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "s3:ListBucketVersions" in actions
    assert not {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"} & actions
    checkpoint = [s for s in statements
                  if "checkpoint#*" in json.dumps(s.get("Condition", {}))]
    assert [s["Action"] for s in checkpoint] == ["dynamodb:GetItem"]


def test_findings_and_silence_raise_alarms(template):
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    watch = {k: a["Properties"] for k, a in alarms.items() if "TrailWatch" in k}
    names = {p.get("MetricName"): p for p in watch.values()}
    assert names[TrailWatchMetrics.FINDINGS.name]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert names[HEARTBEATS[TRAIL_WATCH].metric.name]["TreatMissingData"] == "breaching"
    assert any("DeadLetter" in k for k in watch)


def test_daily_rule_asks_the_planner_to_revalidate_the_configured_days(template, deployment):
    rules = [r["Properties"] for k, r in template.find_resources("AWS::Events::Rule").items()
             if "DigestValidatorDailyRevalidation" in k]
    (daily,) = rules
    assert daily["ScheduleExpression"] == "cron(45 3 * * ? *)"  # daily, away from the hourly run's minute
    (target,) = daily["Targets"]
    assert json.loads(target["Input"]) == {REVALIDATE_FIELD: True}
    assert target["Arn"]["Fn::GetAtt"][0] == deployment.one("AWS::Lambda::Function", "DigestValidatorPlanner")
    assert digest_validation.planner_config_from_env(deployment.environment(PLANNER)).revalidation_days == 9


def test_revalidation_days_default_to_seven():
    assert default_props().revalidation_days == DEFAULT_REVALIDATION_DAYS == 7


@pytest.mark.parametrize("days", [0, 32, -1, True, 7.5])
def test_revalidation_days_outside_1_to_31_are_refused_at_synth(days):
    with pytest.raises(SecureTrailConfigError, match=r"revalidation_days: .* from 1 to 31"):
        default_props(revalidation_days=days).validate()


def test_revalidation_days_come_from_context():
    props = props_from_context(cdk.App(context={"orgId": ORG_ID, "revalidationDays": "14"}).node)
    assert props.revalidation_days == 14
