"""Benchmark (not a test): `aws cloudtrail validate-logs` (one call per account and region,
as an organization trail needs) against one `secure-trail validate-logs` run, on the same
simulated organization trail, served by moto through a replaying front that adds a fixed
delay to every request to mimic S3 (bench/replay_server.py). A warm-up run of both tools
records moto's answers before anything is timed.

    make bench            # or: .venv/bin/python bench/validate_logs.py --aws .venv-bench/bin/aws

Prints, for each delay, the wall times of the AWS CLI loop, of four AWS CLIs at once and of
secure-trail, the ratios, secure-trail's CPU per object fetched and the requests it made, the
verdicts; then secure-trail's time per chain-hour on 20 and on 200 chains (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import resource
import subprocess
import tempfile
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
    parser.add_argument("--scale-chains", default="20,200",
                        help="secure-trail alone on this many chains each (empty: skip), at the last delay")
    parser.add_argument("--scale-hours", type=int, default=6)
    parser.add_argument("--profile", metavar="FILE", help="no AWS CLI: sample one secure-trail run with py-spy "
                                                           "at the last delay, write the samples to FILE and "
                                                           "print where the CPU went")
    args = parser.parse_args()
    delays = [int(d) for d in args.delays_ms.split(",")]
    scale = [int(n) for n in args.scale_chains.split(",") if n] if not args.profile else []

    # An installed secure-trail runs from bytecode (pip compiles it); so does the one timed
    # here, wherever PYTHONDONTWRITEBYTECODE keeps Python from writing it itself.
    compileall.compile_dir(LAMBDA_SRC / "trail_validators", quiet=1)
    server = ReplayServer()
    env = {**os.environ, "AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": "bench",
           "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": HOME, "AWS_EC2_METADATA_DISABLED": "true"}
    os.environ.update(env)
    organizations = boto3.client("organizations", endpoint_url=server.moto_endpoint, region_name=HOME)
    org_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    org = publish_trail(server, org_id, BUCKET, TRAIL, _chains(args.accounts, args.regions), args.hours, args.logs)
    scale_trails = [publish_trail(server, org_id, f"scale-{n}", f"scale-{n}", _chains(-(-n // 4), 4)[:n],
                                  args.scale_hours, args.logs) for n in scale]
    server.publish_keys({key: der for trail in [org, *scale_trails] for key, der in trail.public_keys.items()},
                        T0, T0 + timedelta(hours=args.hours + 1))
    print(f"organization trail: {args.accounts} accounts x {args.regions} regions x {args.hours} hours x "
          f"{args.logs} logs = {len(org.chains) * args.hours} digests, {len(org.chains) * args.hours * args.logs} "
          "log files")
    if args.profile:
        time_secure_trail(server, org, env)  # warm-up
        server.delay = delays[-1] / 1000
        run = time_secure_trail(server, org, env)
        print(f"secure-trail: {run.wall:.2f} s, CPU {run.cpu:.2f} s = {1000 * run.cpu / max(1, run.gets):.3f} ms "
              f"per object fetched ({run.requests_text}); load average {os.getloadavg()[0]:.1f}")
        compare_fetch_paths(org, env)
        profile(args.profile, org, env)
        server.shutdown()
        return
    # warm-up: records moto's answers
    time_aws_cli(args.aws, org, org.chains, env)
    time_secure_trail(server, org, env)
    for trail in scale_trails:
        time_secure_trail(server, trail, env)
    for delay_ms in delays:
        server.delay = delay_ms / 1000
        cli_s, cli = time_aws_cli(args.aws, org, org.chains, env)
        four_s, four = time_four_aws_clis(args.aws, org, env)
        ours = time_secure_trail(server, org, env)
        print(f"delay {delay_ms:>3} ms | aws cloudtrail validate-logs loop ({len(org.chains)} calls): {cli_s:7.2f} s | "
              f"4 at once: {four_s:6.2f} s | secure-trail validate-logs (1 call): {ours.wall:6.2f} s")
        print(f"             ratio {cli_s / ours.wall:5.1f}x the loop, {four_s / ours.wall:5.1f}x four CLIs | "
              f"secure-trail CPU {ours.cpu:.2f} s = {1000 * ours.cpu / max(1, ours.gets):.3f} ms per object fetched "
              f"({ours.requests_text})")
        print(f"             verdicts: aws cli {cli}  |  4 at once {four}  |  secure-trail {ours.verdict}")
        print(f"             local server CPU during secure-trail: {ours.server_cpu:.2f} s; "
              f"load average now {os.getloadavg()[0]:.1f}")
    if scale_trails:
        print(f"scale, delay {delays[-1]} ms, secure-trail alone, {args.scale_hours} hours a chain:")
        per_chain_hour = []
        for n, trail in zip(scale, scale_trails):
            run = time_secure_trail(server, trail, env)
            per_chain_hour.append(run.wall / (n * args.scale_hours))
            print(f"  {n:>4} chains: {run.wall:6.2f} s = {1000 * per_chain_hour[-1]:6.2f} ms per chain-hour | "
                  f"CPU {1000 * run.cpu / max(1, run.gets):.3f} ms per object fetched | {run.verdict}")
        print(f"  time per chain-hour, {scale[-1]} chains against {scale[0]}: "
              f"{per_chain_hour[-1] / per_chain_hour[0]:.2f}x (load average now {os.getloadavg()[0]:.1f})")
    server.shutdown()


@dataclass
class PublishedTrail:
    bucket: str
    arn: str
    chains: list[ChainId]
    start: str
    end: str
    public_keys: dict[str, bytes]
    object_keys: list[str]


def _chains(accounts: int, regions: int) -> list[ChainId]:
    names = ["us-east-1", "eu-west-1", "ap-northeast-2", "sa-east-1", "eu-central-1", "us-west-2"][:regions]
    return [ChainId(f"{100000000000 + n:012d}", region) for n in range(accounts) for region in names]


def publish_trail(server: ReplayServer, org_id: str, bucket: str, trail: str, chains: list[ChainId], hours: int,
                  logs: int) -> PublishedTrail:
    """A simulated organization trail in its own bucket, written straight to moto."""
    sim = SimulatedTrail(TrailLocation(bucket, None, org_id, trail, HOME))
    for chain in chains:
        # to the digest after the window's end: it covers the window's last 20 minutes
        sim.deliver(chain, T0 - timedelta(hours=1), hours + 2, logs_per_hour=logs)
    s3 = boto3.client("s3", endpoint_url=server.moto_endpoint, region_name=HOME)
    s3.create_bucket(Bucket=bucket)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: s3.put_object(Bucket=bucket, Key=item[0], Body=item[1].data,
                                                 Metadata=dict(item[1].metadata)), sim.objects.items()))
    arn = boto3.client("cloudtrail", endpoint_url=server.moto_endpoint, region_name=HOME).create_trail(
        Name=trail, S3BucketName=bucket, IsMultiRegionTrail=True, IsOrganizationTrail=True,
        EnableLogFileValidation=True)["TrailARN"]
    return PublishedTrail(bucket, arn, chains, (T0 + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                          (T0 + timedelta(hours=hours, minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ"), sim.public_keys,
                          list(sim.objects))


def time_four_aws_clis(aws: str, trail: PublishedTrail, env: dict):
    """The AWS CLI as a user would parallelize it: four processes at a time, one per chain."""
    began = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda chain: time_aws_cli(aws, trail, [chain], env)[1], trail.chains))
    return time.perf_counter() - began, f"{sum(run.endswith(' 0 failing calls') for run in runs)}/{len(runs)} calls valid"


def time_aws_cli(aws: str, trail: PublishedTrail, chains: list[ChainId], env: dict):
    digests = logs = failures = 0
    began = time.perf_counter()
    for chain in chains:
        run = subprocess.run([aws, "cloudtrail", "validate-logs", "--trail-arn", trail.arn, "--start-time",
                              trail.start, "--end-time", trail.end, "--account-id", chain.account,
                              "--region", chain.region],
                             capture_output=True, text=True, env=env)
        failures += run.returncode != 0
        digest_match = re.search(r"(\d+)/(\d+) digest files valid", run.stdout)
        log_match = re.search(r"(\d+)/(\d+) log files valid", run.stdout)
        if not digest_match:
            raise SystemExit(f"aws cli output not understood for {chain}:\n{run.stdout}\n{run.stderr}")
        digests += int(digest_match.group(1))
        logs += int(log_match.group(1)) if log_match else 0
    return time.perf_counter() - began, f"{digests} digests valid, {logs} log files valid, {failures} failing calls"


# Where a sampled stack's CPU went: the first of these whose frame pattern it holds.
PROFILE_CATEGORIES = (
    ("start-up (imports)", re.compile(r"_find_and_load|<module>")),
    ("RSA verification", re.compile(r"verify_signature")),
    ("digest parsing", re.compile(r"parse_digest")),
    ("log hashing (inflate + SHA-256)", re.compile(r"log_sha256")),
    ("obstore GET", re.compile(r"ObjectStoreReader\.(get|stream|_get)")),
    ("listing (obstore, boto3 where it must)", re.compile(r"_listed|list_keys|list_level|list_children|paginate")),
    ("other boto3 (ListPublicKeys, DescribeTrail, HeadBucket)", re.compile(r"botocore|boto3")),
    ("validation logic", re.compile(r"chain\.py|layout\.py")),
    ("thread pool hand-offs", re.compile(r"concurrent/futures|threading\.py|queue\.py")),
    ("report", re.compile(r"report\.py|json/")),
)


def profile(path: str, trail: PublishedTrail, env: dict) -> None:
    """Sample every thread of one run (py-spy, 250 Hz, the thread holding the GIL) and sum by category."""
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        raise SystemExit(f"--profile needs py-spy: {sys.executable} -m pip install py-spy")
    command = [str(py_spy), "record", "--gil", "--rate", "250", "--format", "raw", "--output", path, "--",
               *_secure_trail_command(trail)]
    subprocess.run(command, capture_output=True, env={**env, "PYTHONPATH": str(LAMBDA_SRC)}, check=True)
    totals: dict[str, int] = {}
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        category = next((name for name, pattern in PROFILE_CATEGORIES if pattern.search(stack)), "other")
        totals[category] = totals.get(category, 0) + int(count)
    samples = sum(totals.values())
    print(f"py-spy: {samples} samples holding the GIL at 250 Hz ({samples / 250:.2f} s of CPU), all threads; raw: {path}")
    for name, count in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {name:<58} {count / samples:6.1%}  {count / 250:5.2f} s")


@dataclass
class SecureTrailRun:
    wall: float
    cpu: float
    """user + system CPU of the secure-trail process, start-up included"""
    server_cpu: float
    requests: Counter
    verdict: str

    @property
    def gets(self) -> int:
        return self.requests["S3 GET"]

    @property
    def requests_text(self) -> str:
        return ", ".join(f"{count} {kind}" for kind, count in sorted(self.requests.items()))


def _secure_trail_command(trail: PublishedTrail) -> list[str]:
    return [sys.executable, "-m", "trail_validators.cli", "validate-logs", "--trail-arn", trail.arn,
            "--start-time", trail.start, "--end-time", trail.end, "--format", "json"]


def time_secure_trail(server: ReplayServer, trail: PublishedTrail, env: dict) -> SecureTrailRun:
    before, children_before, server_before = Counter(server.requests), _children_cpu(), time.process_time()
    began = time.perf_counter()
    run = subprocess.run(_secure_trail_command(trail), capture_output=True, text=True,
                         env={**env, "PYTHONPATH": str(LAMBDA_SRC)})
    elapsed = time.perf_counter() - began
    cpu, server_cpu = _children_cpu() - children_before, time.process_time() - server_before
    if run.returncode not in (0, 1):
        raise SystemExit(f"secure-trail failed:\n{run.stderr}")
    report = json.loads(run.stdout)
    digests = sum(c["digests_valid"] for c in report["chains"])
    logs = sum(c["logs_valid"] for c in report["chains"])
    vouched = report["log_objects"]
    return SecureTrailRun(elapsed, cpu, server_cpu, server.requests - before,
                          f"{digests} digests valid, {logs} log files valid, {vouched['vouched']}/"
                          f"{vouched['log_objects']} log objects in the window vouched for, valid={report['valid']}")


def compare_fetch_paths(trail: PublishedTrail, env: dict) -> None:
    """CPU per GET through boto3 and through obstore (bench/fetch_paths.py, its own process)."""
    keys = sorted(key for key in trail.object_keys if "/CloudTrail/" in key)
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("\n".join(keys))
        listing.flush()
        run = subprocess.run([sys.executable, str(Path(__file__).with_name("fetch_paths.py")), trail.bucket,
                              listing.name], capture_output=True, text=True, env=env, check=True)
    print(f"fetch paths, {len(keys)} log objects, 64 threads, CPU of the fetching process per GET:")
    for line in run.stdout.splitlines():
        name, ms, wall, _ = line.split("\t")
        print(f"  {name:<18} {ms} ms per GET ({wall} s)")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
