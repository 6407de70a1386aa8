"""boto3 adapters every Lambda handler shares: the alerts topic and the validators' table of
once-only markers (a redelivered event publishes nothing twice)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Iterable

from .contract import PARTITION_KEY, TTL_ATTRIBUTE
from .findings import Finding, Severity

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
