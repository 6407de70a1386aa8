"""Property tests: whatever bytes or names an attacker writes, the digest and key parsers
answer with a parsed value or the project's own error, and never with anything else."""

import gzip
import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trail_validators.digests.digest import DigestFormatError, parse_digest
from trail_validators.digests.log_files import LogFormatError, log_sha256
from trail_validators.digests.layout import parse_digest_name, parse_log_name, parse_time
from test_digest_chain import CHAIN, LOCATION
from trail_simulation import T0

EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY = LOCATION.digest_key(CHAIN, T0)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30)
DIGEST_FIELDS = ("digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object", "digestPublicKeyFingerprint",
                 "digestSignatureAlgorithm", "previousDigestS3Bucket", "previousDigestS3Object",
                 "previousDigestHashValue", "previousDigestHashAlgorithm", "previousDigestSignature", "logFiles")
TIMES = st.sampled_from(["2026-11-20T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                         "2026-13-01T00:00:00Z", "2026-11-20T00:00:00+14:00", "2026-11-20", "", "Z"])


def _parses_or_refuses(data: bytes, metadata=None) -> None:
    try:
        parse_digest(KEY, data, metadata or {})
    except DigestFormatError:
        pass


@EXAMPLES
@given(st.binary(max_size=2000))
def test_any_bytes_parse_or_are_a_digest_format_error(data):
    _parses_or_refuses(data)
    _parses_or_refuses(gzip.compress(data))


@EXAMPLES
@given(json_values)
def test_any_json_parses_or_is_a_digest_format_error(value):
    _parses_or_refuses(gzip.compress(json.dumps(value).encode()))


@EXAMPLES
@given(st.dictionaries(st.sampled_from(DIGEST_FIELDS), json_values | TIMES, max_size=len(DIGEST_FIELDS)),
       st.dictionaries(st.sampled_from(["signature", "signature-algorithm"]), st.text(max_size=30)))
def test_digest_shaped_json_with_any_field_values_parses_or_is_refused(fields, metadata):
    _parses_or_refuses(gzip.compress(json.dumps(fields).encode()), metadata)


@EXAMPLES
@given(st.integers(min_value=1, max_value=50_000), st.sampled_from(["[", "{\"a\":", "-" * 0 + "9"]))
def test_nesting_and_long_numbers_are_digest_format_errors(depth, opener):
    text = opener * depth if opener != "9" else "9" * depth
    _parses_or_refuses(gzip.compress(text.encode()))


name_alphabet = st.sampled_from(list(string.digits + "_-.TZabcdefgnostu/CloudTrail-Digest" + "\x00é"))
near_names = st.builds(
    lambda base, cut, noise: base[:cut] + noise + base[cut + len(noise):],
    st.sampled_from([KEY, "111111111111_CloudTrail_eu-west-1_20261120T0230Z_abcdefghijklmnop.json.gz"]),
    st.integers(min_value=0, max_value=120), st.text(name_alphabet, max_size=4))


@EXAMPLES
@given(st.text(max_size=200) | near_names)
def test_the_key_parsers_never_raise_and_what_they_parse_is_a_real_time(key):
    digest, log = parse_digest_name(key), parse_log_name(key)
    if digest is not None:
        assert f"{digest.end:%Y%m%dT%H%M%SZ}" in key and digest.trail_name in key
    if log is not None:
        assert f"{log.time:%Y%m%dT%H%MZ}" in key


@EXAMPLES
@given(st.text(max_size=40) | TIMES)
def test_parse_time_returns_a_utc_time_or_raises_value_error(text):
    try:
        parsed = parse_time(text)
    except ValueError:
        return
    assert parsed.utcoffset().total_seconds() == 0 and text.endswith("Z")


@EXAMPLES
@given(st.lists(st.binary(max_size=300), max_size=5))
def test_log_hashing_of_any_chunks_returns_a_hash_or_a_log_format_error(chunks):
    for candidate in (chunks, [gzip.compress(b"".join(chunks))] + chunks[:1]):
        try:
            assert len(log_sha256(candidate)) == 64
        except LogFormatError:
            pass
