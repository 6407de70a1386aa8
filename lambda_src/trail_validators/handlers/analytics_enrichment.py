"""Lambda: CloudWatch Logs subscription (the trail's log group) -> enrich -> OpenSearch.

Invoked asynchronously. Malformed log events are counted, logged with their event ids and
never indexed; the rest of the batch goes on. A payload that cannot be read at all, or
documents still not indexed after the sink's retries, fail the invocation: Lambda retries
it, then the on-failure destination (an SQS queue with an alarm) keeps the payload. A
retried payload overwrites its documents (``_id`` = ``eventID``), never duplicates them.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ..analytics.accounts import AccountNames, organizations_loader
from ..analytics.enrich import enrich
from ..analytics.subscription import PayloadError, Rejection, decode
from ..contract import (ANALYTICS_ENRICHMENT, ANALYTICS_SERVICES, DEFAULT_ANALYTICS_INDEX_PREFIX, HEARTBEATS,
                        METRIC_NAMESPACE, AnalyticsEnv, AnalyticsMetrics, ConfigurationError, decode_flag, required)

logger = Logger(service=ANALYTICS_ENRICHMENT)
metrics = Metrics(namespace=METRIC_NAMESPACE, service=ANALYTICS_ENRICHMENT)


class DeliveryFailed(RuntimeError):
    """Documents not indexed after the retries: the invocation fails on purpose."""


@dataclass(frozen=True)
class EnrichmentConfig:
    endpoint: str
    service: str
    index_prefix: str
    account_names: bool


def config_from_env(environ: Mapping[str, str] = os.environ) -> EnrichmentConfig:
    service = required(environ, AnalyticsEnv.SERVICE)
    if service not in ANALYTICS_SERVICES:
        raise ConfigurationError(f"environment variable {AnalyticsEnv.SERVICE}: {service!r} is not es or aoss")
    return EnrichmentConfig(required(environ, AnalyticsEnv.ENDPOINT), service,
                            environ.get(AnalyticsEnv.INDEX_PREFIX) or DEFAULT_ANALYTICS_INDEX_PREFIX,
                            decode_flag(environ, AnalyticsEnv.ACCOUNT_NAMES))


def process(event: Any, *, deliver: Callable, account_names: Mapping[str, str], index_prefix: str) -> dict:
    """Decode, enrich, deliver and count; ``deliver(documents) -> sink.Delivery``."""
    try:
        batch = decode(event)
    except PayloadError as error:
        metrics.add_metric(name=AnalyticsMetrics.REJECTED.name, unit=MetricUnit.Count, value=1)
        logger.error("subscription payload rejected", extra={"reason": str(error)})
        raise
    if not batch.is_data:
        logger.info("control message ignored", extra={"log_group": batch.log_group})
        return {"received": 0, "indexed": 0, "rejected": 0}
    enrichment = enrich(batch, index_prefix=index_prefix, account_names=account_names)
    _log_rejections(enrichment.rejections, batch.log_group, batch.log_stream)
    delivery = deliver(enrichment.documents)
    for metric, value in ((AnalyticsMetrics.RECEIVED, enrichment.received),
                          (AnalyticsMetrics.REJECTED, len(enrichment.rejections)),
                          (AnalyticsMetrics.INDEXED, delivery.indexed), (AnalyticsMetrics.RETRIED, delivery.retried),
                          (AnalyticsMetrics.FAILED, len(delivery.failures))):
        metrics.add_metric(name=metric.name, unit=MetricUnit.Count, value=value)
    metrics.add_metric(name=HEARTBEATS[ANALYTICS_ENRICHMENT].metric.name, unit=MetricUnit.Count, value=1)
    if delivery.failures:
        logger.error("documents not indexed after retries", extra={
            "log_group": batch.log_group, "log_stream": batch.log_stream,
            "failures": [{"index": f.index, "id": f.id, "status": str(f.status), "reason": f.reason}
                         for f in delivery.failures[:100]], "failed": len(delivery.failures)})
        raise DeliveryFailed(f"{len(delivery.failures)} of {len(enrichment.documents)} documents not indexed")
    return {"received": enrichment.received, "indexed": delivery.indexed, "rejected": len(enrichment.rejections)}


def _log_rejections(rejections: tuple[Rejection, ...], log_group: str, log_stream: str) -> None:
    by_reason: dict[str, list[str]] = defaultdict(list)
    for rejection in rejections:
        by_reason[rejection.reason].append(rejection.event_id)
    for reason, event_ids in by_reason.items():
        logger.warning("log events rejected, not indexed", extra={
            "reason": reason, "event_ids": event_ids, "count": len(event_ids),
            "log_group": log_group[:512], "log_stream": log_stream[:512]})


class _Runtime:
    """The client and the account-name cache, made on the first invocation and reused."""

    def __init__(self, config: EnrichmentConfig) -> None:
        import boto3

        from ..analytics.sink import client_for

        session = boto3.Session()
        self.client = client_for(config.endpoint, service=config.service, region=session.region_name,
                                 credentials=session.get_credentials())
        self.account_names = AccountNames(organizations_loader(session.client("organizations"))
                                          if config.account_names else dict)


_runtime: _Runtime | None = None


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict, context: Any) -> dict:
    from ..analytics.sink import deliver

    global _runtime
    config = config_from_env()
    if _runtime is None:
        _runtime = _Runtime(config)
    runtime = _runtime
    return process(event, deliver=lambda documents: deliver(runtime.client, documents),
                   account_names=runtime.account_names.current(), index_prefix=config.index_prefix)
