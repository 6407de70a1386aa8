"""Audit of S3 server access log records: TLS findings, tampering-shaped requests and
an evidence summary. Pure: bytes (or lines) in, findings and counts out.

Memory is bounded whatever the logs hold: the stream's caps (``access_log_stream``) bound
what is read at a time, and here at most MAX_FINDINGS_KEPT findings of each kind and
severity are kept (their texts cut at MAX_FIELD_CHARS) and every evidence table keeps
MAX_EVIDENCE_ROWS values, the rest counted under OTHER. Counts stay exact
(``Summary.findings_by_kind``). MEMORY_BUDGET_BYTES is what that adds up to.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..findings import Finding, Severity
from .parser import TLS_VERSIONS, AccessLogRecord, Unparseable, parse_lines
from .stream import MAX_LINE_BYTES, OVERSIZED, ObjectCut, OverlongRecord, record_lines

MEMORY_BUDGET_BYTES = 128 * 2**20
"""The most one object's audit holds, whatever the object (the auditor Lambda has 512 MB):
stream buffers (a few MB), kept findings (13 kinds and severities x MAX_FINDINGS_KEPT x at
most ~10 KB with clipped fields: about 65 MB) and evidence tables (5 x MAX_EVIDENCE_ROWS x
MAX_LINE_BYTES: about 32 MB). Tests hold bombs to it."""
MAX_FINDINGS_KEPT = 500
"""Findings kept per kind and severity (in one object's audit, and in a merged total)."""
MAX_FIELD_CHARS = 512
"""Longest text of a field (key, requester ...) kept in a finding."""
MAX_LINE_EXCERPT = 2000
"""Longest excerpt of an unparseable line kept in its finding."""
MAX_EVIDENCE_ROWS = 200
"""Distinct values kept per evidence table (requesters, ciphers ...)."""
OTHER = "(other)"

PASS, FAIL, NOTHING_AUDITED = "pass", "fail", "nothing_audited"

DEFAULT_MIN_TLS = "TLSv1.2"
DELETIONS = frozenset(("REST.DELETE.OBJECT", "REST.POST.MULTI_OBJECT_DELETE", "BATCH.DELETE.OBJECT",
                       "REST.DELETE.BUCKET"))
# S3 writes this operation prefix for what it does itself (lifecycle); a client request is
# logged as REST.*, BATCH.* or WEBSITE.*, so a client cannot produce it.
S3_INTERNAL_PREFIX = "S3."
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
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError(f"since {self.since} is after until {self.until}: no day could be audited")

    def is_expected(self, requester: str) -> bool:
        return any(fnmatch.fnmatchcase(requester, pattern) for pattern in self.expected_principals)


@dataclass
class Summary:
    """Evidence: what reached the bucket, over what."""
    objects: int = 0
    lines: int = 0
    records: int = 0
    """Requests audited: parsed and in scope."""
    unparseable: int = 0
    skipped: int = 0
    uncertain_boundaries: int = 0
    """Audited records whose request-URI, referer and user-agent could be split in more
    than one way (no verdict depends on them)."""
    s3_internal: int = 0
    """In-scope actions S3 logged for itself (lifecycle expiry and transition: operation
    ``S3.*``, which no client request can produce): no network request, so no TLS verdict
    and not counted in ``records``."""
    by_tls_version: Counter = field(default_factory=Counter)
    by_cipher: Counter = field(default_factory=Counter)
    by_requester: Counter = field(default_factory=Counter)
    by_operation: Counter = field(default_factory=Counter)
    by_day: Counter = field(default_factory=Counter)
    unparseable_reasons: Counter = field(default_factory=Counter)
    findings_by_kind: Counter = field(default_factory=Counter)
    """Every finding counted, also those beyond MAX_FINDINGS_KEPT."""

    def merge(self, other: "Summary") -> None:
        for name, value in vars(other).items():
            if isinstance(value, Counter):
                getattr(self, name).update(value)
            else:
                setattr(self, name, getattr(self, name) + value)
        self.bound_tables()

    def bound_tables(self) -> None:
        for table in (self.by_cipher, self.by_requester, self.by_operation, self.by_day,
                      self.unparseable_reasons):
            if len(table) > MAX_EVIDENCE_ROWS:
                other = table.pop(OTHER, 0) + sum(table.values())
                kept = table.most_common(MAX_EVIDENCE_ROWS - 1)
                table.clear()
                table.update(dict(kept))
                table[OTHER] = other - sum(table.values())

    def to_dict(self) -> dict:
        return {name: dict(value.most_common()) if isinstance(value, Counter) else value
                for name, value in vars(self).items()}


@dataclass
class AuditResult:
    findings: list[Finding] = field(default_factory=list)
    """At most MAX_FINDINGS_KEPT of each kind and severity; ``summary.findings_by_kind``
    counts them all."""
    summary: Summary = field(default_factory=Summary)
    _kept: Counter = field(default_factory=Counter, repr=False, compare=False)

    def add(self, kind: str, severity: Severity, build: Callable[[], Finding]) -> None:
        """Count a finding; build and keep it only while fewer than MAX_FINDINGS_KEPT of its
        kind and severity are kept (a bomb of bad lines costs a count each, no more)."""
        self.summary.findings_by_kind[kind] += 1
        if self._room_for(kind, severity):
            self.findings.append(build())

    def merge(self, other: "AuditResult") -> None:
        self.findings.extend(f for f in other.findings if self._room_for(f.kind, f.severity))
        self.summary.merge(other.summary)

    @property
    def verdict(self) -> str:
        """FAIL on any finding above info (even when nothing else could be audited), else
        NOTHING_AUDITED when no request was, else PASS."""
        if any(f.severity > Severity.INFO for f in self.findings):
            return FAIL
        return PASS if self.summary.records else NOTHING_AUDITED

    def why_nothing_audited(self) -> str | None:
        """Why no request was audited, in words; None when some were."""
        s = self.summary
        if s.records:
            return None
        if not s.objects:
            return "the inputs hold no log object"
        if not s.lines:
            return f"the {s.objects} log object(s) hold no lines"
        parts = [f"{n} {what}" for n, what in ((s.skipped, "outside the bucket or days asked for"),
                                                (s.s3_internal, "actions of S3 itself (lifecycle), not requests"),
                                                (s.unparseable, "unparseable")) if n]
        return f"of {s.lines} lines, " + (", ".join(parts) if parts else "none is a request")

    def _room_for(self, kind: str, severity: Severity) -> bool:
        if self._kept[kind, severity] >= MAX_FINDINGS_KEPT:
            return False
        self._kept[kind, severity] += 1
        return True


def audit_object(chunks: Iterable[bytes], policy: AuditPolicy, source: str = "") -> AuditResult:
    """Audit one log object (an S3 object or a file) from its bytes, in chunks as they are
    read, gzipped or not: every line is a record, out of scope or unparseable, and whatever
    the caps leave unread is a finding."""
    audit, lines = _Audit(policy, source), 0
    for item in record_lines(chunks):
        if type(item) is list:
            audit.entries(parse_lines(item, lines + 1))
            lines += len(item)
        elif type(item) is OverlongRecord:
            lines += 1
            audit.unparseable(Unparseable(lines, f"longer than {MAX_LINE_BYTES:,} bytes", item.head),
                              length=item.length)
        else:
            audit.cut(item, lines)
    audit.result.summary.lines = lines
    return audit.result


def audit_lines(lines: Iterable[str], policy: AuditPolicy, source: str = "") -> AuditResult:
    """Audit one log object already split into lines (each without its "\\n")."""
    audit = _Audit(policy, source)
    lines = list(lines)
    audit.result.summary.lines = len(lines)
    audit.entries(parse_lines(lines))
    return audit.result


class _Audit:
    def __init__(self, policy: AuditPolicy, source: str) -> None:
        self.policy, self.source = policy, source
        self.result = AuditResult()
        self.result.summary.objects = 1
        self.minimum = tls_order(policy.min_tls)

    def entries(self, entries: Iterable[AccessLogRecord | Unparseable]) -> None:
        summary, policy, minimum = self.result.summary, self.policy, self.minimum
        for entry in entries:
            if isinstance(entry, Unparseable):
                self.unparseable(entry)
                continue
            if not _in_scope(entry, policy):
                summary.skipped += 1
                continue
            if entry.operation.startswith(S3_INTERNAL_PREFIX):
                summary.s3_internal += 1
                summary.by_operation[entry.operation] += 1
                continue
            summary.records += 1
            tls = entry.tls
            summary.by_tls_version[tls] += 1
            summary.by_cipher[entry.cipher_suite] += 1
            summary.by_requester[entry.requester] += 1
            summary.by_operation[entry.operation] += 1
            summary.by_day[entry.day] += 1
            if entry.uncertain:
                summary.uncertain_boundaries += 1
            if tls == "-":
                self._tls_finding(entry, "non_tls", "without TLS")
            elif TLS_VERSIONS[entry.tls_version.upper()][1] < minimum:
                self._tls_finding(entry, "weak_tls", f"over {tls}, below {policy.min_tls}")
            if _is_protective_change(entry.operation) and not policy.is_expected(entry.requester):
                self._change_finding(entry)
        summary.bound_tables()

    def unparseable(self, entry: Unparseable, **details) -> None:
        summary, source = self.result.summary, self.source
        summary.unparseable += 1
        summary.unparseable_reasons[entry.reason] += 1
        self.result.add("unparseable_line", Severity.MEDIUM, lambda: Finding(
            "unparseable_line", Severity.MEDIUM,
            f"{source}:{entry.line_number}: not parsed with certainty ({entry.reason}); "
            "it is not counted as TLS-secure", (source,) if source else (),
            {"line_number": entry.line_number, "reason": entry.reason,
             "line": entry.line[:MAX_LINE_EXCERPT], **details}))

    def cut(self, cut: ObjectCut, lines_read: int) -> None:
        what = "too large" if cut.kind == OVERSIZED else "corrupt"
        self.result.add(cut.kind, Severity.HIGH, lambda: Finding(
            cut.kind, Severity.HIGH,
            f"{self.source}: {what}: {cut.reason}; the {lines_read} lines before were audited",
            (self.source,) if self.source else (),
            {"source": self.source, "reason": cut.reason, "lines_audited": lines_read,
             "unfinished_record_bytes": cut.unfinished_bytes}))

    def _tls_finding(self, record: AccessLogRecord, kind: str, how: str) -> None:
        outcome = _outcome(record.http_status)
        name, severity = f"{kind}_{outcome}", _TLS_SEVERITY[(kind, outcome)]
        verdict = {"success": "succeeded", "denied": "was denied (the TLS deny works)", "failed": "failed"}[outcome]

        def build() -> Finding:
            details = _details(record, self.source)
            return Finding(
                name, severity,
                f"{details['operation']} on {details['bucket']}/{details['key']} by {details['requester']} "
                f"{how} {verdict} (HTTP {details['http_status']}) at {details['time']}",
                (details["key"],), details)
        self.result.add(name, severity, build)

    def _change_finding(self, record: AccessLogRecord) -> None:
        outcome = _outcome(record.http_status)
        what = "deletion" if record.operation in DELETIONS else "change"
        name, severity = f"unexpected_{what}", Severity.HIGH if outcome == "success" else Severity.MEDIUM

        def build() -> Finding:
            details = _details(record, self.source)
            return Finding(
                name, severity,
                f"{'settings change' if what == 'change' else what} {details['operation']} on "
                f"{details['bucket']}/{details['key']} by {details['requester']}, not an expected principal: "
                f"{outcome} (HTTP {details['http_status']}) at {details['time']}",
                (details["key"],), details)
        self.result.add(name, severity, build)


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


def _is_protective_change(operation: str) -> bool:
    if operation in DELETIONS:
        return True
    return operation.startswith(("REST.PUT.", "REST.DELETE.", "REST.POST.")) and operation not in UPLOADS


def _details(record: AccessLogRecord, source: str) -> dict:
    details = {"source": source, "bucket": record.bucket, "time": record.time,
               "requester": record.requester, "remote_ip": record.remote_ip,
               "operation": record.operation, "key": record.key, "http_status": record.http_status,
               "tls_version": record.tls_version, "cipher_suite": record.cipher_suite,
               "request_id": record.request_id}
    if record.uncertain:
        details["uncertain_fields"] = record.uncertain
    return {name: _clipped(value) for name, value in details.items()}


def _clipped(text: str) -> str:
    if len(text) <= MAX_FIELD_CHARS:
        return text
    return f"{text[:MAX_FIELD_CHARS]}...({len(text) - MAX_FIELD_CHARS:,} more characters)"
