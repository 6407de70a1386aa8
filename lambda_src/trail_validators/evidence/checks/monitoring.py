"""CIS section 4 / Security Hub CloudWatch.1-14: on the log group of the multi-region
trail, a metric filter with exactly the documented pattern, an alarm on its metric, and
an SNS topic with a subscriber as the alarm's action (Security Hub's own logic)."""

from __future__ import annotations

from typing import Any

from ...contract.monitoring_controls import MONITORING_CONTROLS, MonitoringControl
from ..assembly import Assembly
from ..cfn import integer
from ..iam import deny_matches
from ..model import Evidence, NotApplicable
from ..resources import Resource, actions, cached, referenced, referring, resources, statements
from .event_sources import events_not_delivered
from .parts import TOPIC, is_true, missing, multi_region_trails, prop, trails
from .trail import monitored_log_group

FILTER, ALARM, SUBSCRIPTION = "AWS::Logs::MetricFilter", "AWS::CloudWatch::Alarm", "AWS::SNS::Subscription"
CONTROLS = {control.control_id: control for control in MONITORING_CONTROLS}


def metric_filter_alarm(assembly: Assembly, *, control_id: str) -> list[Evidence] | NotApplicable:
    control = CONTROLS[control_id]
    if not trails(assembly):
        return [missing("AWS::CloudTrail::Trail")]
    if not multi_region_trails(assembly):
        return [missing("multi-region trail", why="no trail is multi-region, so no log group sees every "
                                                  "region's events")]
    trail, group = monitored_log_group(assembly)
    if trail is None:
        return NotApplicable("CloudWatch Logs delivery is off (cloudWatchLogs=false): the multi-region trail "
                             "has no log group to put metric filters on")
    if group is None:
        return [missing("the trail's log group", where=trail, path="CloudWatchLogsLogGroupArn")]
    not_delivered = events_not_delivered(trail, control)
    if not_delivered is not None:
        return [not_delivered]
    filters = [candidate for candidate in referring(assembly, group, FILTER, "LogGroupName")
               if candidate.value("FilterPattern") == control.filter_pattern]
    if not filters:
        return [Evidence(group.stack.name, group.logical_id, group.type, "(metric filters)", None, False,
                         f"no metric filter on the trail's log group has exactly the pattern {control.title!r} "
                         f"requires: {control.filter_pattern}", present=False)]
    best: list[Evidence] = []
    for metric_filter in filters:
        chain = _filter_chain(assembly, metric_filter, control)
        if all(item.holds for item in chain):
            return chain
        best = best or chain
    return best


def _filter_chain(assembly: Assembly, metric_filter: Resource, control: MonitoringControl) -> list[Evidence]:
    evidence = [prop(metric_filter, "FilterPattern", lambda _: True,
                     ok=f"the filter on the trail's log group has exactly the documented pattern for "
                        f"CIS {control.cis_section}", bad="")]
    if not _counts(metric_filter):
        return evidence + [Evidence(metric_filter.stack.name, metric_filter.logical_id, metric_filter.type,
                                    "MetricTransformations", metric_filter.value("MetricTransformations"), False,
                                    "the filter's metric value is not a positive count: its metric never reaches "
                                    "an alarm's threshold")]
    metrics = _metrics(metric_filter)
    by_metric = cached(assembly, "alarms_by_metric", lambda: _alarms_by_metric(assembly))
    alarms = [alarm for metric in sorted(metrics, key=repr) for alarm in by_metric.get(metric, [])]
    if not alarms:
        return evidence + [Evidence(metric_filter.stack.name, metric_filter.logical_id, metric_filter.type,
                                    "MetricTransformations", metric_filter.value("MetricTransformations"), False,
                                    "no alarm watches the filter's metric (namespace and name)")]
    best: list[Evidence] = []
    units = {item.get("Unit") for item in metric_filter.value("MetricTransformations")}
    for alarm in alarms:
        chain = [prop(alarm, "MetricName", lambda _: True,
                      ok="the alarm watches the filter's metric (same namespace and name)", bad=""),
                 prop(alarm, "Unit", lambda unit: unit in units, ok="the alarm's unit is the one the filter publishes",
                      bad="the alarm asks for a unit the filter does not publish: it sees no data",
                      absent="the alarm asks for no unit", absent_holds=True),
                 _subscribed_action(assembly, alarm)]
        if all(item.holds for item in chain):
            return evidence + chain
        best = best or chain
    return evidence + best


def _metrics(metric_filter: Resource) -> set[tuple[Any, Any]]:
    transformations = metric_filter.value("MetricTransformations")
    return {(item.get("MetricNamespace"), item.get("MetricName")) for item in transformations
            if isinstance(item, dict) and isinstance(item.get("MetricNamespace"), str)
            and isinstance(item.get("MetricName"), str)} if isinstance(transformations, list) else set()


def _counts(metric_filter: Resource) -> bool:
    """Every transformation adds a positive number per match (a field reference may), with
    no dimensions (the alarm on the bare metric would see none of it) and no default value
    other than 0 (a default keeps the metric up when nothing matches: the alarm never clears,
    so a new event notifies no one)."""
    transformations = metric_filter.value("MetricTransformations")
    if not isinstance(transformations, list) or not transformations:
        return False
    for item in transformations:
        if not isinstance(item, dict) or item.get("Dimensions") or not _zero_or_absent(item, "DefaultValue"):
            return False
        value = item.get("MetricValue")
        try:
            if float(value) <= 0:
                return False
        except (TypeError, ValueError):
            if not (isinstance(value, str) and value.startswith("$.")):
                return False
    return True


def _zero_or_absent(item: dict[str, Any], name: str) -> bool:
    if name not in item:
        return True
    try:
        return float(item[name]) == 0
    except (TypeError, ValueError):
        return False


def _alarms_by_metric(assembly: Assembly) -> dict[tuple[Any, Any], list[Resource]]:
    found: dict[tuple[Any, Any], list[Resource]] = {}
    for alarm in resources(assembly, ALARM):
        metric = (alarm.value("Namespace"), alarm.value("MetricName"))
        if all(isinstance(part, str) for part in metric):
            found.setdefault(metric, []).append(alarm)
    return found


def alarm_refusal(alarm: Resource, *, dimensions_allowed: bool = False) -> Evidence | None:
    """Failing evidence when ``alarm`` can never notify on the first matching event (actions
    disabled in any Boolean form, a threshold or operator one event does not reach, or more than
    one breaching datapoint needed); else None."""
    present, enabled = alarm.get("ActionsEnabled")
    if present and not is_true(enabled):
        return prop(alarm, "ActionsEnabled", lambda _: False, ok="",
                    bad="the alarm's actions are disabled (or not a literal Boolean): it changes state but "
                        "notifies no one")
    if not _fires_on_first_match(alarm, dimensions_allowed):
        return prop(alarm, "ComparisonOperator", lambda _: False, ok="",
                    bad="the alarm does not go off on the first matching event (it needs GreaterThanOrEqualTo"
                        "Threshold 1" + ("" if dimensions_allowed else " and no dimensions: the filter's metric "
                                         "has none") + ")")
    path = "DatapointsToAlarm" if alarm.get("DatapointsToAlarm")[0] else "EvaluationPeriods"
    if integer(alarm.value(path)) != 1:
        return prop(alarm, path, lambda _: False, ok="",
                    bad=f"the alarm needs {alarm.value(path)!r} breaching datapoints ({path}), not a literal 1: "
                        "one matching event does not set it off", absent="the alarm sets no EvaluationPeriods")
    return None


def _subscribed_action(assembly: Assembly, alarm: Resource) -> Evidence:
    refusal = alarm_refusal(alarm)
    if refusal is not None:
        return refusal
    actions = alarm.value("AlarmActions")
    for action in actions if isinstance(actions, list) else []:
        topic = referenced(assembly, alarm.stack, action, TOPIC)
        if topic is not None and has_subscriber(assembly, topic):
            return prop(alarm, "AlarmActions", lambda _: True,
                        ok=f"the alarm notifies SNS topic {topic.logical_id} ({topic.stack.name}), which has a "
                           "subscriber in the assembly", bad="")
    return prop(alarm, "AlarmActions", lambda _: False, ok="",
                bad="no alarm action is an SNS topic of the assembly with at least one subscription that "
                    "receives every message (no FilterPolicy)",
                absent="the alarm has no actions")


def _fires_on_first_match(alarm: Resource, dimensions_allowed: bool = False) -> bool:
    try:
        threshold = float(alarm.value("Threshold"))
    except (TypeError, ValueError):
        return False
    operator = alarm.value("ComparisonOperator")
    return (dimensions_allowed or not alarm.value("Dimensions")) and (
        (operator == "GreaterThanOrEqualToThreshold" and threshold <= 1)
        or (operator == "GreaterThanThreshold" and threshold < 1))


def has_subscriber(assembly: Assembly, topic: Resource) -> bool:
    """The topic has a subscription that receives every message (one with a ``FilterPolicy``
    may drop the alarm's: its message has no attributes to match), and no topic policy denies
    publishing to it but without TLS (CloudWatch publishes over TLS)."""
    inline = topic.value("Subscription")
    subscribed = (isinstance(inline, list) and len(inline) > 0) or any(
        "FilterPolicy" not in subscription.properties
        for subscription in referring(assembly, topic, SUBSCRIPTION, "TopicArn"))
    return subscribed and not _publishing_denied(assembly, topic)


def _publishing_denied(assembly: Assembly, topic: Resource) -> bool:
    """A topic-policy statement that is, or may be, a deny of publishing other than the TLS one."""
    for kind, path in (("AWS::SNS::TopicPolicy", "Topics"), ("AWS::SNS::TopicInlinePolicy", "TopicArn")):
        for policy in referring(assembly, topic, kind, path, possibly=True):
            for statement in statements(policy.value("PolicyDocument")):
                effect = statement.get("Effect") if isinstance(statement, dict) else None
                if effect == "Allow":
                    continue
                if effect != "Deny":
                    return True  # not a literal Effect: it may be a deny
                if "NotAction" not in statement and not {"sns:publish", "sns:*", "*"} & {
                        action.lower() for action in actions(statement)}:
                    continue
                if deny_matches(statement, "aws:SecureTransport", ("Bool",), (False, "false")) is not None:
                    return True
    return False
