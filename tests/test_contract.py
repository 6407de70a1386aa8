"""The construct <-> Lambda contract, checked from both faces at once: each synthesized
function's environment configures its handler; each alarm watches a metric its handler
emits, under the same namespace and dimensions; each key a handler writes is one its
role's IAM policy lets it write. A rename on one side only fails here."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from aws_cdk.assertions import Template
from moto import mock_aws

from conftest import MANAGEMENT_ACCOUNT, ORG_ID, REGION, REPO, TRAIL_NAME, build_stack, default_props
from sqs_harness import create_validators_table, queue_with_dlq
from sqs_harness import deliver as sqs_deliver
from template_tokens import Deployment, as_list, string_like
from trail_validators.access_logs.audit import AuditPolicy
from access_log_samples import access_log_line, plain_http_line
from trail_validators.alerts import AlertPublisher, ValidatorsTable
from trail_validators.digests.aws import CheckpointStore, S3Reader
from trail_validators.contract import (ACCESS_LOG_AUDITOR, CIS_METRIC_NAMESPACE, DIGEST_PLANNER, DIGEST_VALIDATOR,
                                      HEARTBEATS, PARTITION_KEY, TRAIL_WATCH, ConfigurationError)
from trail_validators.handlers import access_log_auditor, digest_validation, trail_watch
from watch_events import created, deleted
from trail_validators.digests.layout import ChainId, TrailLocation
from trail_simulation import SimulatedTrail

PLANNER = "trail_validators.handlers.digest_validation.planner"
WORKER = "trail_validators.handlers.digest_validation.worker"
AUDITOR = "trail_validators.handlers.access_log_auditor.handler"
WATCH = "trail_validators.handlers.trail_watch.handler"
# Non-default values everywhere a default could hide a rename; a comma inside a glob (IAM
# names may hold commas) must survive the environment.
PRINCIPALS = ("arn:aws:sts::111111111111:assumed-role/Ops,Admins/*", "arn:aws:iam::111111111111:user/break-glass")
CONTRACT_PROPS = {"s3_key_prefix": "org/trail", "min_tls_version": "TLSv1.3", "expected_principals": PRINCIPALS,
                  "revalidation_days": 9, "log_expiration_days": 400}
MOTO_ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def contract_template() -> dict:
    return Template.from_stack(build_stack(default_props(**CONTRACT_PROPS))).to_json()


@pytest.fixture(scope="module")
def deployment(contract_template) -> Deployment:
    return Deployment(contract_template["Resources"], MANAGEMENT_ACCOUNT, REGION)


def readers():
    """handler -> its configuration reader (the only code that reads its environment)."""
    return {PLANNER: digest_validation.planner_config_from_env, WORKER: digest_validation.worker_config_from_env,
            AUDITOR: access_log_auditor.config_from_env, WATCH: trail_watch.config_from_env}


def expected_configs(d: Deployment) -> dict:
    location = TrailLocation(bucket=d.resolve({"Ref": d.one("AWS::S3::Bucket", "TrailLogsBucket")}),
                             prefix="org/trail", org_id=ORG_ID, trail_name=TRAIL_NAME, home_region=REGION)
    table = d.resolve({"Ref": d.one("AWS::DynamoDB::Table", "ValidatorsTable")})
    alerts = d.resolve({"Ref": d.one("AWS::SNS::Topic", "Alerts")})
    return {
        PLANNER: digest_validation.PlannerConfig(
            location, d.resolve({"Ref": d.one("AWS::SQS::Queue", "DigestValidatorWorkQueue")}), 9,
            d.resolve({"Ref": d.one("AWS::S3::Bucket", "BackfillBucket")})),
        WORKER: digest_validation.WorkerConfig(location, table, alerts),
        AUDITOR: access_log_auditor.AuditorConfig(
            AuditPolicy(min_tls="TLSv1.3", expected_principals=PRINCIPALS, bucket=location.bucket), table, alerts),
        WATCH: trail_watch.WatchConfig(location, table, alerts, 400),
    }


def set_environment(monkeypatch, variables: dict[str, str]) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("handler", [PLANNER, WORKER, AUDITOR, WATCH], ids=["planner", "worker", "auditor", "watch"])
def test_each_function_environment_configures_its_handler(handler, deployment):
    assert readers()[handler](deployment.environment(handler)) == expected_configs(deployment)[handler]


@pytest.mark.parametrize("handler", [PLANNER, WORKER, AUDITOR, WATCH], ids=["planner", "worker", "auditor", "watch"])
def test_every_variable_the_construct_sets_is_one_the_handler_reads(handler, deployment):
    """A variable renamed by the construct alone would be ignored, and its default used."""
    environment = deployment.environment(handler)
    configured = readers()[handler](environment)
    for name in environment:
        try:
            without = readers()[handler]({k: v for k, v in environment.items() if k != name})
        except ConfigurationError:
            continue
        assert without != configured, f"{handler} ignores {name}"


def test_expected_principals_reach_the_auditor_intact(deployment, monkeypatch):
    """Through the process environment, as in Lambda."""
    set_environment(monkeypatch, deployment.environment(AUDITOR))
    assert access_log_auditor.policy_from_env().expected_principals == PRINCIPALS


def test_a_missing_variable_is_a_configuration_error_naming_it(deployment):
    environment = deployment.environment(WORKER)
    with pytest.raises(ConfigurationError, match="TABLE_NAME"):
        digest_validation.worker_config_from_env({k: v for k, v in environment.items() if k != "TABLE_NAME"})


# -- both handlers on moto, configured from the template ------------------------------------
T0 = datetime(2026, 11, 20, tzinfo=timezone.utc)
TAMPERED, CLEAN = ChainId("111111111111", REGION), ChainId("222222222222", REGION)
ACCESS_LOGS = "access-log-bucket"


@pytest.fixture
def ran(contract_template, aws_env, monkeypatch, capsys):
    """Each handler once on a case that must raise its alarm (a deleted log file; a
    plain-HTTP success) and once on a clean one: what each run emitted (EMF), and the
    table keys each handler wrote."""
    d = Deployment(contract_template["Resources"], MOTO_ACCOUNT, REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3, sqs, sns, ddb = (boto3.client(n, region_name=REGION) for n in ("s3", "sqs", "sns", "dynamodb"))
        worker_env, auditor_env = d.environment(WORKER), d.environment(AUDITOR)
        for bucket in (worker_env["TRAIL_BUCKET"], ACCESS_LOGS):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        create_validators_table(ddb, worker_env["TABLE_NAME"])
        sns.create_topic(Name=worker_env["ALERTS_TOPIC_ARN"].rsplit(":", 1)[1])
        queue, _ = queue_with_dlq(sqs, "work", max_receives=3)

        def run(handler, body: dict) -> dict:
            capsys.readouterr()
            assert sqs_deliver(sqs, queue, handler, [json.dumps(body)]) == set()
            return emf(capsys.readouterr().out)

        config = digest_validation.worker_config_from_env(worker_env)
        sim = SimulatedTrail(config.location)
        for chain in (TAMPERED, CLEAN):  # the window starts mid-chain: no gap, only what was done
            sim.deliver(chain, T0 - timedelta(hours=2), 8)
        for key, stored in sim.objects.items():
            if not (f"/{TAMPERED.account}/CloudTrail/" in key and "T01" in key):  # deleted logs
                s3.put_object(Bucket=config.location.bucket, Key=key, Body=stored.data,
                              Metadata=dict(stored.metadata))
        monkeypatch.setattr(digest_validation, "_worker", digest_validation.DigestWorker(
            S3Reader(s3, config.location.bucket), config.location, CheckpointStore(config.table_name, ddb),
            ValidatorsTable(config.table_name, ddb), AlertPublisher(config.alerts_topic_arn, sns),
            lambda region, window: sim.public_keys, clock=lambda: T0 + timedelta(hours=3, minutes=20)))
        emitted = {(WORKER, case): run(digest_validation.worker, {"account": chain.account, "region": chain.region})
                   for case, chain in (("alarm", TAMPERED), ("clean", CLEAN))}
        written = {WORKER: table_keys(ddb, config.table_name)}

        set_environment(monkeypatch, auditor_env)  # read by the handler itself
        monkeypatch.setattr(access_log_auditor, "_auditor", None)
        audited = auditor_env["AUDITED_BUCKET"]
        for case, first in (("alarm", plain_http_line(bucket=audited)), ("clean", access_log_line(bucket=audited))):
            key = f"trail-bucket/2026-11-20-00-00-00-{case}"
            body = "\n".join([first, access_log_line(bucket=audited)]).encode()
            etag = s3.put_object(Bucket=ACCESS_LOGS, Key=key, Body=body)["ETag"].strip('"')
            emitted[AUDITOR, case] = run(access_log_auditor.handler, {
                "detail-type": "Object Created", "source": "aws.s3",
                "detail": {"bucket": {"name": ACCESS_LOGS}, "object": {"key": key, "etag": etag}}})
        written[AUDITOR] = table_keys(ddb, config.table_name) - written[WORKER]

        set_environment(monkeypatch, d.environment(WATCH))
        monkeypatch.setattr(trail_watch, "_watch", None)
        bucket, now = config.location.bucket, T0 + timedelta(hours=5)
        delivered = sorted(k for k in sim.objects if f"/{CLEAN.account}/CloudTrail/" in k)[-1]
        emitted[WATCH, "clean"] = run(trail_watch.handler, json.loads(created(bucket, delivered, None, now)))
        emitted[WATCH, "alarm"] = run(trail_watch.handler, json.loads(deleted(bucket, delivered, "m1", now)))
        written[WATCH] = table_keys(ddb, config.table_name) - written[WORKER] - written[AUDITOR]
    return {"deployment": d, "emitted": emitted, "written": written}


def emf(stdout: str) -> dict[tuple, float]:
    """(namespace, metric name, dimensions) -> the largest value printed as EMF."""
    found: dict[tuple, float] = {}
    for line in stdout.splitlines():
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        if not isinstance(blob, dict) or "_aws" not in blob:
            continue
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = frozenset((name, blob[name]) for name in dimension_set)
                for metric in directive["Metrics"]:
                    value = max(as_list(blob[metric["Name"]]))
                    id_ = (directive["Namespace"], metric["Name"], dimensions)
                    found[id_] = max(found.get(id_, value), value)
    return found


def table_keys(ddb, table_name: str) -> set[str]:
    return {item[PARTITION_KEY]["S"] for item in ddb.scan(TableName=table_name)["Items"]}


def custom_alarms(d: Deployment) -> dict[str, tuple]:
    """logical id -> (namespace, metric, dimensions, threshold) of alarms on our own metrics."""
    alarms = {}
    for logical_id, alarm in d.of_type("AWS::CloudWatch::Alarm").items():
        p = alarm["Properties"]
        if "Namespace" not in p:  # metric math (the backfill's): over AWS/States metrics only
            assert all(q["MetricStat"]["Metric"]["Namespace"] == "AWS/States" for q in p["Metrics"] if "MetricStat" in q)
            continue
        if not p["Namespace"].startswith("AWS/") and p["Namespace"] != CIS_METRIC_NAMESPACE:  # those: the log group's
            dimensions = frozenset((x["Name"], x["Value"]) for x in p.get("Dimensions", []))
            alarms[logical_id] = ((p["Namespace"], p["MetricName"], dimensions), p["Threshold"])
    return alarms


HEARTBEAT_NAMES = {heartbeat.metric.name for heartbeat in HEARTBEATS.values()}


def test_every_alarm_watches_a_metric_its_handler_emits(ran):
    alarms = {k: v for k, v in custom_alarms(ran["deployment"]).items()
              if "PostureWatcher" not in k and v[0][1] not in HEARTBEAT_NAMES}
    assert len(alarms) == 3  # tampering, non-TLS success, trail watch (the posture alarm: test_posture_contract.py)
    for logical_id, (watched, threshold) in alarms.items():
        raised = [h for (h, case), out in ran["emitted"].items()
                  if case == "alarm" and out.get(watched, 0) >= threshold]
        assert raised, (logical_id, watched, "is not emitted at or above the threshold when it should fire")
        handler = raised[0]
        assert ran["emitted"][handler, "clean"].get(watched, threshold) < threshold, (
            logical_id, "watches a metric that is emitted, but not one that only a real finding raises")


def test_each_heartbeat_alarm_watches_what_its_handler_emits_on_every_run(ran, contract_template):
    alarms = {(p["Namespace"], p["MetricName"], frozenset((x["Name"], x["Value"]) for x in p["Dimensions"]))
              for p in (a["Properties"] for a in contract_template["Resources"].values()
                        if a["Type"] == "AWS::CloudWatch::Alarm")
              if p.get("TreatMissingData") == "breaching"}
    for role, handler in ((DIGEST_VALIDATOR, WORKER), (ACCESS_LOG_AUDITOR, AUDITOR), (TRAIL_WATCH, WATCH)):
        metric = HEARTBEATS[role].metric
        watched = (metric.namespace, metric.name, frozenset(metric.dimensions.items()))
        assert watched in alarms, role
        for case in ("alarm", "clean"):  # a run that finds something is a run too
            assert ran["emitted"][handler, case].get(watched, 0) >= 1, (role, case)
    planner = HEARTBEATS[DIGEST_PLANNER].metric
    assert (planner.namespace, planner.name, frozenset(planner.dimensions.items())) in alarms


def test_handlers_write_only_table_keys_their_role_may_write(ran):
    d = ran["deployment"]
    for handler in (WORKER, AUDITOR, WATCH):
        written = ran["written"][handler]
        assert written, handler
        patterns = [pattern for s in d.role_statements(handler)
                    if "dynamodb:PutItem" in as_list(s["Action"])
                    for pattern in s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]]
        for key in written:
            assert any(string_like(p, key) for p in patterns), (handler, key, patterns)
    assert any(key.startswith("checkpoint#") for key in ran["written"][WORKER])


def test_the_construct_library_carries_the_one_shared_contract():
    # A copy would drift: the library's contract package must be a link to the validators' folder.
    library_contract = REPO / "constructs" / "secure_trail" / "contract"
    assert library_contract.is_symlink()
    assert library_contract.resolve() == (REPO / "lambda_src" / "trail_validators" / "contract").resolve()
    assert {p.name for p in library_contract.glob("*.py")} >= {"__init__.py", "monitoring_controls.py", "weakening_calls.py"}
