"""boto3 adapters of the digest validator: S3 reads, CloudTrail's public keys and the trail,
the checkpoint store."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Callable, Iterator

from botocore.exceptions import ClientError

from ..contract import PARTITION_KEY, checkpoint_key
from .chain import ANCHOR_LOOKBACK, CADENCE, Anchor, ObjectUnreadable, StoredObject, Window
from .layout import ChainId
from .log_files import CHUNK

UNREADABLE_OBJECT_ERRORS = frozenset(("InvalidObjectState", "AccessDenied", "InvalidRequest"))
"""GetObject errors of one object, not of the run: archived, denied (another KMS key), SSE-C."""


class S3Reader:
    """ObjectReader over one bucket (thread-safe: boto3 clients are)."""

    def __init__(self, client, bucket: str) -> None:
        self.client, self.bucket = client, bucket

    def list_keys(self, prefix: str) -> list[str]:
        keys = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def list_after(self, prefix: str, start_after: str) -> Iterator[str]:
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, StartAfter=start_after):
            yield from (item["Key"] for item in page.get("Contents", []))

    def list_children(self, prefix: str) -> list[str]:
        return self.list_level(prefix)[1]

    def list_level(self, prefix: str) -> tuple[list[str], list[str]]:
        keys, names = [], []
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            keys.extend(item["Key"] for item in page.get("Contents", []))
            names.extend(p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes", []))
        return keys, names

    def get(self, key: str, max_bytes: int | None = None) -> StoredObject | None:
        response = self._get_object(key)
        if response is None:
            return None
        with response["Body"] as body:
            data = body.read() if max_bytes is None else body.read(max_bytes + 1)
        # A header's value is what lies between its surrounding whitespace (RFC 9110 5.5):
        # http.client keeps trailing blanks, the command line's own HTTP client does not.
        return StoredObject(data, {name: value.strip(" \t") for name, value in response.get("Metadata", {}).items()})

    def stream(self, key: str) -> Iterator[bytes] | None:
        response = self._get_object(key)
        return None if response is None else _closing_chunks(response["Body"])

    def _get_object(self, key: str) -> dict | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            return None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in UNREADABLE_OBJECT_ERRORS or code.startswith("KMS."):
                raise ObjectUnreadable(f"{code}: {error.response['Error'].get('Message', '')}"[:300]) from None
            raise


def _closing_chunks(body) -> Iterator[bytes]:
    with body:
        yield from body.iter_chunks(CHUNK)


def cloudtrail_public_keys(client_for_region: Callable[[str], object]) -> Callable[[str, Window], dict[str, bytes]]:
    """PublicKeys from ``cloudtrail:ListPublicKeys`` (DER values, by fingerprint). The
    search spans every digest a run reads, from the one before the window to those a
    cadence after it: keys rotate. One client per region, made once."""
    client_for_region = functools.cache(client_for_region)

    def public_keys(region: str, window: Window) -> dict[str, bytes]:
        try:
            client, keys, token = client_for_region(region), {}, None
            while True:
                kwargs = {"StartTime": window.start - ANCHOR_LOOKBACK - CADENCE, "EndTime": window.end + 2 * CADENCE}
                response = client.list_public_keys(**kwargs, **({"NextToken": token} if token else {}))
                keys.update({key["Fingerprint"]: key["Value"] for key in response.get("PublicKeyList", [])})
                token = response.get("NextToken")
                if not token:
                    return keys
        except Exception:
            if region in _known_regions():
                raise
            return {}  # a folder named like a region AWS does not have: nothing there can verify
    return public_keys


@functools.cache
def _known_regions() -> frozenset[str]:
    import boto3
    session = boto3.session.Session()
    return frozenset(region for partition in session.get_available_partitions()
                     for region in session.get_available_regions("cloudtrail", partition_name=partition))


def describe_trail(client, trail_arn: str) -> dict:
    trails = [trail for trail in client.describe_trails(trailNameList=[trail_arn], includeShadowTrails=True)
              .get("trailList", []) if trail.get("TrailARN") == trail_arn]
    if not trails:
        raise LookupError(f"trail {trail_arn} not found (check the ARN and the region it names)")
    return trails[0]


class CheckpointStore:
    """Per chain: the newest validated digest (key, end, hash, signature)."""

    def __init__(self, table_name: str, client) -> None:
        self.table_name, self.client = table_name, client

    @staticmethod
    def _pk(chain: ChainId) -> str:
        return checkpoint_key(chain.account, chain.region)

    def load(self, chain: ChainId) -> Anchor | None:
        item = self.client.get_item(TableName=self.table_name, Key={PARTITION_KEY: {"S": self._pk(chain)}},
                                    ConsistentRead=True).get("Item")
        if not item:
            return None
        return Anchor(item["key"]["S"], datetime.fromisoformat(item["end"]["S"]),
                      item.get("sha256", {}).get("S"), item.get("signature", {}).get("S"))

    def save(self, chain: ChainId, anchor: Anchor) -> None:
        item = {PARTITION_KEY: {"S": self._pk(chain)}, "key": {"S": anchor.key}, "end": {"S": anchor.end.isoformat()}}
        if anchor.sha256:
            item["sha256"] = {"S": anchor.sha256}
        if anchor.signature:
            item["signature"] = {"S": anchor.signature}
        self.client.put_item(TableName=self.table_name, Item=item)
