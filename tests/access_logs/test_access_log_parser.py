"""The access-log parser: exact on real lines, never fooled by client-controlled text."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from access_log_samples import OWNER, access_log_line, plain_http_line, unquoted_line
from trail_validators.access_logs.parser import AccessLogRecord, ParseError, Unparseable, parse_line, parse_lines

EVIDENCE_LINES = (Path(__file__).parent / "data" / "tls_evidence_access_log.txt").read_text().splitlines()


def test_seed_000_tlsv1_1_line_parses_exactly():
    record = parse_line(EVIDENCE_LINES[0])
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
    record = parse_line(EVIDENCE_LINES[5])
    assert (record.remote_ip, record.requester, record.operation) == ("-", "svc:cloudtrail.amazonaws.com", "REST.PUT.OBJECT")
    assert record.key.startswith("AWSLogs/116599891045/CloudTrail/ap-northeast-2/2021/07/12/")
    assert (record.http_status, record.object_size, record.cipher_suite, record.tls) == (
        "200", "5831", "ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2")
    assert record.extra == " -"  # the access point ARN column


@pytest.mark.parametrize("line", EVIDENCE_LINES)
def test_seed_lines_round_trip(line):
    assert parse_line(line).to_line() == line


@pytest.mark.parametrize("line", [access_log_line(), access_log_line(extra=()), plain_http_line(referer='a" "b')])
def test_a_trailing_carriage_return_is_not_part_of_the_record(line):
    assert parse_line(line + "\r") == parse_line(line + "\r\n") == parse_line(line)
    assert [entry.to_line() for entry in parse_lines([line + "\r", "\r"])] == [line]


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
    entries = list(parse_lines([EVIDENCE_LINES[0], "", "garbage", EVIDENCE_LINES[1] + "\n"]))
    assert [type(e) for e in entries] == [AccessLogRecord, Unparseable, AccessLogRecord]
    assert entries[1].line_number == 3 and entries[1].reason.startswith("no quoted fields")


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




# -- an ambiguity that decides nothing ---------------------------------------------------

VERDICT_FIELDS = ("bucket", "time", "requester", "operation", "key", "http_status", "cipher_suite", "tls_version")


@pytest.mark.parametrize(("referer", "user_agent"), [
    ('he said "a" "b"', 'Mozilla "x" "y"'),
    ('x" "y', 'z" "w'),
    ('" "', '" "'),
    ('" ', ''),
])
def test_quotes_in_referer_and_user_agent_leave_the_verdict_fields_certain(referer, user_agent):
    line = plain_http_line(referer=referer, user_agent=user_agent)
    record, certain = parse_line(line), parse_line(plain_http_line())
    assert [getattr(record, f) for f in VERDICT_FIELDS] == [getattr(certain, f) for f in VERDICT_FIELDS]
    assert record.uncertain == "referer user_agent"
    assert record.referer + '" "' + record.user_agent == referer + '" "' + user_agent
    assert record.to_line() == line


def test_status_lookalikes_that_agree_with_the_status_leave_it_certain():
    # The user-agent repeats the real status fields: wherever the URI ends, the status is 200.
    line = plain_http_line(user_agent='x" 200 - - 5831 24 14 "-" "y')
    record = parse_line(line)
    assert (record.http_status, record.tls_version) == ("200", "-")
    assert record.uncertain == "request_uri referer user_agent" and record.to_line() == line


def test_a_certain_line_is_not_marked_uncertain():
    assert parse_line(plain_http_line(referer='a"b', user_agent='c"d')).uncertain == ""
    assert parse_line(access_log_line()).uncertain == ""


# -- fuzz: what a client writes never decides a verdict ---------------------------------------

quoted_text = st.text(alphabet=st.sampled_from(list('ab 0123456789-"TLSv.SigV4AuthHeader\u2028\x0b')), max_size=60)


@settings(max_examples=300, deadline=None)
@given(uri=quoted_text, referer=quoted_text, user_agent=quoted_text,
       status=st.sampled_from(["200", "403", "500", "-"]), tls=st.sampled_from(["TLSv1.2", "TLSV1.1", "-"]),
       requester=st.sampled_from(["svc:cloudtrail.amazonaws.com", "arn:aws:sts::1:assumed-role/My Role/s"]))
def test_quoted_text_never_decides_a_verdict_field_and_parsed_lines_round_trip(uri, referer, user_agent, status,
                                                                             tls, requester):
    cipher = "-" if tls == "-" else "ECDHE-RSA-AES128-GCM-SHA256"
    truth = dict(request_uri=uri, referer=referer, user_agent=user_agent, status=status, tls=tls, cipher=cipher,
                 requester=requester)
    line = access_log_line(**truth)
    try:
        record = parse_line(line)
    except ParseError:
        return  # unparseable: reported, never counted as secure
    expected = parse_line(access_log_line(requester=requester, status=status, tls=tls, cipher=cipher))
    assert [getattr(record, f) for f in VERDICT_FIELDS] == [getattr(expected, f) for f in VERDICT_FIELDS]
    assert record.to_line() == line
    if not record.uncertain:
        assert (record.request_uri, record.referer, record.user_agent) == (uri, referer, user_agent)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.integers(1, 10))
def test_any_text_gives_records_or_unparseable_entries_never_another_error(text, first_number):
    for entry in parse_lines(text.split("\n"), first_number):
        assert isinstance(entry, (AccessLogRecord, Unparseable))
        if isinstance(entry, Unparseable):
            assert entry.line_number >= first_number


def test_with_a_dash_uri_the_status_is_where_s3_wrote_it_whatever_the_user_agent_says():
    line = plain_http_line(request_uri="-", user_agent='x" 403 AccessDenied 0 - 1 - "-" "y')
    line = line.replace('"-" 200', "- 200", 1)  # an unquoted "-" URI, as S3 writes for no URI
    record = parse_line(line)
    assert (record.request_uri, record.http_status, record.tls_version) == ("-", "200", "-")
    assert record.uncertain == "referer user_agent"


line_kinds = st.one_of(
    st.builds(lambda ua, tls: access_log_line(user_agent=ua, tls=tls, cipher="-" if tls == "-" else "AES"),
              quoted_text, st.sampled_from(["TLSv1.2", "-", "TLSv9"])),
    st.builds(lambda text: plain_http_line(key=text.replace(" ", "_") or "k"),
              st.text(alphabet=st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=20)),
    st.text(alphabet=st.sampled_from(list('a "-[]\r\u2028')), max_size=40),
    st.just(""), st.just(access_log_line() + "\r"))


def one_by_one(lines: list[str]) -> list:
    """Each line with parse_line, numbered: what parsing in blocks must give."""
    entries = []
    for number, line in enumerate(lines, 1):
        if line.rstrip("\r"):
            try:
                entries.append(parse_line(line))
            except ParseError as error:
                entries.append(Unparseable(number, str(error), line.rstrip("\r")))
    return entries


@settings(max_examples=300, deadline=None)
@given(st.lists(line_kinds, min_size=1, max_size=8), st.data())
def test_lines_parsed_in_batches_give_what_each_line_gives_alone(lines, data):
    cuts = sorted(data.draw(st.sets(st.integers(1, len(lines) - 1), max_size=3))) if len(lines) > 1 else []
    entries = []
    for start, stop in zip([0, *cuts], [*cuts, len(lines)]):
        entries += parse_lines(lines[start:stop], start + 1)
    assert entries == one_by_one(lines)


@pytest.mark.parametrize("operation", ["BATCH.DELETE.OBJECT", "REST.COPY.OBJECT_GET"])
def test_lines_with_bare_dash_uri_referer_and_user_agent_parse(operation):
    record = parse_line(unquoted_line(operation=operation))
    assert (record.operation, record.request_uri, record.referer, record.user_agent) == (operation, "-", "-", "-")
    assert (record.http_status, record.tls, record.extra) == ("204", "TLSv1.2", " - -")


def test_lifecycle_line_written_by_s3_itself_parses():
    line = (f"{OWNER} trail-bucket [12/Jul/2021:06:46:24 +0000] - AmazonS3 3E57427F3EXAMPLE S3.EXPIRE.OBJECT "
            "photos/a.jpg - - - - 123 - - - - - k8K= - - - - - - -")
    record = parse_line(line)
    assert (record.requester, record.operation, record.object_size, record.uses_tls) == (
        "AmazonS3", "S3.EXPIRE.OBJECT", "123", False)


def test_bare_dash_line_with_a_wrong_middle_is_unparseable_with_a_reason():
    line = unquoted_line().replace(" 204 ", " 2x4 ")
    [entry] = parse_lines([line])
    assert isinstance(entry, Unparseable) and "request-URI to user-agent" in entry.reason
