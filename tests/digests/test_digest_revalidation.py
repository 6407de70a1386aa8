"""The daily re-validation: what the hourly worker leaves behind its checkpoint (a backdated
log, an overwritten log, a deleted log) is found again within a day, without moving the
checkpoint. Planner and worker on moto; ListPublicKeys stubbed."""

import json
from datetime import timedelta

import pytest

from sqs_harness import LambdaContext, digest_validation_on_moto, published
from sqs_harness import deliver as sqs_deliver
from trail_simulation import T0, SimulatedTrail
from trail_validators.contract import REVALIDATE_FIELD, ConfigurationError, Env
from trail_validators.digests.layout import ChainId, TrailLocation

BUCKET = "org-trail-bucket"
LOCATION = TrailLocation(BUCKET, None, "o-a1b2c3d4e5", "org-trail", "us-east-1")
CHAIN = ChainId("111111111111", "us-east-1")
DAYS = 1
"""The simulated trail is 30 hours old: a longer window would start before its first digest."""


@pytest.fixture
def env(aws_env, monkeypatch):
    sim = SimulatedTrail(LOCATION)
    sim.deliver(CHAIN, T0, 30)
    with digest_validation_on_moto(monkeypatch, sim, now=T0 + timedelta(hours=30, minutes=20), versioned=True,
                                   environment={Env.REVALIDATION_DAYS: str(DAYS)}) as env:
        hourly = json.dumps({"account": CHAIN.account, "region": CHAIN.region})
        assert sqs_deliver(env["sqs"], env["queue"], env["module"].worker, [hourly]) == set()
        yield {**env, "hourly": hourly}


def run(env, bodies):
    return sqs_deliver(env["sqs"], env["queue"], env["module"].worker, bodies)


def kinds(env):
    alerts = []
    while batch := published(env["sqs"], env["inbox"]):
        alerts += batch
    return {alert["kind"] for alert in alerts}


def revalidation(days=DAYS):
    return json.dumps({"account": CHAIN.account, "region": CHAIN.region, REVALIDATE_FIELD: days})


def log_of_hour(env, hour):
    return sorted(k for k in env["sim"].objects if "/CloudTrail/" in k and f"_2026112{hour // 24}T{hour % 24:02d}" in k)[0]


def tamper(env):
    """Behind the checkpoint: a backdated log, an overwritten log, a deleted log."""
    s3, account, region = env["s3"], CHAIN.account, CHAIN.region
    backdated = (f"{LOCATION.log_day_prefix(CHAIN, T0)}{account}_CloudTrail_{region}_20261120T1010Z_"
                 "AAAAAAAAAAAAAAAA.json.gz")
    s3.put_object(Bucket=BUCKET, Key=backdated, Body=env["sim"].objects[log_of_hour(env, 3)].data)
    s3.put_object(Bucket=BUCKET, Key=log_of_hour(env, 8), Body=env["sim"].objects[log_of_hour(env, 9)].data)
    s3.delete_object(Bucket=BUCKET, Key=log_of_hour(env, 12))


def test_the_hourly_run_from_its_checkpoint_does_not_see_history_rewritten_behind_it(env):
    checkpoint = env["checkpoints"].load(CHAIN)
    tamper(env)
    env["clock"]["now"] += timedelta(hours=1)
    assert run(env, [env["hourly"]]) == set()
    assert kinds(env) & {"injected_log", "modified_log", "missing_log"} == set()
    assert env["checkpoints"].load(CHAIN) == checkpoint


def test_the_daily_revalidation_finds_a_backdated_an_overwritten_and_a_deleted_log(env):
    checkpoint = env["checkpoints"].load(CHAIN)
    tamper(env)
    env["clock"]["now"] += timedelta(hours=1)
    assert run(env, [revalidation()]) == set()
    assert {"injected_log", "modified_log", "missing_log"} <= kinds(env)
    assert env["checkpoints"].load(CHAIN) == checkpoint


def test_a_clean_revalidation_raises_nothing(env):
    env["clock"]["now"] += timedelta(hours=1)
    assert run(env, [revalidation()]) == set()
    assert kinds(env) == set()


def test_the_daily_schedule_makes_the_planner_queue_revalidations_of_the_configured_days(env):
    assert env["module"].planner({REVALIDATE_FIELD: True}, LambdaContext()) == {
        "chains": 1, "revalidation_days": DAYS}
    (message,) = env["sqs"].receive_message(QueueUrl=env["queue"], MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"]) == {"account": CHAIN.account, "region": CHAIN.region,
                                           REVALIDATE_FIELD: DAYS}


def test_the_hourly_schedule_queues_no_revalidation(env):
    assert env["module"].planner({}, LambdaContext()) == {"chains": 1}


@pytest.mark.parametrize("days", [0, 32, "7", True, None])
def test_a_revalidation_message_outside_the_day_range_goes_to_the_dlq(env, days):
    assert len(run(env, [revalidation(days)])) == 1


@pytest.mark.parametrize("days", ["0", "32", "seven"])
def test_the_planner_refuses_revalidation_days_outside_the_range(env, monkeypatch, days):
    monkeypatch.setenv(Env.REVALIDATION_DAYS, days)
    with pytest.raises(ConfigurationError, match=Env.REVALIDATION_DAYS):
        env["module"].planner({REVALIDATE_FIELD: True}, LambdaContext())
