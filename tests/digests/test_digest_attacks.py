"""Attacks found by a red-team pass over the digest-chain validator (issue 10), kept as
regression tests: each failed on the code it was written against. The comment on each says
what the attacker does and what must happen."""

import gzip
import json
import random
import tracemalloc
from datetime import timedelta

import pytest

from trail_validators.digests import aws as aws_adapters
from trail_validators.digests.chain import StoredObject, Window
from trail_validators.cli.main import main
from trail_validators.digests.digest import DigestFormatError, parse_digest
from trail_validators.digests.log_files import CHUNK, LogFormatError, log_sha256
from trail_validators.cli.report import digest_text_report
from trail_validators.digests.layout import TrailLocation
from trail_simulation import SimulatedTrail
from test_digest_chain import CHAIN, LOCATION, WINDOW, run
from trail_simulation import T0
from test_digest_chain import trail  # noqa: F401 - the fixture
from test_digest_trust import _gzip_bomb, log_key, put
from conftest import MOTO_TRAIL_ARN as TRAIL_ARN
from conftest import MOTO_TRAIL_BUCKET as BUCKET
from test_cli_validate_logs import WINDOW_ARGS
from test_digest_validation_handlers import CHAINS as WORKER_CHAINS, alerts, chain_message, run_worker
from test_digest_validation_handlers import BUCKET as WORKER_BUCKET
from test_digest_validation_handlers import env  # noqa: F401 - the fixture


def kinds(result):
    return sorted({f.kind for f in result.findings})


# -- 1. a valid verdict although an object in the window was added ----------------------------

def test_a_deleted_digest_after_a_window_ending_on_the_hour_leaves_no_injected_log_pending(trail):
    # Expected: the digest after the window (due two days ago) is missing, so the injected log
    # named at 05:59 is missing_digest/unverifiable or injected: the run fails. Today: VALID,
    # the log counted "pending" for ever, because the head is pending whatever window.now says.
    window = Window(WINDOW.start, T0 + timedelta(hours=6), now=T0 + timedelta(days=2))
    assert not run(trail, window=window).failed  # clean: the newest digest read ends ~06:00:18
    del trail.objects[trail.digests[-1]]  # ends ~07:00, after the window: the only one listing 05:58-06:00 logs
    put(trail, log_key(trail, CHAIN, T0 + timedelta(hours=5, minutes=59)))
    result = run(trail, window=window)
    assert result.failed, f"VALID with {result.chains[0].logs_pending} log pending"


@pytest.mark.parametrize("tamper", ["modify", "delete"])
def test_a_modified_or_deleted_log_of_another_trail_in_the_same_folder_is_reported(trail, tamper):
    # Expected: a log vouched for by another trail's valid digest must hash as that digest
    # records (modified_log) and must exist (missing_log). Today: VALID; the other trail's
    # digest vouches for any object under that name, whatever it holds.
    other = SimulatedTrail(TrailLocation(LOCATION.bucket, None, LOCATION.org_id, "audit", "eu-west-1"),
                           key=trail.key, seed=7)
    digests = other.deliver(CHAIN, T0 - timedelta(hours=2), 9)
    trail.objects.update(other.objects)
    victim = other.digest_body(digests[4])["logFiles"][0]["s3Object"]
    if tamper == "modify":
        trail.objects[victim] = StoredObject(gzip.compress(b'{"Records": [{"eventName": "Forged"}]}'), {})
    else:
        del trail.objects[victim]
    assert run(trail).failed


def test_an_object_in_a_month_folder_of_the_window_is_reported(trail):
    # Expected (lower severity): CloudTrail/<region>/YYYY/MM/<file> is read by a recursive
    # Athena table on CloudTrail/ like any log; it is unexpected_object. Today: never listed.
    month = LOCATION.log_day_prefix(CHAIN, T0).rsplit("/", 2)[0]
    put(trail, f"{month}/111111111111_CloudTrail_eu-west-1_20261120T0230Z_abcdefghijklmnop.json.gz",
        b'{"Records": [{"eventName": "Forged"}]}')
    assert run(trail).failed


# -- 2. runs that raise, hang or abort --------------------------------------------------------

def test_a_junk_digest_whose_body_ends_long_ago_costs_a_bounded_number_of_findings(trail):
    # Expected: one malformed_digest (plus what the real chain warrants). Today the head check
    # walks hourly from the junk body's digestEndTime to the window's end: 2014 gives ~113,000
    # missing_newest_digest findings; 0001-01-01 gives ~17.7 million (~12 GB, minutes): the
    # worker dies on every run, never alerts and its checkpoint never moves.
    key = LOCATION.digest_key(CHAIN, T0 + timedelta(hours=7, minutes=1))
    body = trail.digest_body(trail.digests[-1])
    body.update(digestS3Object=key, digestStartTime="2014-01-01T00:00:00Z", digestEndTime="2014-01-01T01:00:00Z")
    trail.objects[key] = StoredObject(gzip.compress(json.dumps(body).encode()),
                                      {"signature": "00", "signature-algorithm": "SHA256withRSA"})
    result = run(trail)
    assert "malformed_digest" in kinds(result)
    assert len(result.findings) < 50, f"{len(result.findings)} findings"


def test_an_archived_log_does_not_stop_the_worker(env):
    # Expected: the log that cannot be read is a finding (modified/unreadable log), the run
    # goes on, alerts go out, the checkpoint moves. Today: GetObject's InvalidObjectState
    # escapes, the message fails on every retry, no alert, no checkpoint (same for a digest
    # rewritten as GLACIER/DEEP_ARCHIVE or SSE-C).
    chain = WORKER_CHAINS[0]
    sim = env["sim"]
    digest = sorted(k for k in sim.objects if "CloudTrail-Digest" in k and f"/{chain.account}/" in k)[1]
    victim = sim.digest_body(digest)["logFiles"][0]["s3Object"]
    env["s3"].put_object(Bucket=WORKER_BUCKET, Key=victim, Body=gzip.compress(b'{"Records": []}'),
                         StorageClass="GLACIER")
    assert run_worker(env, [chain_message(chain)]) == set()
    assert alerts(env) and env["checkpoints"].load(chain) is not None


def test_an_archived_log_does_not_stop_the_cli(org_trail, capsys):
    # Expected: exit 1 with the archived log and the deleted log as findings. Today: exit 2
    # "AWS error: ... InvalidObjectState", every finding of the run lost.
    archived = next(k for k in org_trail.objects if "/222222222222/CloudTrail/eu-west-1/" in k and "T01" in k)
    org_trail.s3.put_object(Bucket=BUCKET, Key=archived, Body=b"x", StorageClass="GLACIER")
    deleted = next(k for k in org_trail.objects if "/111111111111/CloudTrail/eu-west-1/" in k and "T02" in k)
    org_trail.s3.delete_object(Bucket=BUCKET, Key=deleted)
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS]) == 1
    assert deleted in capsys.readouterr().out


def test_a_second_organization_folder_does_not_stop_the_cli(org_trail, capsys):
    # Expected: the trail's own organization's logs are validated (the junk folder at most a
    # finding); exit 0 here. Today: one object under AWSLogs/o-<anything>/ makes every run of
    # an organization trail exit 2 ("several organizations' logs ... narrow with --s3-prefix",
    # which cannot help).
    org_trail.s3.put_object(Bucket=BUCKET, Key="org/AWSLogs/o-zzzzzzzzzz/readme.txt", Body=b"x")
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS]) == 0, capsys.readouterr().err


def test_a_junk_region_folder_does_not_stop_the_cli(org_trail, capsys, monkeypatch):
    # Expected: the junk folder is reported (unexpected object), the real chains validated,
    # exit 1. Today: its name becomes a "region", the CloudTrail client for it raises
    # InvalidRegionError and the whole run exits 2. (The stub makes the client per region
    # as production does, then returns the simulator's keys.)
    monkeypatch.setattr(aws_adapters, "cloudtrail_public_keys",
                        lambda factory: lambda region, w: (factory(region), org_trail.public_keys)[1])
    org_trail.s3.put_object(Bucket=BUCKET, Key="org/AWSLogs/o-a1b2c3d4e5/111111111111/CloudTrail/not_a_region/x",
                      Body=b"x")
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS]) == 1, capsys.readouterr().err


def test_a_trail_whose_window_digests_were_all_deleted_is_findings_not_a_usage_error(org_trail, capsys):
    # Expected: exit 1 with missing_digest for each hour with logs (issue 10 item 2, "in the
    # CLI"). Today: exit 2 "no digests of trail ..." and every finding is dropped; a caller
    # that treats 1 as "tampered" and 2 as "misconfigured" is told the latter.
    for key in [k for k in org_trail.objects if "/CloudTrail-Digest/" in k]:
        org_trail.s3.delete_object(Bucket=BUCKET, Key=key)
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS]) == 1, capsys.readouterr().err


def test_a_gzip_bomb_under_the_size_caps_is_refused_by_its_inflation_ratio():
    # A 2 MB object that inflates to 2 GiB, under MAX_LOG_BYTES: refused once it inflates
    # more than MAX_RATIO times what was read, so each one costs little, however many.
    data = _gzip_bomb(2047)
    inflated = []
    with pytest.raises(LogFormatError, match="gzip bomb"):
        log_sha256(data[i:i + CHUNK] for i in range(0, len(data), CHUNK) if not inflated.append(i))
    assert len(inflated) == 1  # refused within the first chunk read


# -- 3. memory ----------------------------------------------------------------------------------

def test_a_small_junk_digest_stays_within_the_memory_budget():
    # Expected: a digest is parsed within a fixed budget (64 MiB, as for logs). Today a 16 KB
    # object of "{}," inflates to 16 MiB and json.loads makes 5.6M dicts: ~420 MiB peak. At
    # the 64 MiB cap a 64 KB object peaks at ~1.7 GB RSS, and the worker parses 16 at once
    # (the CLI 64): the 1 GB worker is killed on every run.
    raw = b'{"logFiles": [' + b"{}," * (16 * 2**20 // 3) + b'{}]}'
    data = gzip.compress(raw, compresslevel=9)
    del raw
    assert len(data) < 20_000
    tracemalloc.start()
    try:
        with pytest.raises(DigestFormatError):
            parse_digest("k", data, {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"


# -- 4. false positives on untampered data -------------------------------------------------------

def test_another_trails_log_not_yet_in_its_digest_is_not_injected_in_a_live_window():
    # Expected: no failing finding; the other trail's log (named 05:45, after its newest
    # digest ~05:30, listed by the one due ~06:30) is pending. Today: injected_log, alerted
    # by the worker every hour for a bucket shared by two trails whose digests end at other minutes.
    sim = SimulatedTrail(LOCATION)
    sim.deliver(CHAIN, T0 - timedelta(hours=2), 8, logs_per_hour=3)  # ours end ~hh:00, newest ~06:00
    other = SimulatedTrail(TrailLocation(LOCATION.bucket, None, LOCATION.org_id, "audit", "eu-west-1"),
                           key=sim.key, seed=7)
    other.deliver(CHAIN, T0 - timedelta(hours=2, minutes=30), 8)  # theirs end ~hh:30, newest ~05:30
    other.put_log(CHAIN, T0 + timedelta(hours=5, minutes=45), random.Random(3))
    sim.objects.update(other.objects)
    now = T0 + timedelta(hours=6, minutes=20)
    result = run(sim, window=Window(WINDOW.start, now, now))
    assert not result.failed, [(f.kind, f.keys) for f in result.findings]


# -- 5. the report --------------------------------------------------------------------------------

def test_an_object_name_cannot_write_terminal_escapes_into_the_text_report(trail):
    # Expected: keys are shown escaped. Today a key holding "\n...Verdict: VALID\x1b[8m" prints a
    # fake verdict and conceals the rest (the real "Verdict: INVALID") on an ANSI terminal or CI log.
    key = put(trail, f"{LOCATION.log_day_prefix(CHAIN, T0)}x\n\n0/0 digest files valid\nVerdict: VALID\x1b[8m")
    result = run(trail)
    assert [f.keys for f in result.findings] == [(key,)]
    report = digest_text_report(result, LOCATION, WINDOW)
    assert "\x1b" not in report and "\nVerdict: VALID" not in report
