"""Lambda: trail bucket object events (EventBridge) -> SQS -> judge each one.

Partial batch failures: a message whose reads fail is retried and then lands in the DLQ;
a message that is no S3 object event is itself a finding. Redelivery is harmless: every
alert is claimed once in the validators' table, keyed by object key, version and kind.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Mapping

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from ..alerts import AlertPublisher, ValidatorsTable, group_for_alerts, publish_once
from ..contract import (HEARTBEATS, METRIC_NAMESPACE, TRAIL_WATCH, TRAIL_WATCH_SCOPE, ConfigurationError, Env,
                        TrailWatchMetrics, alert_marker, required)
from ..digests.aws import CheckpointStore
from ..digests.layout import TrailLocation
from ..findings import Finding
from ..trail_watch.aws import TrailWatchReader
from ..trail_watch.judge import UnreadableEvent, judge, parse_event, trail_object, unreadable
from .digest_validation import location_from_env

logger = Logger(service=TRAIL_WATCH)
metrics = Metrics(namespace=METRIC_NAMESPACE, service=TRAIL_WATCH)
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@dataclass(frozen=True)
class WatchConfig:
    location: TrailLocation
    table_name: str
    alerts_topic_arn: str
    expiration_days: int


def config_from_env(environ: Mapping[str, str] = os.environ) -> WatchConfig:
    days = required(environ, Env.LOG_EXPIRATION_DAYS)
    if not days.isascii() or not days.isdigit() or int(days) < 1:
        raise ConfigurationError(f"environment variable {Env.LOG_EXPIRATION_DAYS}: {days!r} is not a number of days")
    return WatchConfig(location_from_env(environ), required(environ, Env.TABLE_NAME),
                       required(environ, Env.ALERTS_TOPIC_ARN), int(days))


class TrailWatch:
    def __init__(self, reader: TrailWatchReader, table: ValidatorsTable, alerts: AlertPublisher,
                 config: WatchConfig) -> None:
        self.reader, self.table, self.alerts, self.config = reader, table, alerts, config

    def handle_message(self, body: str) -> list[Finding]:
        try:
            event = parse_event(json.loads(body))
        except (UnreadableEvent, ValueError) as error:
            findings = [unreadable(body, str(error))]
            self._publish(f"{TRAIL_WATCH_SCOPE}unreadable", hashlib.sha256(body.encode()).hexdigest(), findings)
            return findings
        location = self.config.location
        found = trail_object(location, event.key)
        created = event.detail_type == "Object Created"
        findings = judge(event, location,
                         checkpoint_end=self.reader.checkpoint_end(found.chain) if found and created else None,
                         other_versions=self.reader.other_versions(event.key, event.version_id) if created else (),
                         expiration_days=self.config.expiration_days)
        self._publish(f"{TRAIL_WATCH_SCOPE}{event.bucket}/{event.key}", event.version_id or "null", findings)
        metrics.add_metric(name=TrailWatchMetrics.FINDINGS.name, unit=MetricUnit.Count,
                           value=sum(1 for f in findings if f.severity > 0))
        metrics.add_metric(name=HEARTBEATS[TRAIL_WATCH].metric.name, unit=MetricUnit.Count, value=1)
        logger.info("judged", extra={"key": event.key, "event": event.detail_type, "findings": len(findings)})
        return findings

    def _publish(self, scope: str, version: str, findings: list[Finding]) -> None:
        for kind, group in group_for_alerts(findings).items():
            publish_once(self.table, self.alerts, alert_marker(scope, version, kind), scope, kind, group)


_watch: TrailWatch | None = None


def _default_watch() -> TrailWatch:
    global _watch
    if _watch is None:
        config, dynamodb = config_from_env(), boto3.client("dynamodb")
        _watch = TrailWatch(
            TrailWatchReader(boto3.client("s3"), CheckpointStore(config.table_name, dynamodb), config.location.bucket),
            ValidatorsTable(config.table_name, dynamodb), AlertPublisher(config.alerts_topic_arn, boto3.client("sns")),
            config)
    return _watch


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event, context):
    watch = _default_watch()
    return process_partial_response(event=event, processor=processor, context=context,
                                    record_handler=lambda record: watch.handle_message(record.body))
