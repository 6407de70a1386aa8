"""The trail's CloudWatch dashboard, built of sections: each section is a titled row of
widgets that one part of the stack contributes (delivery, digests, TLS audit, alarms, DLQs).
A new part adds its section to the list given to ``trail_dashboard``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..contract import AccessLogMetrics, AnalyticsMetrics, DigestMetrics, FailedCallsMetrics, Metric, PostureMetrics
from ..metrics import contract_metric
from ..props import TLS_VERSIONS

PERIOD = Duration.hours(1)
FULL_WIDTH = 24


@dataclass(frozen=True)
class DashboardSection:
    title: str
    widgets: Sequence[cloudwatch.IWidget]


def trail_dashboard(scope: Construct, construct_id: str, *, dashboard_name: str,
                    sections: Sequence[DashboardSection | None]) -> cloudwatch.Dashboard:
    """One dashboard; each section given and not empty is a heading and its widgets."""
    dashboard = cloudwatch.Dashboard(scope, construct_id, dashboard_name=dashboard_name,
                                     default_interval=Duration.days(7))
    for section in sections:
        if section is not None and section.widgets:
            dashboard.add_widgets(cloudwatch.TextWidget(markdown=f"## {section.title}", width=FULL_WIDTH, height=1))
            dashboard.add_widgets(*section.widgets)
    return dashboard


def dashboard_name(trail_name: str, suffix: str = "") -> str:
    """CloudWatch allows letters, digits, ``-`` and ``_`` in dashboard names."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"secure-trail-{trail_name}{suffix}")[:255]


def _hourly(metric: Metric, label: str) -> cloudwatch.Metric:
    return contract_metric(metric, period=PERIOD, label=label)


def delivery_section(*, log_group: logs.ILogGroup | None, delivery_topic: sns.ITopic | None) -> DashboardSection:
    """What AWS publishes about CloudTrail's delivery: events reaching the log group, and the
    delivery topic's notifications (one per log file CloudTrail writes to S3)."""
    widgets: list[cloudwatch.IWidget] = []
    if log_group is not None:
        widgets.append(cloudwatch.GraphWidget(
            title="CloudTrail events delivered to CloudWatch Logs", width=12,
            left=[_log_group_metric(log_group, "IncomingLogEvents")],
            right=[_log_group_metric(log_group, "IncomingBytes")]))
    if delivery_topic is not None:
        widgets.append(cloudwatch.GraphWidget(
            title="Log files delivered to S3 (delivery topic notifications)", width=12,
            left=[delivery_topic.metric_number_of_messages_published(period=PERIOD, label="published")],
            right=[delivery_topic.metric_number_of_notifications_failed(period=PERIOD, label="failed")]))
    return DashboardSection("Delivery health", widgets)


def _log_group_metric(log_group: logs.ILogGroup, name: str) -> cloudwatch.Metric:
    """As AWS publishes it, per log group (``LogGroup.metric_incoming_log_events`` names no
    group and a metric AWS does not publish)."""
    return cloudwatch.Metric(namespace="AWS/Logs", metric_name=name,
                             dimensions_map={"LogGroupName": log_group.log_group_name},
                             statistic="Sum", period=PERIOD, label=name)


def digest_section() -> DashboardSection:
    return DashboardSection("Digest validation", [
        cloudwatch.GraphWidget(title="Digest findings by kind", width=12, left=[
            _hourly(DigestMetrics.TAMPERING_FINDINGS, "tampering (bad signature, link, missing, injected)"),
            _hourly(DigestMetrics.CHAIN_GAPS, "chain gaps (logging stopped and restarted)")]),
        cloudwatch.GraphWidget(title="Validated", width=12, left=[
            _hourly(DigestMetrics.DIGESTS_VALID, "digests valid"),
            _hourly(DigestMetrics.LOGS_VALID, "log files valid"),
            _hourly(DigestMetrics.CHAINS_PLANNED, "chains planned")]),
    ])


def tls_section() -> DashboardSection:
    by_version = [_hourly(AccessLogMetrics.requests(version), version) for version in TLS_VERSIONS]
    return DashboardSection("TLS audit of the trail bucket", [
        cloudwatch.GraphWidget(title="Requests by TLS version", width=12, stacked=True,
                               left=[*by_version, _hourly(AccessLogMetrics.requests("-"), "no TLS")]),
        cloudwatch.GraphWidget(title="Non-TLS successes and unparseable lines", width=12, left=[
            _hourly(AccessLogMetrics.NON_TLS_SUCCESS, "non-TLS successes"),
            _hourly(AccessLogMetrics.UNPARSEABLE_LINES, "unparseable lines")]),
    ])


def posture_section() -> DashboardSection:
    return DashboardSection("Trail posture", [
        cloudwatch.GraphWidget(title="Posture findings and open conditions", width=12, left=[
            _hourly(PostureMetrics.FINDINGS, "findings (weakening calls, new conditions)")],
            right=[_hourly(PostureMetrics.OPEN_CONDITIONS, "open conditions").with_(statistic="Maximum")]),
        cloudwatch.GraphWidget(title="Rejected events (malformed, another account or region)", width=12, left=[
            _hourly(PostureMetrics.REJECTED_EVENTS, "rejected events")]),
        cloudwatch.GraphWidget(title="Failed weakening calls (denied, invalid: one alert a principal, resource "
                                     "and hour)", width=12, left=[
            _hourly(FailedCallsMetrics.FAILED_CALLS, "failed calls")]),
    ])


def analytics_section() -> DashboardSection:
    return DashboardSection("Security analytics (OpenSearch)", [
        cloudwatch.GraphWidget(title="Events enriched", width=12, left=[
            _hourly(AnalyticsMetrics.RECEIVED, "received"),
            _hourly(AnalyticsMetrics.INDEXED, "indexed")]),
        cloudwatch.GraphWidget(title="Events not indexed at once", width=12, left=[
            _hourly(AnalyticsMetrics.REJECTED, "rejected (not CloudTrail records)"),
            _hourly(AnalyticsMetrics.RETRIED, "retried"),
            _hourly(AnalyticsMetrics.FAILED, "failed (kept by the failure queue)")]),
    ])


def heartbeat_section(alarms: Sequence[cloudwatch.Alarm]) -> DashboardSection:
    """Each validator's liveness metric, as its heartbeat alarm counts it, and the alarms."""
    if not alarms:
        return DashboardSection("Heartbeats", [])
    return DashboardSection("Heartbeats", [
        cloudwatch.GraphWidget(title="Validator runs (a heartbeat per run)", width=12,
                               left=[alarm.metric for alarm in alarms]),
        cloudwatch.AlarmStatusWidget(title="Heartbeat alarms (missing data is an alarm)", alarms=list(alarms),
                                     width=12, height=max(2, (len(alarms) + 1) // 2 + 1))])


def alarms_section(title: str, alarms: Sequence[cloudwatch.IAlarm]) -> DashboardSection:
    if not alarms:
        return DashboardSection(title, [])
    return DashboardSection(title, [cloudwatch.AlarmStatusWidget(
        title=title, alarms=list(alarms), width=FULL_WIDTH, height=max(2, (len(alarms) + 3) // 4 + 1),
        sort_by=cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP)])


def dead_letter_section(queues: Mapping[str, sqs.IQueue]) -> DashboardSection:
    if not queues:
        return DashboardSection("Dead-letter queues", [])
    return DashboardSection("Dead-letter queues", [cloudwatch.GraphWidget(
        title="Messages waiting in each DLQ", width=FULL_WIDTH, left=[
            queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(5), statistic="Maximum",
                                                                label=label)
            for label, queue in queues.items()])])
