"""The hourly planner and worker against hostile objects: nothing written into the bucket
can silence them, stop them or move their checkpoint somewhere useless."""

import gzip
import json
from datetime import timedelta

from sqs_harness import LambdaContext
from test_digest_validation_handlers import BUCKET, CHAINS, LOCATION, alerts, chain_message, run_worker
from test_digest_validation_handlers import env  # noqa: F401 - the fixture
from trail_simulation import T0


def put(env, key, body: bytes, metadata=None):
    env["s3"].put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(body), Metadata=metadata or {})


def digest_keys(env, account):
    return sorted(k for k in env["sim"].objects if "CloudTrail-Digest" in k and f"/{account}/" in k)


def log_key(chain, time, unique):
    return (f"{LOCATION.log_day_prefix(chain, time)}{chain.account}_CloudTrail_{chain.region}_"
            f"{time:%Y%m%dT%H%MZ}_{unique}.json.gz")


def test_a_forged_digest_ending_in_2099_never_becomes_the_checkpoint(env):
    chain = CHAINS[0]
    target = digest_keys(env, chain.account)[1]  # ends about T0+2h, in the first run's window
    body = env["sim"].digest_body(target)
    body["digestEndTime"] = "2099-01-01T00:00:00Z"
    put(env, target, json.dumps(body).encode(), dict(env["sim"].objects[target].metadata))
    assert run_worker(env, [chain_message(chain)]) == set()
    # The forgery is not an anchor, nor is the digest after it (its link breaks): the
    # checkpoint stays on the last digest before them.
    checkpoint = env["checkpoints"].load(chain)
    assert checkpoint.end.year == 2026 and "_20261120T01" in checkpoint.key
    env["clock"]["now"] += timedelta(hours=2)
    run_worker(env, [chain_message(chain)])
    assert "_20261120T05" in env["checkpoints"].load(chain).key  # validation goes on
    assert "malformed_digest" in [a["kind"] for a in alerts(env)]  # it ends at another time than its name says


def test_junk_in_a_digest_folder_is_alerted_and_never_stops_the_worker(env):
    chain = CHAINS[0]
    target = digest_keys(env, chain.account)[1]
    put(env, target, b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", {"signature": "00"})
    assert run_worker(env, [chain_message(chain)]) == set()
    assert [a["findings"][0]["keys"] for a in alerts(env) if a["kind"] == "malformed_digest"] == [[target]]
    assert env["checkpoints"].load(chain) is not None


def test_an_injected_log_named_minutes_before_the_newest_digest_is_alerted_in_that_run(env):
    chain = CHAINS[0]
    injected = log_key(chain, T0 + timedelta(hours=2, minutes=50), "INJECTEDxxxxxxxx")
    put(env, injected, b'{"Records": []}')
    run_worker(env, [chain_message(chain)])  # the newest digest by 03:20 ends about 03:00
    assert [a["findings"][0]["keys"] for a in alerts(env) if a["kind"] == "injected_log"] == [[injected]]


def test_a_log_named_just_before_the_checkpoint_is_judged_by_the_next_run(env):
    chain = CHAINS[0]
    run_worker(env, [chain_message(chain)])
    checkpoint = env["checkpoints"].load(chain)
    injected = log_key(chain, checkpoint.end - timedelta(minutes=1), "LATECOMERxxxxxxx")
    put(env, injected, b'{"Records": []}')
    env["clock"]["now"] += timedelta(hours=2)
    run_worker(env, [chain_message(chain)])
    assert [a["findings"][0]["keys"] for a in alerts(env) if a["kind"] == "injected_log"] == [[injected]]


def test_the_planner_queues_a_region_whose_digests_were_all_deleted(env):
    for key in digest_keys(env, CHAINS[1].account):
        env["s3"].delete_object(Bucket=BUCKET, Key=key)
    assert env["module"].planner({}, LambdaContext()) == {"chains": 2}
    env["clock"]["now"] += timedelta(hours=2)
    run_worker(env, [chain_message(CHAINS[1])])
    assert "missing_digest" in [a["kind"] for a in alerts(env)]
