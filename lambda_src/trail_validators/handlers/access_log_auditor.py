"""Lambda: S3 ObjectCreated (access-log bucket) -> SQS -> audit each log object.

Partial batch failures: a poison message (not an S3 event) or a failed read is retried and
then lands in the DLQ while the rest of its batch succeeds; an announced object that is gone
is a finding instead. Redelivery is harmless: every alert and the metrics of an
object are claimed once in the validators' table, keyed by object key and ETag.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Mapping

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from botocore.exceptions import ClientError

from ..access_logs import audit as access_log_audit
from ..access_logs.audit import DEFAULT_MIN_TLS, AuditPolicy
from ..access_logs.sources import AnnouncedObject, announced_objects, body_chunks, changed_finding, gone_finding
from ..alerts import AlertPublisher, ValidatorsTable, group_for_alerts, publish_once
from ..contract import (ACCESS_LOG_AUDITOR, HEARTBEATS, METRIC_NAMESPACE, AccessLogMetrics, Env, alert_marker, audited_marker,
                        decode_list, required)

logger = Logger(service=ACCESS_LOG_AUDITOR)
metrics = Metrics(namespace=METRIC_NAMESPACE, service=ACCESS_LOG_AUDITOR)
GONE_ERRORS = frozenset(("NoSuchKey", "NoSuchVersion", "MethodNotAllowed", "InvalidArgument"))
"""GetObject's errors for an announced object that is no more: deleted (a delete marker,
whose version S3 answers with 405), permanently deleted, or a version id S3 never issued."""
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
        for announced in announced_objects(json.loads(body)):
            self.audit_object(announced)

    def audit_object(self, announced: AnnouncedObject) -> None:
        """Reads the version the event announced (a later overwrite or delete marker leaves
        it readable) and checks its ETag. A version that is gone is a finding, not a retry."""
        source, etag = announced.source, announced.etag
        request = {"Bucket": announced.bucket, "Key": announced.key}
        if announced.version_id:
            request["VersionId"] = announced.version_id
        try:
            response = self.s3.get_object(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in GONE_ERRORS:
                raise
            self._publish(source, etag or announced.version_id or "", [gone_finding(announced, code)])
            metrics.add_metric(name=HEARTBEATS[ACCESS_LOG_AUDITOR].metric.name, unit=MetricUnit.Count, value=1)
            return
        read_etag = str(response.get("ETag", "")).strip('"')
        result = access_log_audit.audit_object(body_chunks(response["Body"]), self.policy, source)  # streamed, capped
        findings = list(result.findings)
        if not etag or read_etag != etag:
            findings.append(changed_finding(announced, read_etag))
        self._publish(source, etag or read_etag, findings)
        metrics.add_metric(name=HEARTBEATS[ACCESS_LOG_AUDITOR].metric.name, unit=MetricUnit.Count, value=1)
        if self.table.claim(audited_marker(source, read_etag)):
            self._emit_metrics(result)
        logger.info("audited", extra={"object": source, "version": announced.version_id,
                                      "lines": result.summary.lines, "findings": len(findings)})

    def _publish(self, source: str, identity: str, findings) -> None:
        for kind, grouped in group_for_alerts(findings).items():
            publish_once(self.table, self.alerts, alert_marker(source, identity, kind), source, kind, grouped)

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
