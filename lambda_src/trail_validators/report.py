"""Human-readable evidence reports."""

from __future__ import annotations

from collections import Counter

from .access_log_audit import AuditPolicy, AuditResult
from .findings import Severity

TOP = 10
MAX_LISTED_PER_KIND = 20


def access_log_text_report(result: AuditResult, policy: AuditPolicy) -> str:
    s = result.summary
    out = ["S3 server access log audit",
           f"  minimum TLS: {policy.min_tls}   bucket: {policy.bucket or 'all'}   "
           f"days: {policy.since or 'start'} .. {policy.until or 'end'}",
           f"  lines: {s.lines}   audited requests: {s.records}   out of scope: {s.skipped}   "
           f"unparseable: {s.unparseable}", ""]
    for title, counter in (("TLS version", s.by_tls_version), ("cipher suite", s.by_cipher),
                           ("operation", s.by_operation), ("requester", s.by_requester),
                           ("day", Counter(dict(sorted(s.by_day.items()))))):
        out += _table(title, counter, ordered=title == "day")
    by_kind: dict[str, list] = {}
    for finding in result.findings:
        by_kind.setdefault(finding.kind, []).append(finding)
    if not by_kind:
        out.append("Findings: none")
    for kind, findings in sorted(by_kind.items(), key=lambda kv: -max(f.severity for f in kv[1])):
        severity = max(f.severity for f in findings)
        out.append(f"Finding {kind} ({severity}): {len(findings)}")
        for finding in findings[:MAX_LISTED_PER_KIND]:
            out.append(f"  - {finding.message}")
        if len(findings) > MAX_LISTED_PER_KIND:
            out.append(f"  ... and {len(findings) - MAX_LISTED_PER_KIND} more (use --format json for all)")
    worst = max((f.severity for f in result.findings), default=None)
    out += ["", f"Verdict: {'PASS' if worst is None or worst == Severity.INFO else 'FAIL'}"]
    return "\n".join(out)


def _table(title: str, counter: Counter, ordered: bool = False) -> list[str]:
    if not counter:
        return []
    total = sum(counter.values())
    rows = list(counter.items()) if ordered else counter.most_common(TOP)
    width = max(len(str(k)) for k, _ in rows)
    lines = [f"{title:<{width}}  {'requests':>10}  share"]
    lines += [f"{str(k):<{width}}  {v:>10}  {100 * v / total:5.1f}%" for k, v in rows]
    if len(counter) > len(rows):
        lines.append(f"({len(counter) - len(rows)} more)")
    return lines + [""]
