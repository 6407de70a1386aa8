"""Backfill digests on signed data: their own chains, keys searched at their generation time,
their logs vouched for, and every way to forge or break them found."""

import gzip
import json
import random
from datetime import timedelta

import pytest

from trail_simulation import T0, MemoryReader, SigningKey, SimulatedTrail
from trail_validators.cli.report import digest_json_report, digest_text_report
from trail_validators.digests.chain import MAX_BACKFILL_KEY_SEARCHES, TAMPERING, ChainValidator, StoredObject
from trail_validators.digests.layout import parse_time
from trail_validators.digests.run import read_digest, validate_trail
from test_digest_chain import CHAIN, LOCATION, WINDOW

ROTATION = T0 + timedelta(days=1)
GENERATED = T0 + timedelta(days=2)


class Keyring:
    """ListPublicKeys of a region whose key rotated: the old key until ROTATION, the new one
    after it. Records every window searched."""

    def __init__(self, old: SigningKey, new: SigningKey) -> None:
        self.old, self.new, self.searched = old, new, []

    def __call__(self, region, window):
        self.searched.append(window)
        keys = {}
        if window.start < ROTATION:
            keys[self.old.fingerprint] = self.old.der
        if window.end > ROTATION:
            keys[self.new.fingerprint] = self.new.der
        return keys


@pytest.fixture
def trail():
    """The standard chain of test_digest_chain (signed with the old key) and, for two log files
    delivered late, a backfill chain of two digests signed after the key rotation; the first
    ends exactly when a standard digest ends."""
    sim = SimulatedTrail(LOCATION)
    sim.digests = sim.deliver(CHAIN, T0 - timedelta(hours=2), 9, logs_per_hour=3)
    sim.new_key = SigningKey()
    sim.keyring = Keyring(sim.key, sim.new_key)
    shared_end = parse_time(sim.digest_body(sim.digests[5])["digestEndTime"])  # about T0 + 3 h
    rng = random.Random(7)
    sim.late_logs = [sim.put_log(CHAIN, shared_end - timedelta(minutes=40), rng),
                     sim.put_log(CHAIN, shared_end + timedelta(minutes=20), rng)]
    first, link = sim.put_digest(CHAIN, shared_end - timedelta(hours=1), shared_end, sim.late_logs[:1], None,
                                 backfill_generated=GENERATED, signing_key=sim.new_key)
    second, _ = sim.put_digest(CHAIN, shared_end, shared_end + timedelta(hours=1), sim.late_logs[1:], link,
                               backfill_generated=GENERATED + timedelta(minutes=5), signing_key=sim.new_key)
    sim.backfill = [first, second]
    return sim


def run(sim, window=WINDOW):
    return validate_trail(MemoryReader(sim.objects), LOCATION, [CHAIN], window, sim.keyring)


def kinds_and_keys(result):
    return sorted((f.kind, f.keys) for f in result.findings)


def test_a_backfill_chain_sharing_an_end_time_and_signed_after_a_key_rotation_is_valid(trail):
    assert trail.backfill[0].replace("_backfill.json.gz", ".json.gz") == trail.digests[5]
    result = run(trail)
    assert result.findings == [] and not result.failed
    (chain,) = result.chains
    assert (chain.digests_valid, chain.digests_checked) == (7, 7)  # the standard chain as without backfill
    assert (chain.backfill_digests_valid, chain.backfill_digests_checked) == (2, 2)
    assert chain.logs_vouched_by_backfill == 2 and chain.logs_not_vouched == 0
    assert chain.newest.key == trail.digests[-1]  # the checkpoint stays on the standard chain


def test_the_backfill_key_is_searched_around_its_generation_time(trail):
    run(trail)
    backfill_searches = [w for w in trail.keyring.searched if w.start > WINDOW.end]
    assert backfill_searches and all(w.start <= GENERATED <= w.end for w in backfill_searches)
    assert all(w.end - w.start <= timedelta(hours=3) for w in backfill_searches)


def test_a_backfill_key_looked_up_at_the_digest_end_time_is_not_found(trail):
    # The same digest with its generation time set to its end time: the keys published then
    # are the old ones, and the new key that signed it is not among them.
    key = trail.backfill[0]
    stored = trail.objects[key]
    trail.objects[key] = StoredObject(stored.data, {**stored.metadata, "backfill-generation-timestamp":
                                                    trail.digest_body(key)["digestEndTime"]})
    result = run(trail)
    unknown = [f for f in result.findings if f.kind == "unknown_signing_key"]
    assert [f.keys for f in unknown] == [(key,)] and unknown[0].details["backfill"] is True
    assert "backfill-generation-timestamp" in unknown[0].message and result.failed


def test_a_backfill_digest_signed_with_an_unpublished_key_is_invalid_and_its_log_injected(trail):
    attacker = SigningKey()
    injected = trail.put_log(CHAIN, T0 + timedelta(hours=4, minutes=30), random.Random(9))
    forged, _ = trail.put_digest(CHAIN, T0 + timedelta(hours=4), T0 + timedelta(hours=5), [injected], None,
                                 backfill_generated=GENERATED, signing_key=attacker)
    result = run(trail)
    assert kinds_and_keys(result) == [("injected_log", (injected,)), ("unknown_signing_key", (forged,))]
    assert result.chains[0].backfill_digests_valid == 2 and result.failed


def test_a_backfill_digest_naming_the_published_key_but_signed_by_another_is_invalid(trail):
    attacker = SigningKey()
    key = trail.backfill[1]
    body = trail.digest_body(key)
    body["logFiles"] = []
    forged = trail.signed(body, attacker)
    trail.objects[key] = StoredObject(forged.data, {**trail.objects[key].metadata, "signature":
                                                    forged.metadata["signature"]})
    result = run(trail)
    assert ("invalid_digest_signature", (key,)) in kinds_and_keys(result)
    assert ("injected_log", (trail.late_logs[1],)) in kinds_and_keys(result)


def test_a_backfill_digest_whose_content_changed_is_invalid(trail):
    key = trail.backfill[0]
    body = trail.digest_body(key)
    body["logFiles"][0]["hashValue"] = "0" * 64
    trail.replace_digest_body(key, body)
    result = run(trail)
    assert [f.kind for f in result.findings if f.keys == (key,)] == ["invalid_digest_signature"]
    assert result.findings[0].details["backfill"] is True and result.failed


def test_a_modified_log_that_a_backfill_digest_lists_is_invalid(trail):
    log = trail.late_logs[0]
    trail.objects[log] = StoredObject(gzip.compress(b'{"Records": []}'), {})
    result = run(trail)
    assert kinds_and_keys(result) == [("modified_log", (log,))]
    finding = result.findings[0]
    assert finding.details["backfill"] is True and "backfill digest" in finding.message and result.failed
    assert result.chains[0].logs_vouched_by_backfill == 1


def test_a_deleted_backfill_digest_is_missing_when_the_next_one_links_to_it(trail):
    deleted = trail.backfill[0]
    del trail.objects[deleted]
    result = run(trail)
    missing = [f for f in result.findings if f.kind == "missing_digest"]
    assert [f.keys for f in missing] == [(deleted,)] and missing[0].details["backfill"] is True
    # the log only it listed is vouched for by nothing now, in an hour the standard chain covers
    assert ("injected_log", (trail.late_logs[0],)) in kinds_and_keys(result) and result.failed


def test_a_backfill_digest_replaced_by_a_key_holder_breaks_the_link_of_the_next(trail):
    replaced = trail.backfill[0]
    body = trail.digest_body(replaced)
    body["logFiles"] = []
    trail.replace_digest_body(replaced, body, resign=True, signing_key=trail.new_key)
    result = run(trail)
    links = [f for f in result.findings if f.kind == "chain_link_mismatch"]
    assert {f.keys for f in links} == {(trail.backfill[1], replaced)}
    assert all(f.details["backfill"] is True for f in links) and result.failed


def test_a_backfill_digest_without_its_generation_timestamp_is_malformed(trail):
    key = trail.backfill[1]
    metadata = dict(trail.objects[key].metadata)
    del metadata["backfill-generation-timestamp"]
    trail.objects[key] = StoredObject(trail.objects[key].data, metadata)
    result = run(trail)
    assert ("malformed_digest", (key,)) in kinds_and_keys(result)
    assert "backfill-generation-timestamp" in next(f.message for f in result.findings if f.keys == (key,))


def test_a_standard_digest_deleted_beside_a_valid_backfill_digest_is_still_missing(trail):
    deleted = trail.digests[5]  # ends when the first backfill digest ends
    del trail.objects[deleted]
    result = run(trail)
    assert ("missing_digest", (deleted,)) in kinds_and_keys(result)
    assert all(not f.details.get("backfill") for f in result.findings)


def test_key_searches_for_planted_backfill_digests_are_capped(trail):
    attacker = SigningKey()
    for n in range(MAX_BACKFILL_KEY_SEARCHES + 10):
        trail.put_digest(CHAIN, T0 + timedelta(hours=4), T0 + timedelta(hours=5, minutes=30, seconds=n), [], None,
                         backfill_generated=GENERATED + timedelta(hours=n), signing_key=attacker)
    validator = ChainValidator(CHAIN, LOCATION, WINDOW, trail.keyring("eu-west-1", WINDOW))
    reader = MemoryReader(trail.objects)
    plan = validator.plan_digests(reader.list_keys(LOCATION.digest_day_prefix(CHAIN, T0)))
    windows = validator.backfill_key_windows({key: read_digest(reader, key) for key in plan.to_fetch})
    assert len(windows) == MAX_BACKFILL_KEY_SEARCHES
    assert sum(f.kind in TAMPERING for f in run(trail).findings) == MAX_BACKFILL_KEY_SEARCHES + 10


def test_the_report_counts_backfill_digests_apart(trail):
    trail.objects[trail.late_logs[0]] = StoredObject(gzip.compress(b"{}"), {})
    result = run(trail)
    text = digest_text_report(result, LOCATION, WINDOW, verbose=True)
    assert "7/7 digest files valid" in text and "2/2 backfill digest files valid" in text
    assert "1 by a backfill digest" in text
    report = json.loads(json.dumps(digest_json_report(result, LOCATION, WINDOW)))
    (chain,) = report["chains"]
    assert (chain["backfill_digests_valid"], chain["backfill_digests_checked"]) == (2, 2)
    assert report["log_objects"]["vouched_by_backfill"] == 1
    assert [f["details"]["backfill"] for f in report["findings"]] == [True]
