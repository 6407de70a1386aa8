"""Findings and evidence from access-log records."""

import gzip
import tracemalloc

import pytest

from access_log_samples import OWNER, access_log_line, plain_http_line, unquoted_line
from trail_validators.access_logs import stream as access_log_stream
from trail_validators.access_logs.audit import (FAIL, MAX_EVIDENCE_ROWS, MAX_FIELD_CHARS, MAX_FINDINGS_KEPT,
                                                MEMORY_BUDGET_BYTES, NOTHING_AUDITED, OTHER, AuditPolicy, AuditResult,
                                                audit_lines, audit_object)
from trail_validators.access_logs.stream import MAX_LINE_BYTES, MAX_OBJECT_BYTES
from trail_validators.findings import Severity


def kinds(result):
    return [(f.kind, f.severity) for f in result.findings]


def test_tls_1_2_requests_are_clean_and_counted():
    result = audit_lines([access_log_line(), access_log_line(tls="TLSv1.3")], AuditPolicy())
    assert result.findings == []
    assert dict(result.summary.by_tls_version) == {"TLSv1.2": 1, "TLSv1.3": 1}


def test_successful_plain_http_request_is_critical_with_who_what_and_key():
    result = audit_lines([plain_http_line(requester="arn:aws:iam::1:user/bob", operation="REST.GET.OBJECT",
                                          key="AWSLogs/x.json.gz")], AuditPolicy(), "obj")
    (finding,) = result.findings
    assert (finding.kind, finding.severity) == ("non_tls_success", Severity.CRITICAL)
    assert finding.keys == ("AWSLogs/x.json.gz",)
    assert finding.details["requester"] == "arn:aws:iam::1:user/bob" and finding.details["http_status"] == "200"
    assert "without TLS" in finding.message and "REST.GET.OBJECT" in finding.message


def test_denied_plain_http_request_is_evidence_that_the_deny_works():
    result = audit_lines([plain_http_line(status="403", error_code="AccessDenied")], AuditPolicy())
    assert kinds(result) == [("non_tls_denied", Severity.INFO)]


def test_request_below_minimum_tls_is_a_finding_and_the_minimum_is_configurable():
    line = access_log_line(tls="TLSV1.1")
    assert kinds(audit_lines([line], AuditPolicy())) == [("weak_tls_success", Severity.HIGH)]
    assert kinds(audit_lines([access_log_line(tls="TLSv1.2")], AuditPolicy(min_tls="TLSv1.3"))) == [
        ("weak_tls_success", Severity.HIGH)]
    assert kinds(audit_lines([line], AuditPolicy(min_tls="TLSv1.1"))) == []


def test_bad_minimum_tls_is_refused():
    with pytest.raises(ValueError, match="not a TLS version"):
        AuditPolicy(min_tls="TLSv2")


@pytest.mark.parametrize("operation", ["REST.DELETE.OBJECT", "REST.POST.MULTI_OBJECT_DELETE"])
def test_deletion_by_an_unexpected_principal_is_a_finding(operation):
    result = audit_lines([access_log_line(operation=operation, requester="arn:aws:iam::1:user/mallory")], AuditPolicy())
    assert kinds(result) == [("unexpected_deletion", Severity.HIGH)]


def test_batch_delete_line_with_bare_dash_fields_is_a_deletion_finding():
    result = audit_lines([unquoted_line(requester="arn:aws:iam::1:user/mallory")], AuditPolicy())
    assert kinds(result) == [("unexpected_deletion", Severity.HIGH)]
    assert result.summary.unparseable == 0


@pytest.mark.parametrize("operation", ["REST.PUT.BUCKETPOLICY", "REST.DELETE.BUCKETPOLICY", "REST.PUT.ACL",
                                       "REST.PUT.LOGGING_STATUS", "REST.PUT.VERSIONING"])
def test_policy_acl_and_logging_changes_by_unexpected_principals_are_findings(operation):
    result = audit_lines([access_log_line(operation=operation, requester="arn:aws:iam::1:user/mallory")], AuditPolicy())
    assert kinds(result) == [("unexpected_change", Severity.HIGH)]


def test_expected_principals_may_change_settings_and_denied_attempts_are_medium():
    deployer = "arn:aws:sts::1:assumed-role/Deployer/cfn"
    policy = AuditPolicy(expected_principals=("arn:aws:sts::1:assumed-role/Deployer/*",))
    assert audit_lines([access_log_line(operation="REST.PUT.BUCKETPOLICY", requester=deployer)], policy).findings == []
    denied = access_log_line(operation="REST.DELETE.OBJECT", requester="x", status="403")
    assert kinds(audit_lines([denied], policy)) == [("unexpected_deletion", Severity.MEDIUM)]


def test_cloudtrail_writes_are_not_changes():
    assert audit_lines([access_log_line(operation="REST.PUT.OBJECT")], AuditPolicy()).findings == []


def test_unparseable_lines_are_findings_never_secure():
    result = audit_lines(["garbage", access_log_line()], AuditPolicy(), "f.log")
    assert kinds(result) == [("unparseable_line", Severity.MEDIUM)]
    assert result.summary.unparseable == 1 and result.summary.records == 1 and result.summary.lines == 2
    assert dict(result.summary.unparseable_reasons) == {
        "no quoted fields, and the fields before the request-URI do not parse": 1}


def test_summary_counts_by_tls_cipher_requester_operation_and_day():
    lines = [access_log_line(), access_log_line(time="13/Jul/2021:00:00:01 +0000", operation="REST.GET.OBJECT"),
             plain_http_line(status="403")]
    summary = audit_lines(lines, AuditPolicy()).summary
    assert dict(summary.by_tls_version) == {"TLSv1.2": 2, "-": 1}
    assert dict(summary.by_cipher) == {"ECDHE-RSA-AES128-GCM-SHA256": 2, "-": 1}
    assert dict(summary.by_operation) == {"REST.PUT.OBJECT": 2, "REST.GET.OBJECT": 1}
    assert dict(summary.by_day) == {"2021-07-12": 2, "2021-07-13": 1}
    assert dict(summary.by_requester) == {"svc:cloudtrail.amazonaws.com": 3}


def test_bucket_and_day_filters_skip_records_out_of_scope():
    lines = [plain_http_line(bucket="other"), plain_http_line(time="01/Jan/2020:00:00:00 +0000"), plain_http_line()]
    result = audit_lines(lines, AuditPolicy(bucket="trail-bucket", since="2021-07-01", until="2021-07-31"))
    assert len(result.findings) == 1 and result.summary.skipped == 2


# -- one object's bytes in: records split on "\n" only -------------------------------------

def forged_pair(separator: str) -> str:
    """A successful plain-HTTP GET whose user-agent holds a line break, a forged TLS tail
    before it and, after it, a forged start of a request to another bucket."""
    forged_tail = 'x" - id SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader h TLSv1.2 - -'
    forged_head = plain_http_line(bucket="other-bucket").split(' "-" "-"')[0] + ' "-" "z'
    return plain_http_line(operation="REST.GET.OBJECT", user_agent=forged_tail + separator + forged_head)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\v", "\f", "\x1c", "\r"])
def test_a_line_break_in_a_user_agent_cannot_turn_plain_http_into_a_pass(separator):
    data = (forged_pair(separator) + "\n").encode()
    result = audit_object([data], AuditPolicy(bucket="trail-bucket"))
    assert kinds(result) == [("non_tls_success", Severity.CRITICAL)]
    assert result.summary.lines == 1 and dict(result.summary.by_tls_version) == {"-": 1}


# -- nothing audited is never a pass -------------------------------------------------------

@pytest.mark.parametrize(("data", "policy", "why"), [
    (b"", AuditPolicy(), "hold no lines"),
    (b"\n\n", AuditPolicy(), "none is a request"),
    ((plain_http_line() + "\n").encode(), AuditPolicy(bucket="another-bucket"), "1 outside the bucket"),
    ((plain_http_line() + "\n").encode(), AuditPolicy(since="2030-01-01"), "1 outside the bucket or days"),
])
def test_an_audit_of_no_request_is_never_a_pass(data, policy, why):
    result = audit_object([data], policy, "obj")
    assert result.verdict == NOTHING_AUDITED and why in result.why_nothing_audited()
    assert AuditResult().verdict == NOTHING_AUDITED


def test_findings_fail_even_when_no_request_was_audited():
    result = audit_lines(["garbage"], AuditPolicy())
    assert result.verdict == FAIL and result.summary.records == 0


def test_since_after_until_is_refused():
    with pytest.raises(ValueError, match="after until"):
        AuditPolicy(since="2026-02-01", until="2026-01-31")


# -- bounded memory: bombs are findings within the budget ---------------------------------

def gzip_bomb(unit: bytes, size: int) -> bytes:
    """Gzip members of 16 MiB of unit each (concatenated members are one gzip stream)."""
    member = gzip.compress(unit * (2**24 // len(unit)), 9)
    return member * (size // 2**24)


def audited_within_budget(data: bytes):
    """Audit in 256 KiB chunks as the readers deliver them; the peak of Python allocations."""
    chunks = (data[i:i + 2**18] for i in range(0, len(data), 2**18))
    tracemalloc.start()
    try:
        result = audit_object(chunks, AuditPolicy(), "bomb")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def test_a_gzip_bomb_is_a_finding_within_the_memory_budget():
    bomb = gzip_bomb(b"\0", 2**30)  # about 1 MB that inflates to 1 GiB
    assert len(bomb) < 2**21
    result, peak = audited_within_budget(bomb)
    assert peak < MEMORY_BUDGET_BYTES
    (finding,) = [f for f in result.findings if f.kind == "oversized_log_object"]
    assert finding.severity == Severity.HIGH and f"more than {MAX_OBJECT_BYTES:,} bytes" in finding.message


def test_a_bomb_of_bad_requests_keeps_findings_bounded_and_counts_exact():
    line = (plain_http_line(key="k" * 5000) + "\n").encode()
    result, peak = audited_within_budget(gzip_bomb(line, 16 * 2**20))
    assert peak < MEMORY_BUDGET_BYTES
    total = result.summary.findings_by_kind["non_tls_success"]
    assert total == result.summary.records > 3 * MAX_FINDINGS_KEPT
    kept = [f for f in result.findings if f.kind == "non_tls_success"]
    assert len(kept) == MAX_FINDINGS_KEPT and len(kept[0].details["key"]) < MAX_FIELD_CHARS + 50


def test_objects_past_the_line_cap_are_cut(monkeypatch):
    monkeypatch.setattr(access_log_stream, "MAX_OBJECT_LINES", 100)
    result = audit_object([b"x\n" * 10**6], AuditPolicy(), "tiny-lines")  # counted a batch (256 KiB) at a time
    (cut,) = [f for f in result.findings if f.kind == "oversized_log_object"]
    assert "more than 100 lines" in cut.message and 100 < result.summary.lines <= 2**17


def test_an_overlong_line_is_unparseable_and_the_rest_is_audited():
    data = "\n".join([access_log_line(), plain_http_line(user_agent="u" * MAX_LINE_BYTES), plain_http_line()]).encode()
    result = audit_object([data], AuditPolicy(), "f.log")
    assert kinds(result) == [("unparseable_line", Severity.MEDIUM), ("non_tls_success", Severity.CRITICAL)]
    assert result.findings[0].details["line_number"] == 2 and "longer than" in result.findings[0].details["reason"]
    assert result.findings[1].details["source"] == "f.log" and result.summary.records == 2


def test_corrupt_gzip_is_a_finding_with_the_lines_before_it_audited():
    data = gzip.compress((plain_http_line() + "\n" + access_log_line() + "\n").encode())[:-10]
    result = audit_object([data], AuditPolicy(), "bad.gz")
    assert kinds(result) == [("non_tls_success", Severity.CRITICAL), ("corrupt_log_object", Severity.HIGH)]
    assert "ends early" in result.findings[1].message


def test_evidence_tables_keep_bounded_rows_and_exact_totals():
    lines = [access_log_line(requester=f"arn:aws:iam::1:user/u{i}") for i in range(3 * MAX_EVIDENCE_ROWS)]
    summary = audit_lines(lines, AuditPolicy()).summary
    assert len(summary.by_requester) == MAX_EVIDENCE_ROWS and OTHER in summary.by_requester
    assert sum(summary.by_requester.values()) == 3 * MAX_EVIDENCE_ROWS


# -- an ambiguity that decides nothing is no alarm ---------------------------------------

def test_an_ambiguity_that_decides_nothing_raises_no_alarm():
    line = access_log_line(referer='see "a" "b"', user_agent='agent "x" "y"')
    result = audit_lines([line], AuditPolicy())
    assert result.findings == [] and result.summary.records == 1 and result.summary.uncertain_boundaries == 1
    plain = audit_lines([plain_http_line(referer='see "a" "b"', user_agent='agent "x" "y"')], AuditPolicy())
    assert kinds(plain) == [("non_tls_success", Severity.CRITICAL)]
    assert plain.findings[0].details["uncertain_fields"] == "referer user_agent"


def test_a_merged_total_keeps_bounded_findings_and_exact_counts():
    total = AuditResult()
    for _ in range(3):
        total.merge(audit_lines([plain_http_line()] * MAX_FINDINGS_KEPT, AuditPolicy()))
    assert len(total.findings) == MAX_FINDINGS_KEPT
    assert total.summary.findings_by_kind["non_tls_success"] == total.summary.records == 3 * MAX_FINDINGS_KEPT
    assert total.summary.objects == 3


# -- actions S3 logs for itself ------------------------------------------------------------

def lifecycle_line(operation: str, requester: str = "AmazonS3") -> str:
    return (f"{OWNER} trail-bucket [12/Jul/2021:06:46:24 +0000] - {requester} 3E57427F3EXAMPLE {operation} "
            "AWSLogs/x.json.gz - - - - 123 - - - - - k8K= - - - - - - -")


@pytest.mark.parametrize("operation", ["S3.EXPIRE.OBJECT", "S3.TRANSITION_SIA.OBJECT", "S3.TRANSITION.OBJECT",
                                       "S3.CREATE.DELETEMARKER"])
@pytest.mark.parametrize("requester", ["AmazonS3", "-"])
def test_lifecycle_actions_of_s3_itself_are_not_plain_http_requests(operation, requester):
    result = audit_lines([lifecycle_line(operation, requester)], AuditPolicy())
    assert result.findings == []
    assert (result.summary.s3_internal, result.summary.records) == (1, 0)
    assert "-" not in result.summary.by_tls_version and result.summary.by_operation[operation] == 1
    assert result.verdict == NOTHING_AUDITED and "actions of S3 itself" in result.why_nothing_audited()


def test_a_client_request_claiming_to_be_amazon_s3_still_gets_its_tls_verdict():
    line = plain_http_line(requester="AmazonS3", operation="REST.GET.OBJECT")
    result = audit_lines([line], AuditPolicy())
    assert kinds(result) == [("non_tls_success", Severity.CRITICAL)] and result.summary.s3_internal == 0
