"""Lambda: S3 ObjectCreated (access-log bucket) -> SQS -> audit each log object.

Partial batch failures: a poison message is retried and then lands in the DLQ while the
rest of its batch succeeds. Redelivery is harmless: every alert and the metrics of an
object are claimed once in the validators' table, keyed by object key and ETag.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from ..access_logs import audit as access_log_audit
from ..access_logs.audit import DEFAULT_MIN_TLS, AuditPolicy
from ..access_logs.sources import body_chunks
from ..alerts import AlertPublisher, ValidatorsTable, group_for_alerts, publish_once
from ..contract import (ACCESS_LOG_AUDITOR, HEARTBEATS, METRIC_NAMESPACE, AccessLogMetrics, Env, alert_marker, audited_marker,
                        decode_list, required)

logger = Logger(service=ACCESS_LOG_AUDITOR)
metrics = Metrics(namespace=METRIC_NAMESPACE, service=ACCESS_LOG_AUDITOR)
# Report every failure item by item, even when the whole batch failed.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def policy_from_env(environ: Mapping[str, str] = os.environ) -> AuditPolicy:
    """Unset, ``MIN_TLS`` and ``EXPECTED_PRINCIPALS`` fall back to the secure defaults
    (TLSv1.2; nobody is expected to delete logs or change the bucket)."""
    principals = decode_list(Env.EXPECTED_PRINCIPALS, environ.get(Env.EXPECTED_PRINCIPALS, ""))
    return AuditPolicy(min_tls=environ.get(Env.MIN_TLS) or DEFAULT_MIN_TLS, expected_principals=principals,
                       bucket=required(environ, Env.AUDITED_BUCKET))


@dataclass(frozen=True)
class AuditorConfig:
    policy: AuditPolicy
    table_name: str
    alerts_topic_arn: str


def config_from_env(environ: Mapping[str, str] = os.environ) -> AuditorConfig:
    return AuditorConfig(policy_from_env(environ), required(environ, Env.TABLE_NAME),
                         required(environ, Env.ALERTS_TOPIC_ARN))


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
            publish_once(self.table, self.alerts, alert_marker(source, etag, kind), source, kind, findings)
        metrics.add_metric(name=HEARTBEATS[ACCESS_LOG_AUDITOR].metric.name, unit=MetricUnit.Count, value=1)
        if self.table.claim(audited_marker(source, etag)):
            self._emit_metrics(result)
        logger.info("audited", extra={"object": source, "lines": result.summary.lines,
                                      "findings": len(result.findings)})

    def _emit_metrics(self, result) -> None:
        summary = result.summary
        for version, count in summary.by_tls_version.items():
            metrics.add_metric(name=AccessLogMetrics.requests(version).name, unit=MetricUnit.Count, value=count)
        non_tls_success = summary.findings_by_kind["non_tls_success"]  # exact, while kept findings are capped
        metrics.add_metric(name=AccessLogMetrics.NON_TLS_SUCCESS.name, unit=MetricUnit.Count, value=non_tls_success)
        metrics.add_metric(name=AccessLogMetrics.UNPARSEABLE_LINES.name, unit=MetricUnit.Count,
                           value=summary.unparseable)


_auditor: AccessLogAuditor | None = None


def _default_auditor() -> AccessLogAuditor:
    global _auditor
    if _auditor is None:
        config = config_from_env()
        _auditor = AccessLogAuditor(
            boto3.client("s3"), ValidatorsTable(config.table_name, boto3.client("dynamodb")),
            AlertPublisher(config.alerts_topic_arn, boto3.client("sns")), config.policy)
    return _auditor


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event, context):
    auditor = _default_auditor()
    return process_partial_response(event=event, processor=processor, context=context,
                                    record_handler=lambda record: auditor.handle_message(record.body))
