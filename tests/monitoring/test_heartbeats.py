"""Silence is an alarm: each validator that is on has one heartbeat alarm, on exactly the
metric the contract's ``HEARTBEATS`` names (the one its handler emits every run), with
missing data breaching, over a window that fits its schedule, acting on the alerts topic,
and graphed on the dashboard."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_cdk.assertions import Template
from moto import mock_aws

from conftest import REGION, build_stack, default_props
from sqs_harness import LambdaContext
from template_tokens import Deployment
from trail_validators.contract import (ACCESS_LOG_AUDITOR, DIGEST_PLANNER, DIGEST_VALIDATOR, HEARTBEATS,
                                      POSTURE_WATCHER, TRAIL_WATCH, Heartbeat)
from trail_validators.handlers import digest_validation

PLANNER = "trail_validators.handlers.digest_validation.planner"
POSTURE_MINUTES = 30


@pytest.fixture(scope="module")
def template() -> dict:
    return Template.from_stack(build_stack(default_props(posture_check_interval=POSTURE_MINUTES))).to_json()


def heartbeat_alarms(template: dict) -> dict[tuple, dict]:
    return {(p["Namespace"], p["MetricName"], frozenset((d["Name"], d["Value"]) for d in p["Dimensions"])): p
            for p in (r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm")
            if p.get("TreatMissingData") == "breaching"}


def key(heartbeat: Heartbeat) -> tuple:
    return heartbeat.metric.namespace, heartbeat.metric.name, frozenset(heartbeat.metric.dimensions.items())


def test_each_default_validator_has_one_breaching_heartbeat_alarm_on_its_contract_metric(template):
    expected = {key(HEARTBEATS[role]) for role in (DIGEST_PLANNER, DIGEST_VALIDATOR, ACCESS_LOG_AUDITOR,
                                                   POSTURE_WATCHER, TRAIL_WATCH)}
    assert set(heartbeat_alarms(template)) == expected


def test_a_heartbeat_alarm_fires_on_silence_over_a_window_fitting_its_schedule(template):
    alarms = heartbeat_alarms(template)
    alerts_topic = Deployment(template["Resources"], "123456789012", REGION).one("AWS::SNS::Topic", "Alerts")
    for role, heartbeat in HEARTBEATS.items():
        if key(heartbeat) not in alarms:
            continue
        p = alarms[key(heartbeat)]
        period = (heartbeat.period_minutes or POSTURE_MINUTES) * 60
        assert (p["Period"], p["EvaluationPeriods"], p["DatapointsToAlarm"]) == (
            period, heartbeat.evaluation_periods, heartbeat.evaluation_periods), role
        assert (p["Statistic"], p["Threshold"], p["ComparisonOperator"]) == ("Sum", 1, "LessThanThreshold"), role
        assert p["AlarmActions"] == [{"Ref": alerts_topic}], role
    assert alarms[key(HEARTBEATS[POSTURE_WATCHER])]["Period"] == POSTURE_MINUTES * 60
    assert HEARTBEATS[ACCESS_LOG_AUDITOR].window_minutes() == 120


def test_the_dashboard_has_a_heartbeats_section_graphing_each_heartbeat(template):
    (board,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = json.dumps(board["Properties"]["DashboardBody"])
    assert "## Heartbeats" in body
    for role in (DIGEST_PLANNER, DIGEST_VALIDATOR, ACCESS_LOG_AUDITOR, POSTURE_WATCHER):
        assert HEARTBEATS[role].metric.name in body, role


def test_the_planner_emits_its_heartbeat_on_a_run_that_plans_nothing(template, aws_env, monkeypatch, capsys):
    d = Deployment(template["Resources"], "123456789012", REGION)
    environment = d.environment(PLANNER)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3, sqs = boto3.client("s3", region_name=REGION), boto3.client("sqs", region_name=REGION)
        s3.create_bucket(Bucket=environment["TRAIL_BUCKET"], CreateBucketConfiguration={"LocationConstraint": REGION})
        environment["QUEUE_URL"] = sqs.create_queue(QueueName="work")["QueueUrl"]
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        assert digest_validation.planner({}, LambdaContext()) == {"chains": 0}
    blob = next(json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line)
    assert blob[HEARTBEATS[DIGEST_PLANNER].metric.name] in (1, 1.0, [1.0])
