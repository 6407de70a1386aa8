"""``secure-trail``: the validators as a command line tool.

Exit status: 0 nothing wrong, 1 findings (above info), 2 usage, input or access errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Sequence

from .access_log_audit import DEFAULT_MIN_TLS, AuditPolicy, AuditResult, audit_lines, tls_order
from .findings import Severity
from .log_sources import SourceError, decode_lines, objects
from .report import access_log_text_report

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (SourceError, ValueError) as error:
        print(f"secure-trail: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except _AWS_ERRORS as error:
        print(f"secure-trail: AWS error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # e.g. piped into head: not an error of ours
        sys.stderr.close()
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="secure-trail", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    audit = commands.add_parser(
        "audit-access-logs", help="audit S3 server access logs for requests without TLS or below the minimum",
        description="Reads S3 server access logs (files, folders, gzipped or not, or s3://bucket/prefix) "
                    "and reports every request without TLS or below --min-tls, deletions and settings "
                    "changes by unexpected principals, and an evidence summary.")
    audit.add_argument("inputs", nargs="+", metavar="PATH|s3://BUCKET/PREFIX")
    audit.add_argument("--min-tls", default=DEFAULT_MIN_TLS, type=_tls,
                       help=f"lowest acceptable TLS version (default {DEFAULT_MIN_TLS})")
    audit.add_argument("--since", type=_day, help="first day to audit, YYYY-MM-DD (inclusive)")
    audit.add_argument("--until", type=_day, help="last day to audit, YYYY-MM-DD (inclusive)")
    audit.add_argument("--bucket", help="audit only requests to this bucket (default: all in the logs)")
    audit.add_argument("--expected-principal", action="append", default=[], metavar="GLOB",
                       help="requester allowed to delete or change settings (repeatable, globs allowed)")
    audit.add_argument("--format", choices=("text", "json"), default="text")
    audit.set_defaults(run=_audit_access_logs)
    return parser


def _audit_access_logs(args: argparse.Namespace) -> int:
    policy = AuditPolicy(min_tls=args.min_tls, expected_principals=tuple(args.expected_principal),
                         bucket=args.bucket, since=args.since, until=args.until)
    total = AuditResult()
    progress = _Progress()
    for number, log_object in enumerate(objects(args.inputs, _s3_client), 1):
        total.merge(audit_lines(decode_lines(log_object.read()), policy, log_object.name))
        progress.update(f"{number} objects, {total.summary.lines} lines")
    progress.done()
    if args.format == "json":
        json.dump({"policy": {"min_tls": policy.min_tls, "bucket": policy.bucket, "since": policy.since,
                              "until": policy.until, "expected_principals": list(policy.expected_principals)},
                   "summary": total.summary.to_dict(),
                   "findings": [f.to_dict() for f in total.findings]}, sys.stdout, indent=2)
        print()
    else:
        print(access_log_text_report(total, policy))
    return EXIT_FINDINGS if any(f.severity > Severity.INFO for f in total.findings) else EXIT_OK


def _tls(value: str) -> str:
    try:
        tls_order(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def _day(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day; expected YYYY-MM-DD") from None


def _s3_client():
    import boto3  # only when an s3:// input is given
    return boto3.client("s3")


try:
    from botocore.exceptions import BotoCoreError, ClientError
    _AWS_ERRORS: tuple[type[Exception], ...] = (BotoCoreError, ClientError)
except ImportError:  # botocore is only needed for s3:// inputs
    _AWS_ERRORS = ()


class _Progress:
    """A one-line counter on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def update(self, text: str) -> None:
        if self.enabled:
            print(f"\r{text}", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print(file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
