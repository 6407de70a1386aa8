"""Lambda: S3 ObjectCreated (access-log bucket) -> SQS -> audit each log object.

Partial batch failures: a poison message is retried and then lands in the DLQ while the
rest of its batch succeeds. Redelivery is harmless: every alert and the metrics of an
object are claimed once in the validators' table, keyed by object key and ETag.
"""

from __future__ import annotations

import json
import os
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from .. import access_log_audit
from ..access_log_audit import AuditPolicy
from ..aws_adapters import AlertPublisher, ValidatorsTable, group_for_alerts, publish_once
from ..log_sources import body_chunks

logger = Logger(service="access-log-auditor")
metrics = Metrics(namespace="SecureTrail", service="access-log-auditor")
# Report every failure item by item, even when the whole batch failed.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def policy_from_env() -> AuditPolicy:
    principals = tuple(p.strip() for p in os.environ.get("EXPECTED_PRINCIPALS", "").split(",") if p.strip())
    return AuditPolicy(min_tls=os.environ.get("MIN_TLS", "TLSv1.2"), expected_principals=principals,
                       bucket=os.environ.get("AUDITED_BUCKET") or None)


class AccessLogAuditor:
    def __init__(self, s3, table: ValidatorsTable, alerts: AlertPublisher, policy: AuditPolicy) -> None:
        self.s3, self.table, self.alerts, self.policy = s3, table, alerts, policy

    def handle_message(self, body: str) -> None:
        """An EventBridge ``Object Created`` event (what the stack sends) or an S3 event
        notification; anything else raises, so the message ends in the DLQ."""
        message = json.loads(body)
        if message.get("detail-type") == "Object Created":
            detail = message["detail"]
            self.audit_object(detail["bucket"]["name"], detail["object"]["key"], detail["object"].get("etag", ""))
        elif message.get("Event") == "s3:TestEvent":
            return
        else:
            for record in message["Records"]:
                s3 = record["s3"]
                self.audit_object(s3["bucket"]["name"], unquote_plus(s3["object"]["key"]),
                                  s3["object"].get("eTag", ""))

    def audit_object(self, bucket: str, key: str, etag: str) -> None:
        source = f"s3://{bucket}/{key}"
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
        result = access_log_audit.audit_object(body_chunks(body), self.policy, source)  # streamed, capped
        for kind, findings in group_for_alerts(result.findings).items():
            publish_once(self.table, self.alerts, f"alert#{source}#{etag}#{kind}", source, kind, findings)
        if self.table.claim(f"audited#{source}#{etag}"):
            self._emit_metrics(result)
        logger.info("audited", extra={"object": source, "lines": result.summary.lines,
                                      "findings": len(result.findings)})

    def _emit_metrics(self, result) -> None:
        summary = result.summary
        for version, count in summary.by_tls_version.items():
            metrics.add_metric(name=f"Requests_{'NoTLS' if version == '-' else version}",
                               unit=MetricUnit.Count, value=count)
        non_tls_success = sum(1 for f in result.findings if f.kind == "non_tls_success")
        metrics.add_metric(name="NonTlsSuccess", unit=MetricUnit.Count, value=non_tls_success)
        metrics.add_metric(name="UnparseableLines", unit=MetricUnit.Count, value=summary.unparseable)


_auditor: AccessLogAuditor | None = None


def _default_auditor() -> AccessLogAuditor:
    global _auditor
    if _auditor is None:
        _auditor = AccessLogAuditor(
            boto3.client("s3"), ValidatorsTable(os.environ["TABLE_NAME"], boto3.client("dynamodb")),
            AlertPublisher(os.environ["ALERTS_TOPIC_ARN"], boto3.client("sns")), policy_from_env())
    return _auditor


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event, context):
    auditor = _default_auditor()
    return process_partial_response(event=event, processor=processor, context=context,
                                    record_handler=lambda record: auditor.handle_message(record.body))
