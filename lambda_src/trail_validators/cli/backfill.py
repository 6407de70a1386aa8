"""``secure-trail backfill``: start the digest backfill's state machine for a range of days.

Every chain (account and region) of the trail times every UTC day from ``--since`` to
``--until`` is validated by the digest worker on a Step Functions Distributed Map; findings
reach the alerts topic as the hourly ones do. This command only checks the range and starts
the execution (its input is ``contract.BackfillRequest``); exit 0 started, 2 errors.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime, timezone

from ..contract import DIGEST_BACKFILL, BackfillRequest, backfill_items_key
from . import aws_options, output

EXIT_OK, EXIT_ERROR = 0, 2
UNSIGNED = "Step Functions answers only signed requests"
STATE_MACHINE_ARN = re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}")


def add_parser(commands) -> None:
    backfill = commands.add_parser(
        "backfill", help="validate years of digest history on the deployed Step Functions backfill",
        description="Starts the deployed backfill state machine: every account and region of the trail times "
                    "every UTC day from --since to --until (both included) is validated by the digest worker, "
                    "at most the deployed backfill_concurrency at once; findings reach the alerts topic. The "
                    "execution fails (and the backfill alarm fires) unless every chain-day was validated. "
                    "Exit 0 started, 2 errors.")
    backfill.add_argument("--state-machine-arn", required=True, type=_state_machine_arn,
                          help=f"the backfill state machine (deployed as <trail-name>-{DIGEST_BACKFILL})")
    backfill.add_argument("--since", required=True, help="first UTC day, YYYY-MM-DD")
    backfill.add_argument("--until", help="last UTC day, YYYY-MM-DD (default: today)")
    backfill.add_argument("--name", help="execution name (default: backfill-<since>-<until>-<start time>)")
    output.add_arguments(backfill)
    aws_options.add_arguments(backfill, endpoint_help="Step Functions endpoint URL",
                              unsigned_help=f"refused here: {UNSIGNED}")
    backfill.set_defaults(run=run)


def run(args: argparse.Namespace, now: datetime | None = None) -> int:
    now = now or datetime.now(timezone.utc)
    request = BackfillRequest.parse({"since": args.since, "until": args.until or now.date().isoformat()},
                                    today=now.date())
    name = args.name or (f"backfill-{request.since.replace('-', '')}-{request.until.replace('-', '')}-"
                         f"{now:%Y%m%dT%H%M%SZ}")
    backfill_items_key(name)  # the planner names the item list after it: refuse what it would refuse
    aws = aws_options.AwsOptions.from_args(args)
    aws.require_signing("backfill", UNSIGNED)
    client = aws.session().client("stepfunctions", region_name=aws.region or args.state_machine_arn.split(":")[3],
                                  config=aws.config(retries={"mode": "standard"}), verify=aws.verify,
                                  endpoint_url=aws.endpoint_url)
    started = client.start_execution(stateMachineArn=args.state_machine_arn, name=name,
                                     input=json.dumps(request.to_json()))
    report = {"execution_arn": started["executionArn"], "name": name, "input": request.to_json(),
              "days": len(request.days())}
    output.emit(args, report, lambda: f"{started['executionArn']}\nbackfill of {request.since} to "
                                      f"{request.until} ({len(request.days())} days) started as {name}")
    return EXIT_OK


def _state_machine_arn(value: str) -> str:
    if not STATE_MACHINE_ARN.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a state machine ARN "
                                         "(arn:aws:states:<region>:<account>:stateMachine:<name>)")
    return value
