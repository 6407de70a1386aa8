"""Planner and worker Lambdas on moto (S3, SQS, DynamoDB, SNS); ListPublicKeys stubbed."""

import json
import random
from datetime import timedelta

import pytest

from sqs_harness import LambdaContext, digest_validation_on_moto, published
from sqs_harness import deliver as sqs_deliver
from trail_simulation import T0
from trail_simulation import SigningKey, SimulatedTrail
from trail_validators.digests.layout import ChainId, TrailLocation

BUCKET = "org-trail-bucket"
LOCATION = TrailLocation(BUCKET, None, "o-a1b2c3d4e5", "org-trail", "us-east-1")
CHAINS = [ChainId("111111111111", "us-east-1"), ChainId("222222222222", "eu-west-1")]


@pytest.fixture
def env(aws_env, monkeypatch):
    sim = SimulatedTrail(LOCATION)
    for chain in CHAINS:
        sim.deliver(chain, T0, 6)
    with digest_validation_on_moto(monkeypatch, sim, now=T0 + timedelta(hours=3, minutes=20)) as env:
        yield env


def run_worker(env, bodies):
    return sqs_deliver(env["sqs"], env["queue"], env["module"].worker, bodies)


def alerts(env):
    return published(env["sqs"], env["inbox"])


def chain_message(chain):
    return json.dumps({"account": chain.account, "region": chain.region})


def test_planner_queues_one_message_per_account_and_region(env):
    assert env["module"].planner({}, LambdaContext()) == {"chains": 2}
    messages = env["sqs"].receive_message(QueueUrl=env["queue"], MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["account"] for m in messages) == ["111111111111", "222222222222"]


def test_checkpoint_advances_and_the_next_run_starts_there(env):
    chain = CHAINS[0]
    assert run_worker(env, [chain_message(chain)]) == set()
    first = env["checkpoints"].load(chain)
    assert "_20261120T03" in first.key  # the newest digest by 03:20, ending about 03:00
    env["clock"]["now"] += timedelta(hours=2)
    assert run_worker(env, [chain_message(chain)]) == set()
    assert "_20261120T05" in env["checkpoints"].load(chain).key
    # The only alert: the trail's first digest starts a chain (a gap warning), once.
    assert [a["kind"] for a in alerts(env)] == ["chain_gap"]


def test_a_digest_deleted_after_a_run_is_alerted_once(env):
    chain = CHAINS[1]
    run_worker(env, [chain_message(chain)])
    newest_next = [k for k in env["sim"].objects if "CloudTrail-Digest" in k and "/222222222222/" in k][4]
    env["s3"].delete_object(Bucket=BUCKET, Key=newest_next)
    env["clock"]["now"] += timedelta(hours=3)  # the digest after it links to it
    run_worker(env, [chain_message(chain)])
    run_worker(env, [chain_message(chain)])  # redelivered: harmless
    kinds = [a["kind"] for a in alerts(env)]
    assert kinds.count("missing_digest") == 1


def test_redelivery_does_not_repeat_alerts(env):
    chain = CHAINS[0]
    victim = next(k for k in env["sim"].objects if "/111111111111/CloudTrail/" in k and "T01" in k)
    env["s3"].delete_object(Bucket=BUCKET, Key=victim)
    body = chain_message(chain)
    run_worker(env, [body])
    env["checkpoints"].client.delete_item(TableName="validators",
                                          Key={"pk": {"S": "checkpoint#111111111111#us-east-1"}})
    run_worker(env, [body])  # same window again, as after a crash before the checkpoint
    (alert,) = [a for a in alerts(env) if a["kind"] == "missing_log"]
    assert alert["findings"][0]["keys"] == [victim]


def test_poison_message_goes_to_the_dlq_and_the_rest_of_the_batch_succeeds(env):
    failed = run_worker(env, ["{not json", chain_message(CHAINS[0])])
    assert len(failed) == 1
    assert env["checkpoints"].load(CHAINS[0]) is not None
    env["sqs"].receive_message(QueueUrl=env["queue"])  # past maxReceiveCount: moved on this receive
    dead = env["sqs"].receive_message(QueueUrl=env["dlq"]).get("Messages", [])
    assert [m["Body"] for m in dead] == ["{not json"]


@pytest.mark.parametrize("forged", [False, True])
def test_the_worker_searches_backfill_keys_at_their_generation_time_and_alerts_forged_ones(env, forged):
    sim, chain = env["sim"], CHAINS[0]
    generated, new_key = T0 + timedelta(hours=3), SigningKey()
    # The key rotated after the window's start: a search from then on finds only the new key.
    env["module"]._worker.public_keys = lambda region, window: (
        {new_key.fingerprint: new_key.der} if window.start >= generated - timedelta(hours=1) else sim.public_keys)
    late = sim.put_log(chain, T0 + timedelta(hours=1, minutes=30), random.Random(5))
    backfill, _ = sim.put_digest(chain, T0 + timedelta(hours=1), T0 + timedelta(hours=2), [late], None,
                                 backfill_generated=generated, signing_key=SigningKey() if forged else new_key)
    for key in (late, backfill):
        env["s3"].put_object(Bucket=BUCKET, Key=key, Body=sim.objects[key].data,
                             Metadata=dict(sim.objects[key].metadata))
    run_worker(env, [chain_message(chain)])
    by_kind = {a["kind"]: a for a in alerts(env)}
    if not forged:
        assert sorted(by_kind) == ["chain_gap"]
    else:
        assert sorted(by_kind) == ["chain_gap", "injected_log", "unknown_signing_key"]
        assert by_kind["unknown_signing_key"]["findings"][0]["details"]["backfill"] is True


def test_hourly_run_after_a_checkpoint_lists_each_chain_folder_once(env):
    chain = CHAINS[0]
    assert run_worker(env, [chain_message(chain)]) == set()
    lists = []
    env["s3"].meta.events.register("before-parameter-build.s3.ListObjectsV2", lambda params, **_: lists.append(dict(params)))
    env["clock"]["now"] += timedelta(hours=1)
    assert run_worker(env, [chain_message(chain)]) == set()
    assert len(lists) == 2
    assert all(params.get("StartAfter") and "Delimiter" not in params for params in lists)


def test_hourly_run_after_a_checkpoint_still_finds_a_log_injected_in_its_window(env):
    chain = CHAINS[0]
    assert run_worker(env, [chain_message(chain)]) == set()
    day = f"AWSLogs/o-a1b2c3d4e5/{chain.account}/CloudTrail/{chain.region}/2026/11/20/"
    for key in (f"{day}{chain.account}_CloudTrail_{chain.region}_20261120T0350Z_AAAAAAAAAAAAAAAA.json.gz",
                f"{day}zz-not-a-log.txt"):
        env["s3"].put_object(Bucket=BUCKET, Key=key, Body=b"x")
    env["clock"]["now"] += timedelta(hours=1)
    run_worker(env, [chain_message(chain)])
    assert {"injected_log", "unexpected_object"} <= {a["kind"] for a in alerts(env)}
