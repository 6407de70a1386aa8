"""Benchmark (not a test): `aws cloudtrail validate-logs` (one call per account and region,
as an organization trail needs) against one `secure-trail validate-logs` run, on the same
simulated organization trail served by a local moto server that adds a fixed delay to
every request to mimic S3. CloudTrail ListPublicKeys, which moto lacks, is answered by
the same server from the simulation's key.

    make bench            # or: .venv/bin/python bench/validate_logs.py --aws .venv-bench/bin/aws

Prints both wall times, the ratio and both verdicts, for each delay.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import unquote
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3.models import s3_backends
from werkzeug.serving import WSGIRequestHandler, make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambda_src"))
from trail_validators.trail_layout import ChainId, TrailLocation  # noqa: E402
from trail_validators.trail_simulation import SimulatedTrail  # noqa: E402

BUCKET, TRAIL, HOME = "org-trail-bucket", "org-trail", "us-east-1"
MOTO_ACCOUNT = "123456789012"
T0 = datetime(2026, 11, 20, tzinfo=timezone.utc)


class DelayedMoto:
    """moto's WSGI app behind a fixed per-request delay, plus a ListPublicKeys answer.

    GetObject of an existing object is answered straight from moto's S3 backend: moto's
    HTTP routing costs a few ms of CPU per request, on the same two cores as the clients,
    and would otherwise be what is measured. Everything else goes through moto's server.
    """

    def __init__(self) -> None:
        self.app = DomainDispatcherApplication(create_backend_app)
        self.delay = 0.0
        self.keys_body = b'{"PublicKeyList": []}'

    def publish_keys(self, public_keys: dict[str, bytes]) -> None:
        self.keys_body = json.dumps({"PublicKeyList": [
            {"Value": base64.b64encode(der).decode(), "Fingerprint": fingerprint,
             "ValidityStartTime": (T0 - timedelta(days=30)).timestamp(),
             "ValidityEndTime": (T0 + timedelta(days=30)).timestamp()}
            for fingerprint, der in public_keys.items()]}).encode()

    def __call__(self, environ, start_response):
        if self.delay:
            time.sleep(self.delay)
        if environ.get("HTTP_X_AMZ_TARGET", "").endswith("ListPublicKeys"):
            start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                                      ("Content-Length", str(len(self.keys_body)))])
            return [self.keys_body]
        if environ["REQUEST_METHOD"] == "GET" and not environ.get("QUERY_STRING"):
            stored = _moto_object(environ.get("PATH_INFO", ""))
            if stored is not None:
                start_response("200 OK", [
                    ("Content-Type", "binary/octet-stream"), ("Content-Length", str(len(stored.value))),
                    ("ETag", stored.etag), ("Last-Modified", stored.last_modified_RFC1123),
                    *((name, value) for name, value in stored.metadata.items() if name.startswith("x-amz-meta-"))])
                return [stored.value]
        return self.app(environ, start_response)


def _moto_object(path: str):
    bucket, _, key = path.lstrip("/").partition("/")
    if not key:
        return None
    try:
        return s3_backends[MOTO_ACCOUNT]["aws"].get_object(bucket, unquote(key))
    except Exception:  # noqa: BLE001 - anything unusual: let moto's server answer
        return None


class QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as S3 does: no new TCP connection per request

    def log_request(self, *args, **kwargs) -> None:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--aws", default=".venv-bench/bin/aws", help="the AWS CLI v1 to compare with")
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--logs", type=int, default=5, help="log files per digest")
    parser.add_argument("--delays-ms", default="0,20")
    args = parser.parse_args()

    port = free_port()
    server_app = DelayedMoto()
    server = make_server("127.0.0.1", port, server_app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": HOME, "AWS_EC2_METADATA_DISABLED": "true"}
    os.environ.update(env)
    organizations = boto3.client("organizations", endpoint_url=endpoint, region_name=HOME)
    org_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]

    location = TrailLocation(BUCKET, None, org_id, TRAIL, HOME)
    regions = ["us-east-1", "eu-west-1", "ap-northeast-2", "sa-east-1", "eu-central-1", "us-west-2"][:args.regions]
    chains = [ChainId(f"{100000000000 + n:012d}", region) for n in range(args.accounts) for region in regions]
    sim = SimulatedTrail(location)
    for chain in chains:
        sim.deliver(chain, T0 - timedelta(hours=1), args.hours + 1, logs_per_hour=args.logs)
    server_app.publish_keys(sim.public_keys)

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=HOME)
    s3.create_bucket(Bucket=BUCKET)
    for key, stored in sim.objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=stored.data, Metadata=dict(stored.metadata))
    trail_arn = boto3.client("cloudtrail", endpoint_url=endpoint, region_name=HOME).create_trail(
        Name=TRAIL, S3BucketName=BUCKET, IsMultiRegionTrail=True, IsOrganizationTrail=True,
        EnableLogFileValidation=True)["TrailARN"]

    start, end = (T0 + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"), \
        (T0 + timedelta(hours=args.hours, minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"organization trail: {args.accounts} accounts x {len(regions)} regions x {args.hours} hours x "
          f"{args.logs} logs = {len(chains) * args.hours} digests, {len(chains) * args.hours * args.logs} log files")
    for delay_ms in (int(d) for d in args.delays_ms.split(",")):
        server_app.delay = delay_ms / 1000
        cli_s, cli = time_aws_cli(args.aws, trail_arn, chains, start, end, env)
        ours_s, ours = time_secure_trail(trail_arn, start, end, env)
        print(f"delay {delay_ms:>3} ms | aws cloudtrail validate-logs loop ({len(chains)} calls): {cli_s:7.2f} s | "
              f"secure-trail validate-logs (1 call): {ours_s:6.2f} s | ratio {cli_s / ours_s:5.1f}x")
        print(f"             verdicts: aws cli {cli}  |  secure-trail {ours}")
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
                         capture_output=True, text=True, env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "lambda_src")})
    elapsed = time.perf_counter() - began
    if run.returncode not in (0, 1):
        raise SystemExit(f"secure-trail failed:\n{run.stderr}")
    report = json.loads(run.stdout)
    digests = sum(c["digests_valid"] for c in report["chains"])
    logs = sum(c["logs_valid"] for c in report["chains"])
    return elapsed, f"{digests} digests valid, {logs} log files valid, valid={report['valid']}"


if __name__ == "__main__":
    main()
