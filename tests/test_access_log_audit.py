"""Findings and evidence from access-log records."""

import pytest

from access_log_samples import access_log_line, plain_http_line
from trail_validators.access_log_audit import AuditPolicy, audit_lines
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
    assert dict(result.summary.unparseable_reasons) == {"no quoted fields": 1}


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
