"""Audit of S3 server access log records: TLS findings, tampering-shaped requests and
an evidence summary. Pure: records in, findings and counts out."""

from __future__ import annotations

import fnmatch
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from .access_log_parser import TLS_VERSIONS, AccessLogRecord, Unparseable, parse_lines
from .findings import Finding, Severity

DEFAULT_MIN_TLS = "TLSv1.2"
DELETIONS = frozenset(("REST.DELETE.OBJECT", "REST.POST.MULTI_OBJECT_DELETE", "BATCH.DELETE.OBJECT",
                       "REST.DELETE.BUCKET"))
# Mutations that are ordinary uploads, not changes of what protects the logs.
UPLOADS = frozenset(("REST.PUT.OBJECT", "REST.PUT.PART", "REST.POST.UPLOADS", "REST.POST.UPLOAD",
                     "REST.POST.OBJECT", "REST.COPY.OBJECT", "REST.COPY.PART", "REST.COPY.OBJECT_GET",
                     "REST.DELETE.UPLOAD", "REST.COPY.PART_GET"))


def tls_order(version: str) -> tuple[int, int]:
    """``TLSv1.2`` (any case) -> (1, 2); ValueError for anything else."""
    try:
        return TLS_VERSIONS[version.upper()][1]
    except KeyError:
        raise ValueError(f"{version!r} is not a TLS version; expected one of "
                         "TLSv1, TLSv1.1, TLSv1.2, TLSv1.3") from None


@dataclass(frozen=True)
class AuditPolicy:
    min_tls: str = DEFAULT_MIN_TLS
    """Requests below this TLS version are findings. @default TLSv1.2, what every AWS
    endpoint requires since 2024-02-27."""
    expected_principals: tuple[str, ...] = ()
    """Requesters (glob patterns, e.g. ``arn:aws:sts::111111111111:assumed-role/Deployer/*``)
    allowed to delete objects or change bucket policy, ACL, logging and other settings.
    @default none: every such request is a finding."""
    bucket: str | None = None
    """Audit only records of this bucket. @default every bucket in the logs."""
    since: str | None = None
    """ISO day (``2026-01-31``), inclusive. @default no lower bound."""
    until: str | None = None
    """ISO day, inclusive. @default no upper bound."""

    def __post_init__(self) -> None:
        tls_order(self.min_tls)

    def is_expected(self, requester: str) -> bool:
        return any(fnmatch.fnmatchcase(requester, pattern) for pattern in self.expected_principals)


@dataclass
class Summary:
    """Evidence: what reached the bucket, over what."""
    lines: int = 0
    records: int = 0
    unparseable: int = 0
    skipped: int = 0
    by_tls_version: Counter = field(default_factory=Counter)
    by_cipher: Counter = field(default_factory=Counter)
    by_requester: Counter = field(default_factory=Counter)
    by_operation: Counter = field(default_factory=Counter)
    by_day: Counter = field(default_factory=Counter)
    unparseable_reasons: Counter = field(default_factory=Counter)

    def merge(self, other: "Summary") -> None:
        for name, value in vars(other).items():
            if isinstance(value, Counter):
                getattr(self, name).update(value)
            else:
                setattr(self, name, getattr(self, name) + value)

    def to_dict(self) -> dict:
        return {name: dict(value.most_common()) if isinstance(value, Counter) else value
                for name, value in vars(self).items()}


@dataclass
class AuditResult:
    findings: list[Finding] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)

    def merge(self, other: "AuditResult") -> None:
        self.findings.extend(other.findings)
        self.summary.merge(other.summary)


def audit_lines(lines: Iterable[str], policy: AuditPolicy, source: str = "") -> AuditResult:
    """Audit one log object (or file): every line is a record, skipped or unparseable."""
    result = AuditResult()
    summary, findings = result.summary, result.findings
    minimum = tls_order(policy.min_tls)
    for entry in parse_lines(_counting(lines, summary)):
        if isinstance(entry, Unparseable):
            summary.unparseable += 1
            summary.unparseable_reasons[entry.reason] += 1
            findings.append(Finding(
                "unparseable_line", Severity.MEDIUM,
                f"{source}:{entry.line_number}: not parsed with certainty ({entry.reason}); "
                "it is not counted as TLS-secure", (source,) if source else (),
                {"line_number": entry.line_number, "reason": entry.reason, "line": entry.line[:2000]}))
            continue
        if not _in_scope(entry, policy):
            summary.skipped += 1
            continue
        summary.records += 1
        tls = entry.tls
        summary.by_tls_version[tls] += 1
        summary.by_cipher[entry.cipher_suite] += 1
        summary.by_requester[entry.requester] += 1
        summary.by_operation[entry.operation] += 1
        summary.by_day[entry.day] += 1
        if tls == "-":
            findings.append(_tls_finding(entry, source, "non_tls", "without TLS"))
        elif TLS_VERSIONS[entry.tls_version.upper()][1] < minimum:
            findings.append(_tls_finding(entry, source, "weak_tls", f"over {tls}, below {policy.min_tls}"))
        if _is_protective_change(entry.operation) and not policy.is_expected(entry.requester):
            findings.append(_change_finding(entry, source))
    return result


def _counting(lines: Iterable[str], summary: Summary) -> Iterable[str]:
    for line in lines:
        summary.lines += 1
        yield line


def _in_scope(record: AccessLogRecord, policy: AuditPolicy) -> bool:
    if policy.bucket is not None and record.bucket != policy.bucket:
        return False
    if policy.since is None and policy.until is None:
        return True
    day = record.day
    return (policy.since is None or day >= policy.since) and (policy.until is None or day <= policy.until)


def _outcome(status: str) -> str:
    if status[:1] in ("2", "3"):
        return "success"
    return "denied" if status == "403" else "failed"


# A successful request without TLS is the breach the bucket policy exists to prevent.
_TLS_SEVERITY = {
    ("non_tls", "success"): Severity.CRITICAL, ("non_tls", "failed"): Severity.MEDIUM,
    ("non_tls", "denied"): Severity.INFO,
    ("weak_tls", "success"): Severity.HIGH, ("weak_tls", "failed"): Severity.MEDIUM,
    ("weak_tls", "denied"): Severity.INFO,
}


def _tls_finding(record: AccessLogRecord, source: str, kind: str, how: str) -> Finding:
    outcome = _outcome(record.http_status)
    verdict = {"success": "succeeded", "denied": "was denied (the TLS deny works)",
               "failed": "failed"}[outcome]
    return Finding(
        f"{kind}_{outcome}", _TLS_SEVERITY[(kind, outcome)],
        f"{record.operation} on {record.bucket}/{record.key} by {record.requester} {how} "
        f"{verdict} (HTTP {record.http_status}) at {record.time}",
        (record.key,), _details(record, source))


def _is_protective_change(operation: str) -> bool:
    if operation in DELETIONS:
        return True
    return operation.startswith(("REST.PUT.", "REST.DELETE.", "REST.POST.")) and operation not in UPLOADS


def _change_finding(record: AccessLogRecord, source: str) -> Finding:
    outcome = _outcome(record.http_status)
    what = "deletion" if record.operation in DELETIONS else "settings change"
    severity = Severity.HIGH if outcome == "success" else Severity.MEDIUM
    return Finding(
        f"unexpected_{'deletion' if what == 'deletion' else 'change'}", severity,
        f"{what} {record.operation} on {record.bucket}/{record.key} by {record.requester}, "
        f"not an expected principal: {outcome} (HTTP {record.http_status}) at {record.time}",
        (record.key,), _details(record, source))


def _details(record: AccessLogRecord, source: str) -> dict:
    return {"source": source, "bucket": record.bucket, "time": record.time,
            "requester": record.requester, "remote_ip": record.remote_ip,
            "operation": record.operation, "key": record.key, "http_status": record.http_status,
            "tls_version": record.tls_version, "cipher_suite": record.cipher_suite,
            "request_id": record.request_id}
