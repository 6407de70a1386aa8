"""Enrichment throughput on one core (not a test): realistic subscription payloads of
CloudTrail records (several accounts, the CIS-watched event types, seed 001's KMS shapes),
decoded, parsed, tagged and built into documents as the Lambda does, without the sink.

    .venv/bin/python bench/analytics_enrich.py [--events 50000] [--batch 500] [--rounds 5]

Prints events per second (CPU time of this process, best of the rounds) for the whole
pipeline and for the document building alone."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import analytics_samples as samples  # noqa: E402
from trail_validators.analytics.enrich import enrich  # noqa: E402
from trail_validators.analytics.subscription import decode  # noqa: E402

ACCOUNTS = list(samples.ACCOUNTS) + ["444444444444", "555555555555"]


def mixed_records(count: int) -> list[dict]:
    makers = [
        lambda a, n: samples.record("DescribeInstances", "ec2.amazonaws.com", account=a, offset=n, readOnly=True),
        lambda a, n: samples.record("GetObject", "s3.amazonaws.com", account=a, offset=n,
                                    requestParameters={"bucketName": "data", "key": f"k/{n}"}),
        lambda a, n: samples.seed_001_cloudtrail_generate_data_key(a, n),
        lambda a, n: samples.seed_001_user_decrypts_log(a, n),
        lambda a, n: samples.access_denied(a, n),
        lambda a, n: samples.root_console_login(a, n),
        lambda a, n: samples.record("PutRolePolicy", "iam.amazonaws.com", account=a, offset=n,
                                    requestParameters={"roleName": "r", "policyName": "p",
                                                       "policyDocument": '{"Statement":[]}' * 20}),
        lambda a, n: samples.record("AssumeRole", "sts.amazonaws.com", account=a, offset=n,
                                    responseElements={"credentials": {"accessKeyId": "ASIA", "expiration": "x"}}),
    ]
    return [makers[n % len(makers)](ACCOUNTS[n % len(ACCOUNTS)], n % 3000) for n in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    records = mixed_records(args.events)
    payloads = [samples.payload(records[i:i + args.batch], first_id=i) for i in range(0, len(records), args.batch)]
    batches = [decode(p) for p in payloads]
    names = dict(samples.ACCOUNTS)

    def whole() -> int:
        return sum(len(enrich(decode(p), index_prefix="cloudtrail", account_names=names).documents) for p in payloads)

    def build_only() -> int:
        return sum(len(enrich(b, index_prefix="cloudtrail", account_names=names).documents) for b in batches)

    print(f"events: {args.events:,} in payloads of {args.batch} (best of {args.rounds}, CPU time, one core)")
    for label, work in (("decode + parse + tag + build", whole), ("parse + tag + build", build_only)):
        best = float("inf")
        for _ in range(args.rounds):
            start = time.process_time()
            documents = work()
            best = min(best, time.process_time() - start)
        assert documents == args.events, documents
        print(f"{label:30s} {args.events / best:12,.0f} events/s")


if __name__ == "__main__":
    main()
