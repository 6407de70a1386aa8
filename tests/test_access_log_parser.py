"""The access-log parser: exact on real lines, never fooled by client-controlled text."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from access_log_samples import access_log_line, plain_http_line
from trail_validators.access_log_parser import AccessLogRecord, ParseError, Unparseable, parse_line, parse_lines

SEED_LINES = (Path(__file__).parent / "data" / "seed000_access_log.txt").read_text().splitlines()


def test_seed_000_tlsv1_1_line_parses_exactly():
    record = parse_line(SEED_LINES[0])
    assert record == AccessLogRecord(
        "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", "awsexamplebucket1",
        "06/Feb/2019:00:00:38 +0000", "192.0.2.3",
        "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", "3E57427F3EXAMPLE",
        "REST.GET.VERSIONING", "-", "GET /awsexamplebucket1?versioning HTTP/1.1", "200", "-", "113", "-",
        "7", "-", "-", "S3Console/0.4", "-",
        "s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234=", "SigV2",
        "ECDHE-RSA-AES128-GCM-SHA256", "AuthHeader", "awsexamplebucket1.s3.us-west-1.amazonaws.com",
        "TLSV1.1", "")
    assert record.tls == "TLSv1.1" and record.day == "2019-02-06"


def test_seed_000_cloudtrail_tlsv1_2_line_parses_exactly():
    record = parse_line(SEED_LINES[5])
    assert (record.remote_ip, record.requester, record.operation) == ("-", "svc:cloudtrail.amazonaws.com", "REST.PUT.OBJECT")
    assert record.key.startswith("AWSLogs/116599891045/CloudTrail/ap-northeast-2/2021/07/12/")
    assert (record.http_status, record.object_size, record.cipher_suite, record.tls) == (
        "200", "5831", "ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2")
    assert record.extra == " -"  # the access point ARN column


@pytest.mark.parametrize("line", SEED_LINES)
def test_seed_lines_round_trip(line):
    assert parse_line(line).to_line() == line


def test_plain_http_line_has_no_tls():
    record = parse_line(plain_http_line())
    assert not record.uses_tls and record.tls == "-" and record.cipher_suite == "-"


FORGED_TAIL = '" - x SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader h TLSv1.2 - -'


@pytest.mark.parametrize("field", ["user_agent", "referer"])
def test_crafted_quoted_field_cannot_forge_the_tls_column(field):
    record = parse_line(plain_http_line(**{field: "evil" + FORGED_TAIL}))
    assert record.tls_version == "-" and record.cipher_suite == "-"
    assert FORGED_TAIL in getattr(record, field)


def test_crafted_uri_cannot_forge_the_tls_column():
    record = parse_line(plain_http_line(request_uri="GET /a" + FORGED_TAIL + ' "x'))
    assert record.tls_version == "-"


def test_crafted_status_fields_make_the_line_ambiguous_not_denied():
    # A successful plain-HTTP request whose user-agent pretends the status was 403.
    line = plain_http_line(user_agent='x" 403 AccessDenied 0 - 1 - "-" "y')
    with pytest.raises(ParseError, match="ambiguous"):
        parse_line(line)


def test_requester_with_spaces_is_parsed_by_the_careful_path():
    record = parse_line(access_log_line(requester="arn:aws:sts::111111111111:assumed-role/My Role/s"))
    assert record.requester == "arn:aws:sts::111111111111:assumed-role/My Role/s" and record.tls == "TLSv1.2"


@pytest.mark.parametrize("extra", [(), ("-",), ("-", "Yes"), ("-", "-", "future", "fields")])
def test_missing_or_extra_trailing_fields_are_tolerated(extra):
    record = parse_line(access_log_line(extra=extra))
    assert record.tls == "TLSv1.2" and record.extra == "".join(" " + e for e in extra)


@pytest.mark.parametrize("tls", ["TLSv1.2", "TLSV1.2", "tlsv1.3", "TLSv1", "TLSV1.1"])
def test_tls_spellings_are_normalised(tls):
    assert parse_line(access_log_line(tls=tls)).tls == {"TLSV1.2": "TLSv1.2", "TLSV1.3": "TLSv1.3", "TLSV1": "TLSv1",
                                                         "TLSV1.1": "TLSv1.1"}[tls.upper()]


@pytest.mark.parametrize(("line", "reason"), [
    (access_log_line()[:120], "quoted|parse"),
    ("garbage", "no quoted fields"),
    ('a b "c" d', "after the user-agent"),
    (access_log_line(tls="TLSv9"), "unknown TLS version"),
    (access_log_line(tls="-"), "disagree"),
    (access_log_line(signature="SigV9"), "signature version"),
])
def test_truncated_and_garbage_lines_are_unparseable_with_a_reason(line, reason):
    with pytest.raises(ParseError, match=reason):
        parse_line(line)


def test_parse_lines_counts_unparseable_and_skips_blank_lines():
    entries = list(parse_lines([SEED_LINES[0], "", "garbage", SEED_LINES[1] + "\n"]))
    assert [type(e) for e in entries] == [AccessLogRecord, Unparseable, AccessLogRecord]
    assert entries[1].line_number == 3 and entries[1].reason == "no quoted fields"


field_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=40)
token = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+", min_size=1, max_size=20)


@settings(max_examples=300, deadline=None)
@given(uri=field_text, referer=field_text, user_agent=field_text, requester=token, key=token,
       tls=st.sampled_from(["TLSv1.2", "TLSV1.1", "TLSv1.3", "-"]),
       extra=st.lists(token, max_size=4))
def test_parser_never_crashes_and_never_lets_quoted_text_decide_tls(uri, referer, user_agent, requester, key, tls, extra):
    cipher = "-" if tls == "-" else "ECDHE-RSA-AES128-GCM-SHA256"
    line = access_log_line(request_uri=uri, referer=referer, user_agent=user_agent, requester=requester,
                           key=key, tls=tls, cipher=cipher, extra=tuple(extra))
    try:
        record = parse_line(line)
    except ParseError:
        return  # reported as unparseable: never counted as secure
    assert record.tls_version == tls and record.cipher_suite == cipher
    assert record.to_line() == line


@settings(max_examples=300, deadline=None)
@given(uri=field_text.filter(lambda s: '"' not in s), referer=field_text.filter(lambda s: '"' not in s),
       user_agent=field_text.filter(lambda s: '"' not in s), key=token)
def test_lines_without_inner_quotes_always_parse_and_round_trip(uri, referer, user_agent, key):
    line = access_log_line(request_uri=uri, referer=referer, user_agent=user_agent, key=key)
    record = parse_line(line)
    assert (record.request_uri, record.referer, record.user_agent, record.key) == (uri, referer, user_agent, key)
    assert record.to_line() == line


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_is_refused_never_crashes(text):
    for entry in parse_lines(text.splitlines()):
        assert isinstance(entry, (AccessLogRecord, Unparseable))
