"""What watches the trail, in either deployment shape: the CIS monitoring alarms on its log
group, the alerts topic's subscribers, and its dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from aws_cdk import Annotations, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..analytics import TrailAnalytics
from ..names import TrailIdentity
from ..props.alert_subscriptions import AlertSubscription
from ..validators import Validators
from .cis_alarms import CisAlarms, enabled_controls
from .dashboard import (alarms_section, analytics_section, dashboard_name, dead_letter_section, delivery_section,
                        digest_section, heartbeat_section, posture_section, tls_section,
                        trail_dashboard)


@dataclass(frozen=True)
class Monitoring:
    cis_alarms: CisAlarms | None
    subscriptions: list[sns.Subscription]
    dashboard: cloudwatch.Dashboard | None


def cis_alarms_wanted(*, cloud_watch_logs: bool, disabled_monitoring_controls: Sequence[str]) -> bool:
    """The alarms need the log group, and at least one control left on."""
    return cloud_watch_logs and bool(enabled_controls(disabled_monitoring_controls))


NO_ALERT_SUBSCRIPTIONS = "secure-trail:no-alert-subscriptions"


def warn_no_alert_subscriptions(scope: Construct) -> None:
    """Without a subscriber, every alarm and validator finding reaches no one."""
    Annotations.of(Stack.of(scope)).add_warning_v2(
        NO_ALERT_SUBSCRIPTIONS,
        "alert_subscriptions is empty: no alarm or validator finding reaches anyone. Pass "
        "alert_subscriptions=['team@example.com', ...] (or -c alertSubscriptions=...), or "
        f"acknowledge with Annotations.of(stack).acknowledge_warning('{NO_ALERT_SUBSCRIPTIONS}').")


def add_monitoring(scope: Construct, *, identity: TrailIdentity, alerts_topic: sns.ITopic | None,
                   alert_subscriptions: Sequence[AlertSubscription], disabled_monitoring_controls: Sequence[str],
                   dashboard: bool, log_group: logs.ILogGroup | None = None, delivery_topic: sns.ITopic | None = None,
                   validators: Validators | None = None, analytics: TrailAnalytics | None = None,
                   dashboard_suffix: str = "") -> Monitoring:
    """The parts this stack holds: CIS alarms where the log group is, subscribers on this
    stack's alerts topic, and a dashboard of what this stack's account can see."""
    controls = enabled_controls(disabled_monitoring_controls)
    cis = (CisAlarms(scope, "CisAlarms", log_group=log_group, alerts_topic=alerts_topic, controls=controls)
           if log_group is not None and alerts_topic is not None and controls else None)
    subscriptions = subscribe(alerts_topic, alert_subscriptions) if alerts_topic is not None else []
    if not alert_subscriptions:
        warn_no_alert_subscriptions(scope)
    validators = validators or Validators()
    parts = [part for part in (validators.digest_validator, validators.trail_watch, validators.access_log_auditor,
                               validators.posture_watcher) if part is not None]
    queues = {f"{part.node.id} DLQ": part.dead_letter_queue for part in parts}
    if validators.posture_watcher is not None:
        queues["PostureFailedCalls DLQ"] = validators.posture_watcher.failed_calls.dead_letter_queue
    if analytics is not None:
        queues["Analytics failures"] = analytics.failure_queue
    # One line per part of the stack; a new part adds its own.
    sections = [
        delivery_section(log_group=log_group, delivery_topic=delivery_topic),
        digest_section() if validators.digest_validator else None,
        tls_section() if validators.access_log_auditor else None,
        posture_section() if validators.posture_watcher else None,
        analytics_section() if analytics else None,
        heartbeat_section([alarm for part in [*parts, analytics] if part is not None
                           for alarm in part.heartbeat_alarms.values()]),
        alarms_section("CIS monitoring alarms", list(cis.alarms.values()) if cis else []),
        alarms_section("Validator alarms", [alarm for part in [*parts, analytics] if part is not None
                                            for alarm in part.node.find_all() if isinstance(alarm, cloudwatch.Alarm)
                                            and alarm not in part.heartbeat_alarms.values()]),
        dead_letter_section(queues),
    ]
    board = (trail_dashboard(scope, "Dashboard", sections=sections,
                             dashboard_name=dashboard_name(identity.trail_name, dashboard_suffix))
             if dashboard else None)
    return Monitoring(cis, subscriptions, board)


def subscribe(topic: sns.ITopic, subscriptions: Sequence[AlertSubscription]) -> list[sns.Subscription]:
    """One subscription per subscriber, as children of ``topic``. What the subscriber's side
    needs (confirming an e-mail, a queue or function policy) is documented in docs/monitoring.md."""
    return [sns.Subscription(topic, subscription.construct_id, topic=topic, protocol=subscription.protocol,
                             endpoint=subscription.endpoint)
            for subscription in subscriptions]
