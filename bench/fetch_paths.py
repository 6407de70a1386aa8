"""Run by bench/validate_logs.py in a process of its own: the CPU that one GET costs through
boto3 (the client tuned as the validator tunes it) and through obstore, on the same keys
from the same local server, each path timed alone.

    python bench/fetch_paths.py BUCKET KEYS_FILE [CONCURRENCY]    # AWS_ENDPOINT_URL set
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambda_src"))
from trail_validators.cli.object_store_reader import ObjectStoreReader  # noqa: E402
from trail_validators.digests.aws import S3Reader  # noqa: E402


def main() -> None:
    bucket, keys = sys.argv[1], Path(sys.argv[2]).read_text().split()
    concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    config = Config(max_pool_connections=concurrency, retries={"mode": "standard"}, parameter_validation=False)
    session = boto3.Session()
    readers = {"boto3 get_object": S3Reader(session.client("s3", config=config), bucket),
               "obstore get": ObjectStoreReader(session, bucket, config)}
    for name, reader in readers.items():
        reader.get(keys[0])  # connections, credentials
        with ThreadPoolExecutor(concurrency) as pool:
            cpu, wall = time.process_time(), time.perf_counter()
            fetched = sum(len(stored.data) for stored in pool.map(reader.get, keys))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"{name}\t{1000 * cpu / len(keys):.3f}\t{wall:.2f}\t{fetched}")


if __name__ == "__main__":
    main()
