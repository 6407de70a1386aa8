"""Benchmark (not a test): `aws cloudtrail validate-logs` (one call per account and region,
as an organization trail needs) against one `secure-trail validate-logs` run, on the same
simulated organization trail, served by moto through a replaying front that adds a fixed
delay to every request to mimic S3 (bench/replay_server.py). A warm-up run of both tools
records moto's answers before anything is timed.

    make bench            # or: .venv/bin/python bench/validate_logs.py --aws .venv-bench/bin/aws

Prints both wall times, the ratio and both verdicts, for each delay.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
from replay_server import ReplayServer

REPO = Path(__file__).resolve().parents[1]
LAMBDA_SRC = REPO / "lambda_src"
# The validators, and the simulated trail that the tests share (it never ships).
sys.path[:0] = [str(LAMBDA_SRC), str(REPO / "tests")]
from trail_simulation import SimulatedTrail  # noqa: E402
from trail_validators.digests.layout import ChainId, TrailLocation  # noqa: E402

BUCKET, TRAIL, HOME = "org-trail-bucket", "org-trail", "us-east-1"
T0 = datetime(2026, 11, 20, tzinfo=timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--aws", default=".venv-bench/bin/aws", help="the AWS CLI v1 to compare with")
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--logs", type=int, default=5, help="log files per digest")
    parser.add_argument("--delays-ms", default="0,20")
    args = parser.parse_args()

    server = ReplayServer()
    setup_endpoint = server.moto_endpoint  # straight to moto, no delay
    env = {**os.environ, "AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": "bench",
           "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": HOME, "AWS_EC2_METADATA_DISABLED": "true"}
    os.environ.update(env)
    organizations = boto3.client("organizations", endpoint_url=setup_endpoint, region_name=HOME)
    org_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]

    location = TrailLocation(BUCKET, None, org_id, TRAIL, HOME)
    regions = ["us-east-1", "eu-west-1", "ap-northeast-2", "sa-east-1", "eu-central-1", "us-west-2"][:args.regions]
    chains = [ChainId(f"{100000000000 + n:012d}", region) for n in range(args.accounts) for region in regions]
    sim = SimulatedTrail(location)
    for chain in chains:
        # to the digest after the window's end: it covers the window's last 20 minutes
        sim.deliver(chain, T0 - timedelta(hours=1), args.hours + 2, logs_per_hour=args.logs)
    server.publish_keys(sim.public_keys, T0, T0 + timedelta(hours=args.hours + 1))

    s3 = boto3.client("s3", endpoint_url=setup_endpoint, region_name=HOME)
    s3.create_bucket(Bucket=BUCKET)
    for key, stored in sim.objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=stored.data, Metadata=dict(stored.metadata))
    trail_arn = boto3.client("cloudtrail", endpoint_url=setup_endpoint, region_name=HOME).create_trail(
        Name=TRAIL, S3BucketName=BUCKET, IsMultiRegionTrail=True, IsOrganizationTrail=True,
        EnableLogFileValidation=True)["TrailARN"]

    start, end = (T0 + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"), \
        (T0 + timedelta(hours=args.hours, minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"organization trail: {args.accounts} accounts x {len(regions)} regions x {args.hours} hours x "
          f"{args.logs} logs = {len(chains) * args.hours} digests, {len(chains) * args.hours * args.logs} log files")
    time_aws_cli(args.aws, trail_arn, chains, start, end, env)  # warm-up: records moto's answers
    time_secure_trail(trail_arn, start, end, env)
    for delay_ms in (int(d) for d in args.delays_ms.split(",")):
        server.delay = delay_ms / 1000
        cpu_before_cli = time.process_time()  # this process is the server: its CPU is the server's
        cli_s, cli = time_aws_cli(args.aws, trail_arn, chains, start, end, env)
        cpu_before_ours = time.process_time()
        ours_s, ours = time_secure_trail(trail_arn, start, end, env)
        cpu_after = time.process_time()
        print(f"delay {delay_ms:>3} ms | aws cloudtrail validate-logs loop ({len(chains)} calls): {cli_s:7.2f} s | "
              f"secure-trail validate-logs (1 call): {ours_s:6.2f} s | ratio {cli_s / ours_s:5.1f}x")
        print(f"             verdicts: aws cli {cli}  |  secure-trail {ours}")
        print(f"             local server CPU: {cpu_before_ours - cpu_before_cli:.2f} s during the aws cli loop, "
              f"{cpu_after - cpu_before_ours:.2f} s during secure-trail")
    server.shutdown()


def time_aws_cli(aws: str, trail_arn: str, chains: list[ChainId], start: str, end: str, env: dict):
    digests = logs = failures = 0
    began = time.perf_counter()
    for chain in chains:
        run = subprocess.run([aws, "cloudtrail", "validate-logs", "--trail-arn", trail_arn, "--start-time", start,
                              "--end-time", end, "--account-id", chain.account, "--region", chain.region],
                             capture_output=True, text=True, env=env)
        failures += run.returncode != 0
        digest_match = re.search(r"(\d+)/(\d+) digest files valid", run.stdout)
        log_match = re.search(r"(\d+)/(\d+) log files valid", run.stdout)
        if not digest_match:
            raise SystemExit(f"aws cli output not understood for {chain}:\n{run.stdout}\n{run.stderr}")
        digests += int(digest_match.group(1))
        logs += int(log_match.group(1)) if log_match else 0
    return time.perf_counter() - began, f"{digests} digests valid, {logs} log files valid, {failures} failing calls"


def time_secure_trail(trail_arn: str, start: str, end: str, env: dict):
    began = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "trail_validators.cli", "validate-logs", "--trail-arn", trail_arn,
                          "--start-time", start, "--end-time", end, "--format", "json"],
                         capture_output=True, text=True, env={**env, "PYTHONPATH": str(LAMBDA_SRC)})
    elapsed = time.perf_counter() - began
    if run.returncode not in (0, 1):
        raise SystemExit(f"secure-trail failed:\n{run.stderr}")
    report = json.loads(run.stdout)
    digests = sum(c["digests_valid"] for c in report["chains"])
    logs = sum(c["logs_valid"] for c in report["chains"])
    vouched = report["log_objects"]
    return elapsed, (f"{digests} digests valid, {logs} log files valid, {vouched['vouched']}/{vouched['log_objects']} "
                     f"log objects in the window vouched for, valid={report['valid']}")


if __name__ == "__main__":
    main()
