"""The digest-chain validator on real signed data: one test per way to tamper."""

import gzip
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes

from trail_simulation import T0, SigningKey, SimulatedTrail
from trail_validators.digests.chain import TAMPERING, StoredObject, Window
from trail_validators.digests.layout import ChainId, TrailLocation
from trail_simulation import MemoryReader
from trail_validators.digests.run import discover_chains, validate_trail

LOCATION = TrailLocation("trail-bucket", None, "o-a1b2c3d4e5", "org-trail", "eu-west-1")
CHAIN = ChainId("111111111111", "eu-west-1")
# Digests end a few seconds after each hour: the one ending just after T0 is the anchor.
WINDOW = Window(T0 + timedelta(minutes=5), T0 + timedelta(hours=6, minutes=20))


@pytest.fixture
def trail():
    sim = SimulatedTrail(LOCATION)
    # From 2 h before the window to the digest after it, which covers the window's last hour.
    sim.digests = sim.deliver(CHAIN, T0 - timedelta(hours=2), 9, logs_per_hour=3)
    sim.in_window = sim.digests[2:]
    return sim


def run(sim, window=WINDOW, chains=(CHAIN,)):
    return validate_trail(MemoryReader(sim.objects), LOCATION, list(chains), window, lambda region, w: sim.public_keys)


def findings(sim, **kwargs):
    return [(f.kind, f.keys) for f in run(sim, **kwargs).findings]


def logs_of(sim, digest_key):
    return [entry["s3Object"] for entry in sim.digest_body(digest_key)["logFiles"]]


def test_clean_chain_is_valid_and_every_object_is_counted(trail):
    result = run(trail)
    assert result.findings == [] and not result.failed
    (chain,) = result.chains
    # 7 digests: 6 end in the window, 1 after it; 20 logs: 18 listed by the 6, 2 in the last 20 minutes
    assert (chain.digests_valid, chain.logs_valid) == (7, 20)
    assert chain.log_objects == chain.logs_vouched == 19 and chain.logs_not_vouched == 0
    assert chain.newest.key == trail.digests[-1]


def test_modified_log_is_named(trail):
    log = logs_of(trail, trail.in_window[1])[0]
    trail.objects[log] = StoredObject(gzip.compress(b'{"Records": []}'), {})
    assert findings(trail) == [("modified_log", (log,))]


def test_deleted_log_is_named(trail):
    log = logs_of(trail, trail.in_window[2])[1]
    del trail.objects[log]
    assert findings(trail) == [("missing_log", (log,))]


def test_log_regzipped_with_the_same_content_is_valid(trail):
    log = logs_of(trail, trail.in_window[0])[0]
    content = gzip.decompress(trail.objects[log].data)
    trail.objects[log] = StoredObject(gzip.compress(content, compresslevel=1, mtime=12345), {})
    assert findings(trail) == []


def test_log_with_a_trailing_gzip_member_is_invalid(trail):
    log = logs_of(trail, trail.in_window[0])[0]
    trail.objects[log] = StoredObject(trail.objects[log].data + gzip.compress(b'{"Records": [{"evil": 1}]}'), {})
    result = run(trail)
    assert [(f.kind, f.keys) for f in result.findings] == [("modified_log", (log,))]
    assert "after the end of the gzip stream" in result.findings[0].message


def test_injected_log_is_named(trail):
    reference = logs_of(trail, trail.in_window[1])[0]
    injected = reference.replace(reference.rsplit("_", 1)[1], "INJECTEDxxxxxxxx.json.gz")
    trail.objects[injected] = trail.objects[reference]
    assert findings(trail) == [("injected_log", (injected,))]


def test_one_deleted_digest_is_reported(trail):
    deleted = trail.in_window[2]
    del trail.objects[deleted]
    assert [(k, keys) for k, keys in findings(trail) if k in TAMPERING] == [("missing_digest", (deleted,))]


def test_two_consecutive_deleted_digests_are_both_reported(trail):
    for deleted in trail.in_window[2:4]:
        del trail.objects[deleted]
    result = run(trail)
    missing = [f for f in result.findings if f.kind == "missing_digest"]
    assert len(missing) == 2
    assert missing[0].keys == (trail.in_window[3],)  # named by the digest that links to it
    assert missing[1].details["expected_end"].startswith((T0 + timedelta(hours=3)).strftime("%Y-%m-%dT%H"))
    # their logs cannot be vouched for, and are said to be in the gap (not injected)
    assert {f.kind for f in result.findings} == {"missing_digest", "unverifiable_log"}


def test_newest_digest_deleted_is_reported(trail):
    del trail.objects[trail.digests[-1]]
    result = run(trail)
    kinds = [f.kind for f in result.findings]
    assert kinds.count("missing_newest_digest") == 1 and result.failed


def test_two_newest_digests_deleted_are_both_reported(trail):
    for key in trail.digests[-2:]:
        del trail.objects[key]
    assert [f.kind for f in run(trail).findings].count("missing_newest_digest") == 2


def test_digest_content_modified_breaks_its_signature(trail):
    key = trail.in_window[1]
    body = trail.digest_body(key)
    body["logFiles"] = body["logFiles"][1:]  # hide a log file
    trail.replace_digest_body(key, body)
    kinds = findings(trail)
    assert ("invalid_digest_signature", (key,)) in kinds


def test_previous_hash_edited_after_signing_breaks_the_signature(trail):
    key = trail.in_window[3]
    body = trail.digest_body(key)
    body["previousDigestHashValue"] = "0" * 64
    trail.replace_digest_body(key, body)
    assert ("invalid_digest_signature", (key,)) in findings(trail)


@pytest.mark.parametrize("field", ["previousDigestHashValue", "previousDigestSignature"])
def test_correctly_signed_digest_with_a_wrong_link_is_caught(trail, field):
    """What the AWS CLI never checks: a digest re-signed by a key holder that does not
    link to the real previous digest."""
    key = trail.in_window[3]
    body = trail.digest_body(key)
    body[field] = "ab" * 32 if field == "previousDigestHashValue" else "cd" * 256
    trail.replace_digest_body(key, body, resign=True)
    found = findings(trail)
    assert found[0] == ("chain_link_mismatch", (key, trail.in_window[2]))
    assert {kind for kind, _ in found} == {"chain_link_mismatch"}  # the next digest's link breaks too


def test_digest_signed_by_an_unknown_key_is_invalid(trail):
    key = trail.in_window[1]
    other = SigningKey()
    body = trail.digest_body(key)
    body["digestPublicKeyFingerprint"] = other.fingerprint
    trail.objects[key] = trail.signed(body, key=other)
    assert ("unknown_signing_key", (key,)) in findings(trail)


def test_forged_digest_claiming_the_published_fingerprint_is_invalid(trail):
    key = trail.in_window[1]
    trail.objects[key] = trail.signed(trail.digest_body(key), key=SigningKey())
    assert ("invalid_digest_signature", (key,)) in findings(trail)


def test_missing_signature_metadata_is_invalid(trail):
    key = trail.in_window[1]
    trail.objects[key] = StoredObject(trail.objects[key].data, {})
    assert ("missing_signature", (key,)) in findings(trail)


def test_replayed_digest_at_another_key_is_invalid(trail):
    # An old digest copied over a deleted newer one.
    target = trail.in_window[3]
    trail.objects[target] = trail.objects[trail.in_window[1]]
    assert ("digest_moved", (target,)) in findings(trail)


@pytest.mark.parametrize("algorithm", [hashes.SHA1(), hashes.MD5(), hashes.SHA512()])
def test_signature_over_another_hash_is_refused(trail, algorithm):
    key = trail.in_window[1]
    trail.objects[key] = trail.signed(trail.digest_body(key), algorithm=algorithm)
    assert ("invalid_digest_signature", (key,)) in findings(trail)


def test_signature_algorithm_metadata_other_than_sha256withrsa_is_refused(trail):
    key = trail.in_window[1]
    stored = trail.objects[key]
    trail.objects[key] = StoredObject(stored.data, {**stored.metadata, "signature-algorithm": "SHA1withRSA"})
    assert ("invalid_digest_signature", (key,)) in findings(trail)


def test_stopped_logging_is_a_reported_gap_not_tampering():
    sim = SimulatedTrail(LOCATION)
    sim.deliver(CHAIN, T0 - timedelta(hours=2), 9, logs_per_hour=2, stopped_hours=frozenset({4, 5}))
    result = run(sim)
    assert [f.kind for f in result.findings] == ["chain_gap"] and not result.failed
    assert "stopped after" in result.findings[0].message


@pytest.mark.parametrize(("mangle", "reason"), [
    (lambda data: b"not gzip at all", "not gzip"),
    (lambda data: gzip.compress(b"{not json"), "not JSON"),
    (lambda data: data + b"trailing", "after the end of the gzip stream"),
    (lambda data: data[:-10], "truncated"),
    (lambda data: gzip.compress(b"[1, 2]"), "not a JSON object"),
    (lambda data: gzip.compress(b"0" * (65 * 1024 * 1024)), "gzip bomb"),
])
def test_malformed_digest_is_invalid_with_the_reason(trail, mangle, reason):
    key = trail.in_window[1]
    trail.objects[key] = StoredObject(mangle(trail.objects[key].data), trail.objects[key].metadata)
    (finding,) = [f for f in run(trail).findings if f.kind == "malformed_digest"]
    assert finding.keys == (key,) and reason in finding.message


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("digestEndTime", "", "digestEndTime is missing"), ("logFiles", {}, "logFiles is not a list"),
    ("previousDigestSignature", None, "all null"), ("digestSignatureAlgorithm", "SHA1withRSA", "SHA256withRSA"),
    ("digestStartTime", "yesterday", "not a timestamp"),
])
def test_digest_fields_are_checked_strictly(trail, field, value, reason):
    key = trail.in_window[1]
    body = trail.digest_body(key)
    body[field] = value
    trail.replace_digest_body(key, body, resign=True)
    (finding,) = [f for f in run(trail).findings if f.kind == "malformed_digest"]
    assert reason in finding.message


def test_every_account_and_region_in_one_run():
    sim = SimulatedTrail(LOCATION)
    chains = [ChainId(account, region) for account in ("111111111111", "222222222222", "333333333333")
              for region in ("eu-west-1", "us-east-1")]
    for chain in chains:
        sim.deliver(chain, T0 - timedelta(hours=1), 8)
    victim = [k for k in sim.objects if "/222222222222/CloudTrail/us-east-1/" in k][3]
    del sim.objects[victim]
    reader = MemoryReader(sim.objects)
    assert discover_chains(reader, LOCATION) == chains
    result = run(sim, chains=chains)
    assert len(result.chains) == 6 and sum(c.digests_valid for c in result.chains) == 42
    assert [(f.kind, f.keys, f.details["account"], f.details["region"]) for f in result.findings] == [
        ("missing_log", (victim,), "222222222222", "us-east-1")]
