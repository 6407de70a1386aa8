"""The one metric factory: a validator's EMF count metric, exactly as the contract names it
(namespace, name, the handler's ``service`` dimension), for alarms, dashboards and the
``metric_*`` methods alike."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from .contract import Metric

ALARM_PERIOD = Duration.minutes(5)


def contract_metric(metric: Metric, *, period: Duration = ALARM_PERIOD, label: str | None = None,
                    **options: Any) -> cloudwatch.Metric:
    """``metric`` summed per ``period`` (@default 5 minutes); ``options``: any further
    ``MetricOptions`` (``statistic``, ``color`` ...)."""
    summed = cloudwatch.Metric(namespace=metric.namespace, metric_name=metric.name, dimensions_map=metric.dimensions,
                               statistic="Sum", period=period, label=label)
    return summed.with_(**options) if options else summed
