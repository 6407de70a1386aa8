"""``secure-trail``: the validators as a command line tool.

Exit status: 0 nothing wrong, 1 findings (above info), 2 usage, input or access errors, or
nothing audited.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import Iterator, Sequence

from .. import __version__
from ..access_logs.audit import (DEFAULT_MIN_TLS, FAIL, NOTHING_AUDITED, AuditPolicy, AuditResult, audit_object,
                                 tls_order)
from ..access_logs.sources import SourceError, objects
from ..digests.layout import CLOCK_SKEW, CLOUDTRAIL_EPOCH
from . import analytics_setup, aws_options, backfill, check_posture, help_text, output
from . import evidence as evidence_command
from .report import SCHEMA_VERSION, access_log_text_report, digest_json_report, digest_text_report

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
UNSIGNED_VALIDATION = ("the public keys that verify digest signatures come from CloudTrail's ListPublicKeys, "
                       "which answers only signed requests (the logs of a public bucket can still be read "
                       "with credentials of any account)")
CLI_INSTALL = "install the command line tool with its dependencies: pip install ./lambda_src (from a checkout)"
ORG_ID, ACCOUNT = re.compile(r"o-[a-z0-9]{10,32}"), re.compile(r"[0-9]{12}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    output.Parser.json_errors = output.wants_json(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    output.resolve(args, parser)
    as_json = getattr(args, "format", None) == "json"
    try:
        return args.run(args)
    except output.UsageError as error:
        return output.error("usage", str(error), as_json)
    except output.MissingDependency as error:
        return output.error("dependency", str(error), as_json)
    except (SourceError, ValueError, LookupError) as error:
        return output.error("input", str(error), as_json)
    except _AWS_ERRORS as error:
        return output.error("aws", str(error), as_json)
    except BrokenPipeError:  # e.g. piped into head: not an error of ours
        sys.stderr.close()
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = output.Parser(
        prog="secure-trail", description="Validators of an organization CloudTrail. Every command, one line "
                                         "each, is listed below; secure-trail COMMAND --help for its options.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    audit = commands.add_parser(
        "audit-access-logs", help="audit S3 server access logs for requests without TLS or below the minimum",
        description="Reads S3 server access logs (files, folders, gzipped or not, or s3://bucket/prefix) "
                    "and reports every request without TLS or below --min-tls, deletions and settings "
                    "changes by unexpected principals, and an evidence summary.")
    audit.add_argument("inputs", nargs="+", metavar="PATH|s3://BUCKET/PREFIX",
                       help="log files, folders (read recursively; plain or gzipped) or S3 prefixes")
    audit.add_argument("--min-tls", default=DEFAULT_MIN_TLS, type=_tls,
                       help=f"lowest acceptable TLS version (default {DEFAULT_MIN_TLS})")
    audit.add_argument("--since", type=_day, help="first day to audit, YYYY-MM-DD (inclusive)")
    audit.add_argument("--until", type=_day, help="last day to audit, YYYY-MM-DD (inclusive)")
    audit.add_argument("--bucket", help="audit only requests to this bucket (default: all in the logs)")
    audit.add_argument("--expected-principal", action="append", default=[], metavar="GLOB",
                       help="requester allowed to delete or change settings (repeatable, globs allowed)")
    output.add_arguments(audit)
    aws_options.add_arguments(audit, endpoint_help="S3 endpoint URL of the s3:// inputs",
                              unsigned_help="read s3:// inputs anonymously (a public bucket)")
    audit.set_defaults(run=_audit_access_logs)

    validate = commands.add_parser(
        "validate-logs", help="validate CloudTrail digests and log files (drop-in for aws cloudtrail validate-logs)",
        description="Validates every digest chain of a trail in a time window: signatures, chain links "
                    "(previous hash and signature too), every missing digest (also the newest), log file "
                    "hashes, and log objects no digest references. For an organization trail every member "
                    "account and region is validated in one run.")
    validate.add_argument("--trail-arn", required=True, help="ARN of the trail")
    validate.add_argument("--start-time", required=True, type=_time, help="start of the window (ISO 8601, UTC)")
    validate.add_argument("--end-time", type=_time, help="end of the window (default: now)")
    validate.add_argument("--s3-bucket", help="bucket of the logs (default: the trail's)")
    validate.add_argument("--s3-prefix", help="key prefix of the logs (default: the trail's)")
    validate.add_argument("--account-id", action="append", metavar="ID",
                          help="validate only this account (repeatable; default: every account found)")
    validate.add_argument("--only-region", action="append", dest="regions", metavar="REGION",
                          help="validate only this region's chains (repeatable; default: every region found)")
    validate.add_argument("--concurrency", type=_positive, default=128, help="parallel S3 requests (default 128)")
    validate.add_argument("--strict", action="store_true",
                          help="fail on any log that no valid digest vouches for, also in gaps of the chain "
                               "(default: such logs are warnings)")
    validate.add_argument("--verbose", action="store_true", help="also list every chain's counts")
    output.add_arguments(validate)
    aws_options.add_arguments(validate, unsigned_help=f"refused here: {UNSIGNED_VALIDATION}")
    validate.set_defaults(run=_validate_logs)
    check_posture.add_parser(commands)
    backfill.add_parser(commands)
    evidence_command.add_parser(commands)
    analytics_setup.register(commands)
    completion = commands.add_parser("completion", help="print a bash or zsh completion script",
                                     description="Prints a completion script for the shell, generated "
                                                 "from this command's own options.")
    completion.add_argument("shell", choices=("bash", "zsh"))
    completion.set_defaults(run=lambda args: _completion(parser, args.shell))
    help_text.decorate(parser)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _completion(parser: argparse.ArgumentParser, shell: str) -> int:
    print(help_text.bash_script(parser) if shell == "bash" else help_text.zsh_script(parser), end="")
    return EXIT_OK


def _audit_access_logs(args: argparse.Namespace) -> int:
    policy = AuditPolicy(min_tls=args.min_tls, expected_principals=tuple(args.expected_principal),
                         bucket=args.bucket, since=args.since, until=args.until)
    total = AuditResult()
    progress = _Progress()
    for number, log_object in enumerate(objects(args.inputs, lambda: _s3_client(args)), 1):
        total.merge(audit_object(log_object.chunks(), policy, log_object.name))
        progress.update(f"{number} objects, {total.summary.lines} lines")
    progress.done()
    report = {"policy": {"min_tls": policy.min_tls, "bucket": policy.bucket, "since": policy.since,
                         "until": policy.until, "expected_principals": list(policy.expected_principals)},
              "schema_version": SCHEMA_VERSION, "verdict": total.verdict,
              "nothing_audited": total.why_nothing_audited(),
              "summary": total.summary.to_dict(),
              "findings": [f.to_dict() for f in total.findings]}
    output.emit(args, report, lambda: access_log_text_report(total, policy))
    if total.verdict == NOTHING_AUDITED:
        return output.error("nothing_audited", total.why_nothing_audited(), args.format == "json")
    return EXIT_FINDINGS if total.verdict == FAIL else EXIT_OK


def _validate_logs(args: argparse.Namespace) -> int:
    with one_core():
        try:
            return _validate_logs_on_one_core(args)
        finally:
            gc.unfreeze()  # what the run froze is collectable again (main() may run in a longer process)


def _validate_logs_on_one_core(args: argparse.Namespace) -> int:
    try:
        import boto3  # noqa: F401 - AwsOptions.session
        import obstore  # noqa: F401 - fetches the objects (object_store_reader)
    except ImportError as missing:
        raise output.MissingDependency(f"validate-logs needs {missing.name}: {CLI_INSTALL}") from None

    from ..digests.aws import cloudtrail_public_keys, describe_trail
    from ..digests.chain import Window
    from .object_store_reader import ObjectStoreReader
    from ..digests.layout import TrailLocation
    from ..digests.run import discover_chains, validate_trail

    arn = _trail_arn(args.trail_arn)
    home_region, trail_name = arn["region"], arn["name"]
    now = datetime.now(timezone.utc)
    end = args.end_time or now
    if args.start_time >= end:
        raise ValueError("--start-time must be before --end-time")
    aws = aws_options.AwsOptions.from_args(args)
    aws.require_signing("validate-logs", UNSIGNED_VALIDATION)
    config = aws.config(max_pool_connections=max(10, args.concurrency), retries={"mode": "standard"},
                        parameter_validation=False)
    session = aws.session()

    def cloudtrail(region: str):
        return session.client("cloudtrail", region_name=region, config=config, verify=aws.verify,
                              endpoint_url=aws.endpoint_url)

    bucket, prefix, is_org, regions = args.s3_bucket, args.s3_prefix, None, args.regions
    if bucket is None:
        trail = describe_trail(cloudtrail(aws.region or home_region), args.trail_arn)
        bucket, prefix = trail["S3BucketName"], prefix or trail.get("S3KeyPrefix")
        is_org = trail.get("IsOrganizationTrail", False)
        if not trail.get("IsMultiRegionTrail", True):  # other regions' logs there are other trails'
            regions = [home_region]
    reader = ObjectStoreReader(session, bucket, config, aws.verify, aws.object_store_options())
    prefix = prefix.strip("/") if prefix else None
    org_id = _org_id(reader, prefix, is_org, arn["account"])
    location = TrailLocation(bucket, prefix, org_id, trail_name, home_region)
    chains = discover_chains(reader, location, args.account_id, regions)
    if not chains:
        raise ValueError(f"no digests of {trail_name} under s3://{bucket}/{location.aws_logs}"
                         + (" for the accounts and regions asked" if args.account_id or regions else ""))
    window = Window(args.start_time, end, now)
    progress = _Progress(len(chains), "chains")
    # What is loaded by now (modules, botocore's service models) lives to the end: the
    # collector need not scan it again each time the run's many small objects trigger it.
    gc.freeze()
    result = validate_trail(
        reader, location, chains, window,
        cloudtrail_public_keys(cloudtrail),
        concurrency=args.concurrency, strict=args.strict, on_chain_done=lambda chain: progress.advance())
    progress.done()
    others = sorted({name for chain in result.chains for name in chain.other_trails})
    if args.s3_bucket and others and not any(chain.digests_listed for chain in result.chains):
        # Other trails' digests but none of this one's: a wrong name or home region, most likely.
        # (A trail found by its ARN is the right one: then every digest was deleted, and the
        # findings say so.)
        raise ValueError(f"no digests of trail {trail_name} (home region {home_region}) under "
                         f"s3://{bucket}/{location.aws_logs} for this window: check --trail-arn, --s3-bucket and "
                         f"--s3-prefix; digests of other trails are there: {', '.join(others)}")
    output.emit(args, digest_json_report(result, location, window),
                lambda: digest_text_report(result, location, window, verbose=args.verbose))
    return EXIT_FINDINGS if result.failed else EXIT_OK


@contextmanager
def one_core() -> Iterator[None]:
    """A validation run's threads take turns holding Python's GIL: on several cores each
    hand-off wakes a thread on another core, which cost the run a third more CPU and no less
    time (docs/benchmarks.md). Within, this thread and every thread it starts (the fetch
    pool, obstore's) keep to one core; after, this thread has its cores back. Linux only:
    elsewhere nothing changes."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_setaffinity") else set()
    if len(allowed) > 1:
        os.sched_setaffinity(0, {min(allowed)})
    try:
        yield
    finally:
        if len(allowed) > 1:
            os.sched_setaffinity(0, allowed)


def _trail_arn(value: str) -> dict[str, str]:
    parts = value.split(":")
    if len(parts) != 6 or parts[2] != "cloudtrail" or not parts[5].startswith("trail/"):
        raise ValueError(f"--trail-arn {value!r} is not a trail ARN "
                         "(arn:aws:cloudtrail:<region>:<account>:trail/<name>)")
    return {"region": parts[3], "account": parts[4], "name": parts[5][len("trail/"):]}


def _org_id(reader, prefix: str | None, is_org: bool | None, management_account: str) -> str | None:
    """An organization trail's keys carry AWSLogs/<org-id>/: the organization folder in the
    bucket whose management account has digests (a stray ``o-...`` folder is not it)."""
    if is_org is False:
        return None
    aws_logs = f"{prefix}/AWSLogs/" if prefix else "AWSLogs/"
    candidates = {name: reader.list_children(f"{aws_logs}{name}/") for name in reader.list_children(aws_logs)
                  if ORG_ID.fullmatch(name)}
    org_ids = ([name for name, accounts in candidates.items() if management_account in accounts
                and "CloudTrail-Digest" in reader.list_children(f"{aws_logs}{name}/{management_account}/")]
               or [name for name, accounts in candidates.items() if any(ACCOUNT.fullmatch(a) for a in accounts)])
    if len(org_ids) > 1:
        raise ValueError(f"digests of management account {management_account} under several organizations' "
                         f"folders ({', '.join(org_ids)}) of s3://.../{aws_logs}: cannot tell which is the trail's")
    return org_ids[0] if org_ids else None


def _time(value: str) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise) between CloudTrail's launch and now."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        parsed = parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"{value!r} is not a time; expected ISO 8601 such as "
                                         "2026-11-24T01:00:00Z") from None
    latest = datetime.now(timezone.utc) + CLOCK_SKEW
    if not CLOUDTRAIL_EPOCH <= parsed <= latest:
        raise argparse.ArgumentTypeError(
            f"{value!r} is outside the times a trail can have logs for: from "
            f"{CLOUDTRAIL_EPOCH:%Y-%m-%d} (CloudTrail's launch) to now ({latest:%Y-%m-%dT%H:%M}Z)")
    return parsed


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return int(value)


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


def _s3_client(args: argparse.Namespace):
    try:
        import boto3  # noqa: F401 - only when an s3:// input is given
    except ImportError as missing:
        raise output.MissingDependency(f"s3:// inputs need {missing.name}: {CLI_INSTALL}") from None
    aws = aws_options.AwsOptions.from_args(args)
    return aws.session().client("s3", config=aws.config(retries={"mode": "standard"}), verify=aws.verify,
                                endpoint_url=aws.endpoint_url)


try:
    from botocore.exceptions import BotoCoreError, ClientError
    _AWS_ERRORS: tuple[type[Exception], ...] = (BotoCoreError, ClientError)
except ImportError:  # botocore is only needed for s3:// inputs
    _AWS_ERRORS = ()
try:
    from obstore.exceptions import BaseError as ObjectStoreError
    _AWS_ERRORS += (ObjectStoreError,)
except ImportError:  # obstore is only needed for validate-logs
    pass


class _Progress:
    """One line of progress on stderr, only when stderr is a terminal: a bar when the
    total is known, else whatever text the caller gives."""

    WIDTH = 30

    def __init__(self, total: int = 0, unit: str = "") -> None:
        self.total, self.unit, self.count = total, unit, 0
        self.enabled = sys.stderr.isatty()

    def update(self, text: str) -> None:
        if self.enabled:
            print(f"\r{text}", end="", file=sys.stderr, flush=True)

    def advance(self) -> None:
        self.count += 1
        filled = self.WIDTH * self.count // max(1, self.total)
        self.update(f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {self.count}/{self.total} {self.unit}")

    def done(self) -> None:
        if self.enabled:
            print(file=sys.stderr)
