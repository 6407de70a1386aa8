"""Human-readable evidence reports."""

from __future__ import annotations

import re
from collections import Counter

from ..access_logs.audit import FAIL, NOTHING_AUDITED, AuditPolicy, AuditResult
from ..findings import Severity

TOP = 10
SCHEMA_VERSION = 1
"""Of both JSON reports: raised when a key changes meaning or goes away (new keys may come)."""
MAX_LISTED_PER_KIND = 20
MAX_CELL_CHARS = 100


def access_log_text_report(result: AuditResult, policy: AuditPolicy) -> str:
    s = result.summary
    out = ["S3 server access log audit",
           f"  minimum TLS: {policy.min_tls}   bucket: {policy.bucket or 'all'}   "
           f"days: {policy.since or 'start'} .. {policy.until or 'end'}",
           f"  objects: {s.objects}   lines: {s.lines}   audited requests: {s.records}   "
           f"out of scope: {s.skipped}   unparseable: {s.unparseable}", ""]
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
        severity, total = max(f.severity for f in findings), s.findings_by_kind[kind]
        out.append(f"Finding {kind} ({severity}): {total}")
        for finding in findings[:MAX_LISTED_PER_KIND]:
            out.append(f"  - {_printable(finding.message)}")
        if total > MAX_LISTED_PER_KIND:
            out.append(f"  ... and {total - MAX_LISTED_PER_KIND} more"
                       + (" (use --format json for all)" if len(findings) == total
                          else f" (--format json lists {len(findings)}, all are counted)"))
    verdict = result.verdict
    out += ["", "Verdict: " + ("FAIL" if verdict == FAIL else
                               f"NOTHING AUDITED ({result.why_nothing_audited()})" if verdict == NOTHING_AUDITED
                               else "PASS")]
    return "\n".join(out)


# Text from the logs is printed as data, never as terminal controls or line breaks.
_CONTROLS = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
             for code in (*range(0x20), 0x7f, *range(0x80, 0xa0), 0x2028, 0x2029, *range(0x202a, 0x202f),
                          *range(0x2066, 0x206a))}


def _printable(text: str) -> str:
    return text.translate(_CONTROLS)


def _cell(value: object) -> str:
    text = _printable(str(value))
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS - 3] + "..."


def _table(title: str, counter: Counter, ordered: bool = False) -> list[str]:
    if not counter:
        return []
    total = sum(counter.values())
    rows = [(_cell(k), v) for k, v in (counter.items() if ordered else counter.most_common(TOP))]
    width = max(len(k) for k, _ in rows)
    lines = [f"{title:<{width}}  {'requests':>10}  share"]
    lines += [f"{k:<{width}}  {v:>10}  {100 * v / total:5.1f}%" for k, v in rows]
    if len(counter) > len(rows):
        lines.append(f"({len(counter) - len(rows)} more)")
    return lines + [""]


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """Object names are an attacker's to choose: control characters (a newline and a fake
    verdict, terminal escapes that hide the lines after) are shown escaped."""
    return _UNPRINTABLE.sub(lambda match: f"\\x{ord(match.group()):02x}" if ord(match.group()) < 0x100
                            else f"\\u{ord(match.group()):04x}", text)


def digest_text_report(result, location, window, verbose: bool = False) -> str:
    chains = result.chains
    out = [f"Validating s3://{location.bucket}/{location.aws_logs} for {location.trail_name}",
           f"Results requested for {window.start:%Y-%m-%dT%H:%M:%SZ} to {window.end:%Y-%m-%dT%H:%M:%SZ}"
           + (" (strict: logs no valid digest vouches for fail the run)" if result.strict else ""),
           f"Chains (account/region): {len(chains)}", ""]
    if verbose:
        out += [f"  {c.chain}: {c.digests_valid}/{c.digests_checked} digests valid, "
                + (f"{c.backfill_digests_valid}/{c.backfill_digests_checked} backfill digests valid, "
                   if c.backfill_digests_checked else "")
                + f"{c.logs_valid}/{c.logs_checked} log files valid, "
                f"{c.log_objects - c.logs_not_vouched - c.logs_pending}/{c.log_objects} log objects "
                f"vouched for, {len(c.findings)} findings" for c in chains]
        out.append("")
    listed: Counter = Counter()
    for finding in sorted(result.findings, key=lambda f: (-f.severity, f.kind)):
        group = (finding.kind, finding.details.get("account"), finding.details.get("region"))
        listed[group] += 1
        if listed[group] <= MAX_LISTED_PER_KIND:
            out.append(f"{str(finding.severity).upper():8} {finding.kind}: {printable(finding.message)}")
    for (kind, account, region), count in listed.items():
        if count > MAX_LISTED_PER_KIND:
            out.append(f"         ... and {count - MAX_LISTED_PER_KIND} more {kind} in {account}/{region} "
                       "(use --format json for all)")
    counts = _log_object_counts(chains)
    warnings = sum(1 for f in result.findings if f.kind not in result.failing_kinds and f.severity > Severity.INFO)
    backfill_checked = sum(c.backfill_digests_checked for c in chains)
    out += ["", f"{sum(c.digests_valid for c in chains)}/{sum(c.digests_checked for c in chains)} digest files valid"]
    if backfill_checked:
        out.append(f"{sum(c.backfill_digests_valid for c in chains)}/{backfill_checked} backfill digest files valid")
    out += [f"{sum(c.logs_valid for c in chains)}/{sum(c.logs_checked for c in chains)} log files valid",
            f"{counts['log_objects']} log objects in the window: {counts['vouched']} vouched for by a valid digest"
            + (f", {counts['vouched_by_backfill']} by a backfill digest" if counts["vouched_by_backfill"] else "")
            + (f", {counts['vouched_by_other_trails']} by another trail's" if counts["vouched_by_other_trails"] else "")
            + f", {counts['not_vouched']} not vouched for"
            + (f", {counts['pending']} not yet covered (their digest is not due yet)" if counts["pending"] else ""),
            f"Verdict: {'INVALID' if result.failed else 'VALID'}" + (f" ({warnings} warnings)" if warnings else "")]
    differences = aws_cli_differences(result)
    if differences:
        out[-1:-1] = ["Counts differ from aws cloudtrail validate-logs on the same data:",
                      *(f"  - {difference['message']}" for difference in differences)]
    return "\n".join(out)


MISSING_DIGEST_KINDS = ("missing_digest", "missing_newest_digest")


def aws_cli_differences(result) -> list[dict]:
    """Why ``aws cloudtrail validate-logs`` (awscli ``customizations/cloudtrail/validation.py``)
    would print other counts for the same bucket and window. It counts, for one account and
    region a run, the digests named from the window's start to an hour after its end (each
    run of missing ones as one INVALID digest file, none after the newest), and every log
    file those valid digests list; it lists no log folder."""
    chains = result.chains
    missing = sum(1 for f in result.findings if f.kind in MISSING_DIGEST_KINDS and not f.details.get("backfill"))
    others = sorted({name for c in chains for name in c.other_trails})
    counts = _log_object_counts(chains)
    reasons = [
        ("chains", len(chains) if len(chains) > 1 else 0, lambda n:
         f"{n} chains (account and region) in one run: the AWS CLI validates one a run (--account-id, and "
         "--region or the home region); its counts are one chain's"),
        ("missing_digests", missing, lambda n:
         f"{n} missing digests are findings here, not digest files: the AWS CLI counts each run of missing "
         "digests as one INVALID digest file, and none after the newest digest"),
        ("logs_outside_window", sum(c.logs_outside_window for c in chains), lambda n:
         f"{n} log files listed by a digest ending after the window, but named outside it, are left to the next "
         "window here; the AWS CLI checks every log file of the digests up to an hour after the window"),
        ("digests_after_aws_cli_range", sum(c.digests_after_aws_cli_range for c in chains), lambda n:
         f"{n} digests ending more than an hour after the window (delivery jitter) are counted here; the AWS "
         "CLI stops at one hour"),
        ("logs_of_other_trails", sum(c.logs_checked_of_other_trails for c in chains), lambda n:
         f"{n} log files listed only by other trails' digests ({', '.join(others)}) are checked and "
         "counted here; the AWS CLI reads this trail's digests only"),
        ("log_objects_not_vouched", counts["not_vouched"], lambda n:
         f"{n} log objects that no valid digest lists are counted here (from the log folders); the AWS CLI "
         "looks only at the log files digests list, and never sees them"),
    ]
    return [{"reason": reason, "count": n, "message": printable(message(n))}
            for reason, n, message in reasons if n]


def digest_json_report(result, location, window) -> dict:
    return {"schema_version": SCHEMA_VERSION, "verdict": "invalid" if result.failed else "valid",
            "trail": {"bucket": location.bucket, "prefix": location.prefix, "org_id": location.org_id,
                      "name": location.trail_name, "home_region": location.home_region},
            "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
            "strict": result.strict,
            "valid": not result.failed,
            "log_objects": _log_object_counts(result.chains),
            "aws_cli_differences": aws_cli_differences(result),
            "chains": [{"account": c.chain.account, "region": c.chain.region, "valid": not c.failed,
                        "digests_valid": c.digests_valid, "digests_checked": c.digests_checked,
                        "backfill_digests_valid": c.backfill_digests_valid,
                        "backfill_digests_checked": c.backfill_digests_checked,
                        "logs_valid": c.logs_valid, "logs_checked": c.logs_checked,
                        "log_objects": _log_object_counts([c])} for c in result.chains],
            "findings": [f.to_dict() for f in result.findings]}


def _log_object_counts(chains) -> dict[str, int]:
    """What every log object in the window came to: vouched for, or not (and why not)."""
    return {"log_objects": sum(c.log_objects for c in chains), "vouched": sum(c.logs_vouched for c in chains),
            "vouched_by_other_trails": sum(c.logs_vouched_by_other_trails for c in chains),
            "vouched_by_backfill": sum(c.logs_vouched_by_backfill for c in chains),
            "not_vouched": sum(c.logs_not_vouched for c in chains), "pending": sum(c.logs_pending for c in chains)}
