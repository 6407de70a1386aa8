"""``secure-trail check-posture``: the posture watcher's scheduled check, by hand.

Reads GetTrail, GetTrailStatus and GetEventSelectors of the trail, DescribeKey of its key
and GetBucketPolicy of its bucket (or those named), and reports every open condition with
the same core as the Lambda (``trail_validators.posture``). Exit 0 healthy, 1 findings,
2 errors (something could not be read, bad input).
"""

from __future__ import annotations

import argparse
import json

from ..contract import PostureKind
from . import aws_options, output

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
UNSIGNED = "CloudTrail, KMS and S3's GetBucketPolicy answer only signed requests"


def add_parser(commands) -> None:
    check = commands.add_parser(
        "check-posture", help="check a trail's posture: logging, delivery errors, validation, scope, selectors, "
                              "key state, TLS deny of the bucket policy",
        description="Reads the trail's status, settings and selectors, its key's state and its bucket's policy, "
                    "and reports each condition the posture watcher alerts on. Exit 0 healthy, 1 findings, "
                    "2 errors.")
    check.add_argument("--trail-arn", required=True, help="ARN of the trail")
    check.add_argument("--key-arn", help="the trail's KMS key (default: the trail's KmsKeyId)")
    check.add_argument("--bucket", action="append", default=[], metavar="NAME",
                       help="bucket whose policy must deny plain HTTP (repeatable; default: the trail's bucket)")
    check.add_argument("--expected-selectors", type=_selectors, metavar="JSON|@FILE",
                       help="the advanced event selectors the trail must have, as GetEventSelectors returns them "
                            "(default: not compared)")
    output.add_arguments(check)
    aws_options.add_arguments(check, unsigned_help=f"refused here: {UNSIGNED}")
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as missing:
        raise output.MissingDependency(f"check-posture needs {missing.name}: pip install ./lambda_src (from a checkout)") from None
    from ..posture.judge import judge_status
    from ..posture.aws import observe

    home_region = _home_region(args.trail_arn)
    aws = aws_options.AwsOptions.from_args(args)
    aws.require_signing("check-posture", UNSIGNED)
    session = aws.session()
    config = aws.config(retries={"mode": "standard"})
    cloudtrail = session.client("cloudtrail", region_name=aws.region or home_region, config=config,
                                verify=aws.verify, endpoint_url=aws.endpoint_url)
    region = aws.region or home_region
    kms, s3 = (session.client(name, region_name=region, config=config, verify=aws.verify) for name in ("kms", "s3"))
    try:
        trail = cloudtrail.get_trail(Name=args.trail_arn)["Trail"]
    except (ClientError, BotoCoreError):
        trail = {}  # observe() tells a missing trail from an unreadable one
    buckets = args.bucket or ([trail["S3BucketName"]] if trail.get("S3BucketName") else [])
    observation = observe(cloudtrail=cloudtrail, kms=kms, s3=s3, trail_arn=args.trail_arn,
                          key_arn=args.key_arn or trail.get("KmsKeyId"), buckets=buckets)
    findings = judge_status(observation, expected_selectors=args.expected_selectors, trail_arn=args.trail_arn)
    errors = [f for f in findings if f.kind == PostureKind.CHECK_FAILED]
    verdict = "error" if errors else "findings" if findings else "healthy"
    report = {"trail_arn": args.trail_arn, "verdict": verdict, "checked": {
        "trail": observation.trail is not None, "key": observation.key is not None, "buckets": buckets,
        "selectors": args.expected_selectors is not None},
        "findings": [f.to_dict() for f in findings]}
    output.emit(args, report, lambda: _text(args, verdict, findings))
    return EXIT_ERROR if errors else EXIT_FINDINGS if findings else EXIT_OK


def _text(args: argparse.Namespace, verdict: str, findings) -> str:
    lines = [f"Posture of {args.trail_arn}: {verdict.upper()}"]
    lines += [f"  [{finding.severity}] {finding.kind}: {_printable(finding.message)}" for finding in findings]
    if args.expected_selectors is None:
        lines.append("  (event selectors not compared: pass --expected-selectors)")
    return "\n".join(lines)


def _home_region(trail_arn: str) -> str:
    parts = trail_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "cloudtrail" or not parts[5].startswith("trail/") \
            or not parts[3] or not parts[5][len("trail/"):]:
        raise ValueError(f"--trail-arn {trail_arn!r} is not a trail ARN "
                         "(arn:aws:cloudtrail:<region>:<account>:trail/<name>)")
    return parts[3]


def _selectors(value: str) -> list:
    text = value
    if value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as file:
                text = file.read(1_000_000)
        except OSError as error:
            raise argparse.ArgumentTypeError(f"cannot read {value[1:]!r}: {error.strerror}") from None
    try:
        selectors = json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not JSON") from None
    if isinstance(selectors, dict):  # the whole GetEventSelectors answer
        selectors = selectors.get("AdvancedEventSelectors")
    if not isinstance(selectors, list) or not all(isinstance(s, dict) for s in selectors):
        raise argparse.ArgumentTypeError("expected a JSON list of advanced event selectors")
    return selectors


def _printable(text: str) -> str:
    """What the APIs returned, escaped: never terminal controls."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
