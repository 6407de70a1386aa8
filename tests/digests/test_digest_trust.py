"""What an attacker who can write objects into the trail bucket cannot do to a verdict:
make it "valid", stop the run, or exhaust its memory. One test per class of attack."""

import gzip
import json
import tracemalloc
import zlib
from datetime import timedelta

import pytest

from trail_validators.digests.chain import DIGEST_DUE, NAME_SLACK, StoredObject, Window
from trail_validators.digests.layout import ChainId, TrailLocation, parse_time
from trail_simulation import SimulatedTrail
from trail_simulation import MemoryReader
from trail_validators.digests.run import discover_chains, validate_trail
from test_digest_chain import CHAIN, LOCATION, WINDOW, logs_of, run
from trail_simulation import T0
from test_digest_chain import trail  # noqa: F401 - the fixture


def kinds(result):
    return sorted({f.kind for f in result.findings})


def findings_of(result, kind):
    return [f for f in result.findings if f.kind == kind]


def log_key(sim, chain, time, unique="INJECTEDxxxxxxxx"):
    return (f"{sim.location.log_day_prefix(chain, time)}{chain.account}_CloudTrail_{chain.region}_"
            f"{time:%Y%m%dT%H%MZ}_{unique}.json.gz")


def put(sim, key, data=b"{}"):
    sim.objects[key] = StoredObject(gzip.compress(data), {})
    return key


# -- 1. every object in a log folder is accounted for ----------------------------------------

@pytest.mark.parametrize("name", [
    "111111111111_CloudTrail_eu-west-1_20261120T0230Z_EXTRA_underscore.json.gz",
    "notes.json.gz",
    "111111111111_CloudTrail_eu-west-1_20261120T0230Z_abcdefghijklmnop.json",
    "111111111111_CloudTrail_us-east-1_20261120T0230Z_abcdefghijklmnop.json.gz",  # another region's name
    "nested/111111111111_CloudTrail_eu-west-1_20261120T0230Z_abcdefghijklmnop.json.gz",
])
def test_an_object_not_named_as_cloudtrail_names_logs_in_a_log_folder_is_unexpected(trail, name):
    key = put(trail, f"{LOCATION.log_day_prefix(CHAIN, T0)}{name}")
    result = run(trail)
    assert [(f.kind, f.keys) for f in result.findings] == [("unexpected_object", (key,))] and result.failed


def test_a_log_named_for_another_day_placed_in_an_in_window_day_folder_is_unexpected(trail):
    key = put(trail, f"{LOCATION.log_day_prefix(CHAIN, T0)}"
                     "111111111111_CloudTrail_eu-west-1_20200101T0000Z_abcdefghijklmnop.json.gz")
    assert [(f.kind, f.keys) for f in run(trail).findings] == [("unexpected_object", (key,))]


def test_logs_of_a_region_without_any_digest_folder_are_found_and_reported():
    sim = SimulatedTrail(LOCATION)
    sim.deliver(CHAIN, T0 - timedelta(hours=2), 9)
    lonely = ChainId("111111111111", "ap-south-1")
    logs = [put(sim, log_key(sim, lonely, T0 + timedelta(hours=2, minutes=m), f"LONELY{m:02d}xxxxxxxx")) for m in (5, 35)]
    chains = discover_chains(MemoryReader(sim.objects), LOCATION)
    assert lonely in chains
    result = run(sim, chains=chains)
    (missing,) = findings_of(result, "missing_digest")
    assert missing.details["region"] == "ap-south-1" and set(missing.keys) == set(logs)
    assert {f.keys[0] for f in findings_of(result, "unverifiable_log")} == set(logs) and result.failed


# -- 2. a chain whose digests were all deleted is found ---------------------------------------

def test_a_region_whose_digests_were_all_deleted_is_missing_a_digest_for_each_hour_with_logs(trail):
    for key in [k for k in trail.objects if "/CloudTrail-Digest/" in k]:
        del trail.objects[key]
    result = run(trail)
    hours = sorted(f.details["expected_end"][:13] for f in findings_of(result, "missing_digest"))
    assert hours == [(T0 + timedelta(hours=h)).strftime("%Y-%m-%dT%H") for h in range(1, 8)]
    (chain,) = result.chains
    assert chain.log_objects == 19 and chain.logs_vouched == 0 and result.failed


# -- 3. junk never aborts a run ---------------------------------------------------------------

def _junk_digests(sim, key):
    body = sim.digest_body(key)
    nested = json.dumps(body)[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    huge_number = json.dumps(body)[:-1] + ', "n": ' + "9" * 5000 + "}"
    return {
        "deeply nested JSON": nested.encode(),
        "a 5000-digit number": huge_number.encode(),
        "a date that overflows": json.dumps({**body, "digestStartTime": "0001-01-01T00:00:00Z",
                                             "digestEndTime": "9999-12-31T23:59:59Z"}).encode(),
        "an offset time": json.dumps({**body, "digestEndTime": "2026-11-20T03:00:00+14:00"}).encode(),
    }


@pytest.mark.parametrize("junk", ["deeply nested JSON", "a 5000-digit number", "a date that overflows",
                                  "an offset time"])
def test_an_unparseable_digest_is_a_finding_and_the_run_goes_on(trail, junk):
    key = trail.in_window[2]
    trail.objects[key] = StoredObject(gzip.compress(_junk_digests(trail, key)[junk]), trail.objects[key].metadata)
    deleted_log = logs_of(trail, trail.in_window[4])[0]
    del trail.objects[deleted_log]
    result = run(trail)
    assert [f.keys for f in findings_of(result, "malformed_digest")] == [(key,)]
    assert [f.keys for f in findings_of(result, "missing_log")] == [(deleted_log,)]  # the rest is still checked


def test_a_digest_key_with_an_impossible_timestamp_is_a_finding_not_a_crash(trail):
    key = f"{LOCATION.digest_day_prefix(CHAIN, T0)}111111111111_CloudTrail-Digest_eu-west-1_org-trail_eu-west-1_" \
          "20261320T010000Z.json.gz"
    trail.objects[key] = trail.objects[trail.in_window[0]]
    result = run(trail)
    assert [(f.kind, f.keys) for f in result.findings] == [("malformed_digest", (key,))]


# -- 4. the checkpoint cannot be poisoned (core side; the worker's is in the handler tests) ---

def test_a_validly_signed_digest_whose_body_time_disagrees_with_its_name_is_invalid(trail):
    key = trail.in_window[3]
    body = trail.digest_body(key)
    body["digestEndTime"] = "2099-01-01T00:00:00Z"
    trail.replace_digest_body(key, body, resign=True)
    result = run(trail)
    assert ("malformed_digest", (key,)) in [(f.kind, f.keys) for f in result.findings]
    assert result.chains[0].newest.key == trail.digests[-1]  # later digests still anchor


TO_THE_NEWEST = Window(WINDOW.start, T0 + timedelta(hours=7, minutes=5))


def test_an_invalid_newest_digest_never_becomes_the_checkpoint(trail):
    newest = trail.digests[-1]
    body = trail.digest_body(newest)
    body["digestEndTime"] = "2099-01-01T00:00:00Z"
    trail.replace_digest_body(newest, body)  # the old signature: invalid
    assert run(trail, window=TO_THE_NEWEST).chains[0].newest.key == trail.digests[-2]


def test_a_digest_that_breaks_its_link_never_becomes_the_checkpoint(trail):
    newest = trail.digests[-1]
    body = trail.digest_body(newest)
    body["previousDigestHashValue"] = "ab" * 32
    trail.replace_digest_body(newest, body, resign=True)
    assert run(trail, window=TO_THE_NEWEST).chains[0].newest.key == trail.digests[-2]


# -- 5. window edges ----------------------------------------------------------------------------

@pytest.mark.parametrize("before_end", [timedelta(minutes=50), timedelta(minutes=15), timedelta(minutes=5)])
def test_an_unreferenced_log_named_in_the_last_hour_before_the_newest_digest_is_injected(trail, before_end):
    newest_end = parse_time(trail.digest_body(trail.digests[-1])["digestEndTime"])
    window = Window(WINDOW.start, newest_end - NAME_SLACK - timedelta(minutes=1))  # the next digest lists none of it
    injected = put(trail, log_key(trail, CHAIN, newest_end - before_end))
    assert [(f.kind, f.keys) for f in run(trail, window=window).findings] == [("injected_log", (injected,))]


def test_a_deleted_newest_digest_is_reported_when_the_window_ends_minutes_after_its_hour(trail):
    del trail.objects[trail.digests[-2]]  # ends about T0+6h; its logs remain
    window = Window(WINDOW.start, T0 + timedelta(hours=6, minutes=5))
    result = run(trail, window=window)
    assert "missing_digest" in kinds(result) or "missing_newest_digest" in kinds(result)
    assert result.failed


@pytest.mark.parametrize("junk", [b"junk", None])
def test_the_digest_after_the_window_is_read_and_verified(trail, junk):
    after = trail.digests[-1]  # ends about T0+7h: it covers the window's last 20 minutes
    if junk is None:
        del trail.objects[after]
    else:
        trail.objects[after] = StoredObject(junk, trail.objects[after].metadata)
    result = run(trail)
    assert result.failed and ({"malformed_digest"} if junk else {"missing_newest_digest"}) <= set(kinds(result))


def test_a_log_after_the_newest_digest_is_pending_until_the_next_digest_is_due_then_unverifiable(trail):
    newest_end = T0 + timedelta(hours=7)
    log = put(trail, log_key(trail, CHAIN, newest_end + timedelta(minutes=10)))
    end = newest_end + timedelta(minutes=30)
    just_before_due = run(trail, window=Window(WINDOW.start, end, newest_end + DIGEST_DUE - timedelta(minutes=1)))
    assert just_before_due.findings == [] and just_before_due.chains[0].logs_pending == 1
    once_due = run(trail, window=Window(WINDOW.start, end, newest_end + DIGEST_DUE + timedelta(minutes=1)))
    assert kinds(once_due) == ["missing_newest_digest", "unverifiable_log"]
    assert findings_of(once_due, "unverifiable_log")[0].keys == (log,)


def test_a_log_named_within_the_name_slack_of_the_newest_end_waits_for_the_next_digest(trail):
    newest_end = T0 + timedelta(hours=7)
    put(trail, log_key(trail, CHAIN, newest_end - NAME_SLACK / 2))
    result = run(trail, window=Window(WINDOW.start, newest_end + timedelta(minutes=5), newest_end + timedelta(minutes=10)))
    assert result.findings == [] and result.chains[0].logs_pending == 1


# -- 6. other trails in the same bucket are not tampering ---------------------------------------

@pytest.mark.parametrize("other_name", ["old_org-trail", "org-trail-2", "audit"])
def test_another_trails_digests_and_logs_in_the_same_folders_are_not_tampering(trail, other_name):
    other = SimulatedTrail(TrailLocation(LOCATION.bucket, None, LOCATION.org_id, other_name, "eu-west-1"),
                           key=trail.key, seed=7)
    other.deliver(CHAIN, T0 - timedelta(hours=2), 9)
    trail.objects.update(other.objects)
    result = run(trail)
    assert result.findings == [] and not result.failed
    (chain,) = result.chains
    assert chain.logs_vouched == 19 and chain.logs_vouched_by_other_trails == 12
    assert chain.other_trails == {f"{other_name} (home region eu-west-1)"}


def test_another_trails_forged_digest_is_reported(trail):
    other = SimulatedTrail(TrailLocation(LOCATION.bucket, None, LOCATION.org_id, "old_org-trail", "eu-west-1"))
    other.deliver(CHAIN, T0, 2)  # signed with a key CloudTrail never published
    trail.objects.update(other.objects)
    result = run(trail)
    assert {f.kind for f in result.findings} >= {"unknown_signing_key", "injected_log"} and result.failed


# -- 7. gaps cannot launder tampering silently ---------------------------------------------------

@pytest.fixture
def gap():
    sim = SimulatedTrail(LOCATION)
    sim.deliver(CHAIN, T0 - timedelta(hours=2), 9, logs_per_hour=2, stopped_hours=frozenset({4, 5}))
    laundered = put(sim, log_key(sim, CHAIN, T0 + timedelta(hours=2, minutes=30)))
    return sim, laundered


def test_a_log_in_a_gap_of_the_chain_is_a_warning_by_default(gap):
    sim, laundered = gap
    result = run(sim)
    assert not result.failed and [f.keys for f in findings_of(result, "unverifiable_log")] == [(laundered,)]
    assert result.chains[0].logs_not_vouched == 1


def test_strict_fails_a_run_with_any_log_no_valid_digest_vouches_for(gap):
    sim, laundered = gap
    result = validate_trail(MemoryReader(sim.objects), LOCATION, [CHAIN], WINDOW,
                            lambda region, w: sim.public_keys, strict=True)
    assert result.failed and findings_of(result, "unverifiable_log")[0].keys == (laundered,)


# -- 8. bounded memory -------------------------------------------------------------------------

MEMORY_BUDGET = 64 * 1024 * 1024


def _gzip_bomb(mebibytes: int) -> bytes:
    """One gzip stream of ``mebibytes`` MiB of zeros, about 1 KB each, built without
    compressing them all: after a full flush, each MiB compresses to the same bytes."""
    deflate, zeros = zlib.compressobj(9, zlib.DEFLATED, 31), bytes(1024 * 1024)
    head = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeat = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush()  # the final block and a trailer for two MiB: replace the trailer
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(zeros, crc)
    trailer = crc.to_bytes(4, "little") + (mebibytes * len(zeros) % 2**32).to_bytes(4, "little")
    return head + repeat * (mebibytes - 1) + end[:-8] + trailer


def test_a_gzip_bomb_replacing_a_log_is_modified_within_the_memory_budget(trail):
    victim = logs_of(trail, trail.in_window[1])[0]
    trail.objects[victim] = StoredObject(_gzip_bomb(1024), {})
    assert len(trail.objects[victim].data) < 2 * 1024 * 1024
    tracemalloc.start()
    try:
        result = run(trail)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(f.kind, f.keys) for f in result.findings] == [("modified_log", (victim,))]
    assert peak < MEMORY_BUDGET, f"peak {peak / 2**20:.0f} MiB"
