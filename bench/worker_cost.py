"""Benchmark (not a test): what the hourly digest worker spends per chain-hour, the input of
docs/cost.md. N chains of a simulated organization trail are served by the local S3
stand-in (bench/replay_server.py: moto behind a replaying front that counts every request
by kind); the worker Lambda's code (DigestWorker, as the handler builds it) validates each
chain once an hour for a few simulated hours, from its checkpoint, as the schedule does.
The first hour (no checkpoint yet) is shown apart; the steady state is the hours after it.

    .venv/bin/python bench/worker_cost.py [--chains 20] [--hours 4] [--delay-ms 20]

Prints, per chain-hour: S3 LIST, GET and HEAD requests, the other API calls (DynamoDB,
SNS, ListPublicKeys), and the worker's duration, with the memory size it runs at.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import boto3
from replay_server import ReplayServer

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "lambda_src"), str(REPO / "tests"), str(REPO / "constructs")]
from sqs_harness import create_validators_table  # noqa: E402
from trail_simulation import T0, SimulatedTrail  # noqa: E402
from trail_validators.alerts import AlertPublisher, ValidatorsTable  # noqa: E402
from trail_validators.contract import DIGEST_PLAN_MINUTE  # noqa: E402
from trail_validators.digests.aws import CheckpointStore, S3Reader, cloudtrail_public_keys  # noqa: E402
from trail_validators.digests.layout import ChainId, TrailLocation  # noqa: E402

BUCKET, TRAIL, HOME, ORG = "cost-trail-bucket", "org-trail", "us-east-1", "o-a1b2c3d4e5"
WORKER_MEMORY_MB = 1024  # constructs/secure_trail/validators/digests.py


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chains", type=int, default=20)
    parser.add_argument("--hours", type=int, default=4, help="hourly runs after the first")
    parser.add_argument("--logs", type=int, default=12, help="log files per chain-hour (CloudTrail: about 12)")
    parser.add_argument("--delay-ms", type=int, default=20)
    args = parser.parse_args()

    server = ReplayServer()
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": HOME,
                       "AWS_EC2_METADATA_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "bench", "POWERTOOLS_LOG_LEVEL": "WARNING"})
    location = TrailLocation(BUCKET, None, ORG, TRAIL, HOME)
    chains = [ChainId(f"{100000000000 + n // 4:012d}", ["us-east-1", "eu-west-1", "ap-northeast-2", "sa-east-1"][n % 4])
              for n in range(args.chains)]
    sim = SimulatedTrail(location)
    for chain in chains:
        sim.deliver(chain, T0, args.hours + 5, logs_per_hour=args.logs)
    setup = {name: boto3.client(name, endpoint_url=server.moto_endpoint, region_name=HOME)
             for name in ("s3", "dynamodb", "sns")}
    setup["s3"].create_bucket(Bucket=BUCKET)
    for key, stored in sim.objects.items():
        setup["s3"].put_object(Bucket=BUCKET, Key=key, Body=stored.data, Metadata=dict(stored.metadata))
    create_validators_table(setup["dynamodb"])
    topic = setup["sns"].create_topic(Name="alerts")["TopicArn"]
    server.publish_keys(sim.public_keys, T0, T0 + timedelta(hours=args.hours + 5))
    server.delay = args.delay_ms / 1000

    from botocore.config import Config
    from trail_validators.handlers import digest_validation
    client = lambda name, **kw: boto3.client(name, endpoint_url=server.endpoint, region_name=HOME,  # noqa: E731
                                             config=Config(max_pool_connections=digest_validation.FETCH_CONCURRENCY),
                                             **kw)
    dynamodb = client("dynamodb")
    clock = {"now": T0 + timedelta(hours=3, minutes=DIGEST_PLAN_MINUTE)}  # the deployed hourly minute
    worker = digest_validation.DigestWorker(
        S3Reader(client("s3"), BUCKET), location, CheckpointStore("validators", dynamodb),
        ValidatorsTable("validators", dynamodb), AlertPublisher(topic, client("sns")),
        cloudtrail_public_keys(lambda region: client("cloudtrail")), clock=lambda: clock["now"])

    print(f"{args.chains} chains x {args.logs} logs an hour, {args.delay_ms} ms per request, "
          f"load average {os.getloadavg()[0]:.1f}")
    for label, hours in (("first run (no checkpoint)", 1), (f"steady state ({args.hours} hours)", args.hours)):
        before, seconds = Counter(server.requests), 0.0
        for _ in range(hours):
            for chain in chains:
                began = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):  # the EMF metrics
                    result = worker.validate(chain)
                seconds += time.perf_counter() - began
                if result.failed:
                    raise SystemExit(f"{chain}: {[f.kind for f in result.findings]}")
            clock["now"] += timedelta(hours=1)
        chain_hours = hours * len(chains)
        counts = server.requests - before
        print(f"{label}, per chain-hour:")
        for kind in ("S3 LIST", "S3 GET", "S3 HEAD"):
            print(f"  {kind:<28} {counts.pop(kind, 0) / chain_hours:7.2f}")
        for kind, count in sorted(counts.items()):
            print(f"  {kind:<28} {count / chain_hours:7.2f}")
        print(f"  {'KMS Decrypt':<28}   (not visible: S3 calls KMS itself, for SSE-KMS objects, see docs/cost.md)")
        print(f"  {'Lambda duration':<28} {1000 * seconds / chain_hours:7.1f} ms at {WORKER_MEMORY_MB} MB "
              f"= {seconds / chain_hours * WORKER_MEMORY_MB / 1024:.4f} GB-s")


if __name__ == "__main__":
    main()
