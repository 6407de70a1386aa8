"""boto3 adapters shared by the Lambda handlers: the validators' table and the alerts topic."""

from __future__ import annotations

import functools
import json
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Callable, Iterable

from .chain import Anchor, StoredObject, Window
from .contract import PARTITION_KEY, TTL_ATTRIBUTE, checkpoint_key
from .findings import Finding, Severity
from .trail_layout import ChainId

DEDUPE_DAYS = 35
MAX_FINDINGS_PER_ALERT = 20


class ValidatorsTable:
    """The validators' DynamoDB table (key schema in ``contract``): dedupe markers."""

    def __init__(self, table_name: str, client) -> None:
        self.table_name, self.client = table_name, client

    def claim(self, marker: str) -> bool:
        """Write the marker once; False when it was already there (a redelivery)."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={PARTITION_KEY: {"S": marker},
                      TTL_ATTRIBUTE: {"N": str(int(time.time()) + DEDUPE_DAYS * 86400)}},
                ConditionExpression=f"attribute_not_exists({PARTITION_KEY})")
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, marker: str) -> None:
        self.client.delete_item(TableName=self.table_name, Key={PARTITION_KEY: {"S": marker}})


def group_for_alerts(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """Findings worth an alert (above info), by kind: one message per kind, not per line."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.severity > Severity.INFO:
            groups[finding.kind].append(finding)
    return dict(groups)


def publish_once(table: ValidatorsTable, alerts: "AlertPublisher", marker: str, scope: str, kind: str,
                 findings: list[Finding]) -> None:
    """Publish unless the marker was claimed before; a failed publish frees it for the retry."""
    if not table.claim(marker):
        return
    try:
        alerts.publish(scope, kind, findings)
    except Exception:
        table.release(marker)
        raise


class AlertPublisher:
    def __init__(self, topic_arn: str, client) -> None:
        self.topic_arn, self.client = topic_arn, client

    def publish(self, subject_scope: str, kind: str, findings: list[Finding]) -> None:
        severity = max(f.severity for f in findings)
        body = {"kind": kind, "severity": str(severity), "count": len(findings), "scope": subject_scope,
                "findings": [f.to_dict() for f in findings[:MAX_FINDINGS_PER_ALERT]],
                "truncated": max(0, len(findings) - MAX_FINDINGS_PER_ALERT)}
        subject = f"[secure-trail {severity}] {kind} x{len(findings)}"[:100]
        self.client.publish(TopicArn=self.topic_arn, Subject=subject, Message=json.dumps(body, indent=1))


# -- digest validation -------------------------------------------------------------------

class S3Reader:
    """ObjectReader over one bucket (thread-safe: boto3 clients are)."""

    def __init__(self, client, bucket: str) -> None:
        self.client, self.bucket = client, bucket

    def list_keys(self, prefix: str) -> list[str]:
        keys = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def list_children(self, prefix: str) -> list[str]:
        names = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            names.extend(p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes", []))
        return names

    def get(self, key: str) -> StoredObject | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            return None
        return StoredObject(response["Body"].read(), response.get("Metadata", {}))


def cloudtrail_public_keys(client_for_region: Callable[[str], object]) -> Callable[[str, Window], dict[str, bytes]]:
    """PublicKeys from ``cloudtrail:ListPublicKeys`` (DER values, by fingerprint). The
    search reaches past the window's end: keys rotate. One client per region, made once."""
    client_for_region = functools.cache(client_for_region)

    def public_keys(region: str, window: Window) -> dict[str, bytes]:
        client, keys, token = client_for_region(region), {}, None
        while True:
            kwargs = {"StartTime": window.start - timedelta(hours=1), "EndTime": window.end + timedelta(hours=2)}
            response = client.list_public_keys(**kwargs, **({"NextToken": token} if token else {}))
            keys.update({key["Fingerprint"]: key["Value"] for key in response.get("PublicKeyList", [])})
            token = response.get("NextToken")
            if not token:
                return keys
    return public_keys


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
