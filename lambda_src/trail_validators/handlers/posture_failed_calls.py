"""Lambda of the failed-calls path: the failed-calls rules (the posture watcher's calls, with
``errorCode``) -> SQS -> this function, which counts each failed weakening call once
(``FailedWeakeningCalls``) and publishes at most one alert (``failed_weakening_calls``) per
principal, resource and window. Thin over ``trail_validators.posture.judge``.

A function of its own, with its own queue and reserved concurrency: an attacker spraying
denied calls on our resource names fills this queue, never the posture watcher's concurrency,
so the alert of a call that succeeded is never delayed by them.

Partial batch failures: a message that is not a failed call of this account and region (not
JSON, malformed, another account or region, a call that succeeded) fails alone; it is retried
and then lands in the dead-letter queue, whose alarm fires, while the rest of its batch
succeeds. Redelivery is harmless: the summary is claimed once per window in the validators'
table (``posture_failed_calls_marker``), the count once per event id
(``posture_failed_event_marker``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from ..alerts import AlertPublisher, ValidatorsTable, publish_once
from ..contract import (FAILED_CALL_WINDOW_MINUTES, METRIC_NAMESPACE, POSTURE_FAILED_CALLS, Env, FailedCallsMetrics,
                        posture_failed_calls_marker, posture_failed_event_marker, required)
from ..posture.judge import (Rejection, WatchedResources, event_id, failed_call_window, failed_calls_summary,
                             judge_api_call, watched_from_env)

logger = Logger(service=POSTURE_FAILED_CALLS)
metrics = Metrics(namespace=METRIC_NAMESPACE, service=POSTURE_FAILED_CALLS)
# Report every failure item by item, even when the whole batch failed.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class NotAFailedCall(ValueError):
    """A message this function cannot summarize: it fails alone (retried, then the DLQ)."""


@dataclass(frozen=True)
class FailedCallsConfig:
    watched: WatchedResources
    table_name: str
    alerts_topic_arn: str


def config_from_env(environ: Mapping[str, str] = os.environ) -> FailedCallsConfig:
    return FailedCallsConfig(watched_from_env(environ), required(environ, Env.TABLE_NAME),
                             required(environ, Env.ALERTS_TOPIC_ARN))


class FailedCalls:
    def __init__(self, config: FailedCallsConfig, *, table: ValidatorsTable, alerts: AlertPublisher,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.config, self.table, self.alerts, self.now = config, table, alerts, now

    def handle_message(self, body: Any) -> str:
        """One EventBridge event (the message body): ``summarized`` (counted, and the window's
        alert published unless it was already) or ``ignored`` (a resource that is not ours);
        anything else raises ``NotAFailedCall``."""
        try:
            event = json.loads(body)
        except (TypeError, ValueError):
            raise NotAFailedCall("the message body is not JSON") from None
        verdict = judge_api_call(event, self.config.watched)
        if isinstance(verdict, Rejection):
            raise NotAFailedCall(verdict.reason)
        if verdict is None:
            logger.info("failed call on another resource ignored")
            return "ignored"
        if not verdict.details.get("error_code"):
            # The failed-calls rules match only calls with an errorCode: this one belongs to the
            # posture watcher (its own rules send it there). Never dropped: it fails, and the DLQ alarms.
            raise NotAFailedCall(f"{verdict.details.get('event_name')} succeeded: not a failed call")
        window = failed_call_window(verdict.details.get("event_time"), self.now(), FAILED_CALL_WINDOW_MINUTES)
        summary = failed_calls_summary(verdict, window, FAILED_CALL_WINDOW_MINUTES)
        marker = posture_failed_calls_marker(window, str(verdict.details.get("principal_arn")),
                                             str(verdict.details.get("resource")))
        publish_once(self.table, self.alerts, marker, self.config.watched.trail_arn, summary.kind, [summary])
        identifier = event_id(event)
        if identifier is None or self.table.claim(posture_failed_event_marker(identifier)):
            metrics.add_metric(name=FailedCallsMetrics.FAILED_CALLS.name, unit=MetricUnit.Count, value=1)
            logger.info("failed weakening call", extra={"finding": verdict.to_dict(), "window": window})
        return "summarized"


_failed_calls: FailedCalls | None = None


def _default_failed_calls() -> FailedCalls:
    global _failed_calls
    if _failed_calls is None:
        config = config_from_env()
        _failed_calls = FailedCalls(config, table=ValidatorsTable(config.table_name, boto3.client("dynamodb")),
                                    alerts=AlertPublisher(config.alerts_topic_arn, boto3.client("sns")))
    return _failed_calls


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event, context):
    failed_calls = _default_failed_calls()
    return process_partial_response(event=event, processor=processor, context=context,
                                    record_handler=lambda record: failed_calls.handle_message(record.body))
