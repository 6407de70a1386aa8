"""The posture watcher's contract, from both faces: the environment each synthesized
watcher gets configures its handler (every variable read); its alarm watches a metric the
handler emits at the threshold on a weakening call and below it on a harmless one; every
table key it writes is one its role's LeadingKeys admit."""

from __future__ import annotations

import boto3
import pytest
from aws_cdk.assertions import Template
from moto import mock_aws

from conftest import DEPLOY_ACCOUNT, LOG_ARCHIVE_ACCOUNT, MANAGEMENT_ACCOUNT, REGION, TRAIL_ARN, TRAIL_NAME
from posture_events import api_call_event, scheduled_event
from sqs_harness import LambdaContext, create_validators_table
from template_tokens import Deployment, as_list, string_like
from test_contract import emf, table_keys
from trail_validators.contract import ConfigurationError
from trail_validators.handlers import posture

HANDLER = "trail_validators.handlers.posture.handler"


@pytest.fixture(scope="module")
def single(template) -> Deployment:
    return Deployment(template.to_json()["Resources"], DEPLOY_ACCOUNT, REGION)


@pytest.fixture(scope="module")
def halves(org_stacks) -> tuple[Deployment, Deployment]:
    log_archive, trail = org_stacks
    return (Deployment(Template.from_stack(log_archive).to_json()["Resources"], LOG_ARCHIVE_ACCOUNT, REGION),
            Deployment(Template.from_stack(trail).to_json()["Resources"], MANAGEMENT_ACCOUNT, REGION))


def test_the_single_stacks_environment_configures_the_watcher(single):
    config = posture.config_from_env(single.environment(HANDLER))
    trail_bucket = single.resolve({"Ref": single.one("AWS::S3::Bucket", "TrailLogsBucket")})
    access_logs = single.resolve({"Ref": single.one("AWS::S3::Bucket", "AccessLogsBucket")})
    key = single.resolve({"Fn::GetAtt": [single.one("AWS::KMS::Key", "SecureTrailKey"), "Arn"]})
    watched = config.watched
    assert (watched.trail_arn, watched.account, watched.region) == (TRAIL_ARN, DEPLOY_ACCOUNT, REGION)
    assert (watched.buckets, watched.key_arn, watched.key_alias, watched.log_group_name) == (
        (trail_bucket, access_logs), key, f"alias/{TRAIL_NAME}", f"/aws/cloudtrail/{TRAIL_NAME}")
    assert config.check_trail and not config.auto_restart_logging
    assert config.expected_selectors == ({"Name": "All management events", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}]},)
    assert config.table_name == single.resolve({"Ref": single.one("AWS::DynamoDB::Table", "ValidatorsTable")})
    assert config.alerts_topic_arn == single.resolve({"Ref": single.one("AWS::SNS::Topic", "Alerts")})


def test_each_half_of_two_accounts_watches_what_its_account_holds(halves):
    log_archive, trail = (posture.config_from_env(d.environment(HANDLER)) for d in halves)
    assert not log_archive.check_trail and log_archive.watched.key_arn and len(log_archive.watched.buckets) == 2
    assert log_archive.watched.log_group_name is None and log_archive.watched.account == LOG_ARCHIVE_ACCOUNT
    assert trail.check_trail and trail.watched.buckets == () and trail.watched.key_arn is None
    assert trail.watched.log_group_name == f"/aws/cloudtrail/{TRAIL_NAME}"
    assert trail.watched.account == MANAGEMENT_ACCOUNT and trail.alerts_topic_arn == log_archive.alerts_topic_arn


def test_every_variable_the_construct_sets_is_one_the_handler_reads(single, halves):
    for d in (single, *halves):
        environment = d.environment(HANDLER)
        configured = posture.config_from_env(environment)
        for name in environment:
            try:
                without = posture.config_from_env({k: v for k, v in environment.items() if k != name})
            except ConfigurationError:
                continue
            assert without != configured, f"the handler ignores {name}"


@pytest.fixture
def ran(single, aws_env, monkeypatch, capsys):
    """The handler, configured from the template, on a weakening call, a harmless one, and
    its schedule: what it emitted (EMF) and which table keys it wrote."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    environment = single.environment(HANDLER)
    with mock_aws():
        ddb, sns = boto3.client("dynamodb", region_name=REGION), boto3.client("sns", region_name=REGION)
        create_validators_table(ddb, environment["TABLE_NAME"])
        sns.create_topic(Name=environment["ALERTS_TOPIC_ARN"].rsplit(":", 1)[1])
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(posture, "_watcher", None)
        # moto's account differs from the template's: publish to the topic moto has
        monkeypatch.setenv("ALERTS_TOPIC_ARN", f"arn:aws:sns:{REGION}:123456789012:{TRAIL_NAME}-alerts")
        emitted = {}
        for case, event in (
                ("alarm", api_call_event("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL_ARN},
                                         account=DEPLOY_ACCOUNT, region=REGION)),
                ("clean", api_call_event("s3.amazonaws.com", "PutBucketPolicy", {"bucketName": "another"},
                                         account=DEPLOY_ACCOUNT, region=REGION))):
            capsys.readouterr()
            posture.handler(event, LambdaContext())
            emitted[case] = emf(capsys.readouterr().out)
        posture.handler(scheduled_event(DEPLOY_ACCOUNT, REGION, "arn:aws:events:::rule/x"), LambdaContext())
        written = table_keys(ddb, environment["TABLE_NAME"])
    return {"emitted": emitted, "written": written}


def test_the_posture_alarm_watches_a_metric_the_handler_emits_only_on_a_finding(single, ran):
    (alarm,) = [r["Properties"] for k, r in single.of_type("AWS::CloudWatch::Alarm").items()
                if "PostureWatcherFindings" in k]
    watched = (alarm["Namespace"], alarm["MetricName"],
               frozenset((d["Name"], d["Value"]) for d in alarm["Dimensions"]))
    assert ran["emitted"]["alarm"].get(watched, 0) >= alarm["Threshold"]
    assert ran["emitted"]["clean"].get(watched, 0) < alarm["Threshold"]


def test_the_handler_writes_only_keys_its_role_may_write(single, ran):
    patterns = [p for s in single.role_statements(HANDLER) if "dynamodb:PutItem" in as_list(s["Action"])
                for p in s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]]
    assert len(ran["written"]) == 2  # the event's once-only marker, the check's state
    for key in ran["written"]:
        assert any(string_like(p, key) for p in patterns), (key, patterns)
