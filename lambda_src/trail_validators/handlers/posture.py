"""Lambda of the posture watcher: ``handler`` takes the EventBridge rules' calls that can
weaken the trail (``PostureWatcher.on_api_call``) and its schedule (``PostureWatcher.check``,
the periodic read of its status and settings). Thin over ``trail_validators.posture``.

A malformed event, or one from another account or region, is logged and counted
(``RejectedEvents``), never raised: a retry would not make it well-formed. Its rules send only
calls that succeeded: failed calls go to their own queue and function
(``handlers.posture_failed_calls``), so a flood of them never waits in line before a real alert.
A redelivered event alerts once (claimed by its CloudTrail event id in the validators' table).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ..alerts import AlertPublisher, ValidatorsTable, publish_once
from ..contract import (EXPECTED_TRAIL_FIELDS, HEARTBEATS, METRIC_NAMESPACE, POSTURE_WATCHER, BucketExpectation,
                        ConfigurationError, Env, PostureEnv, PostureKind, PostureMetrics, decode_flag,
                        dereference, posture_event_marker, required)
from ..contract.drift import AlarmExpectation, ArnContext, RuleExpectation, decode_alarms, decode_rules, pattern_values
from ..contract.handover import CHECKED_PARTS, HANDOVER_SPEC_FIELDS, handover_checks
from ..posture.aws import PostureState, observe, read_handover_policies, start_logging
from ..posture.handover import handover_findings
from ..posture.judge import (Rejection, WatchedResources, cleared_finding, event_id, judge_api_call, judge_status,
                             state_changes, watched_from_env)

logger = Logger(service=POSTURE_WATCHER)
metrics = Metrics(namespace=METRIC_NAMESPACE, service=POSTURE_WATCHER)


@dataclass(frozen=True)
class PostureConfig:
    watched: WatchedResources
    table_name: str
    alerts_topic_arn: str
    check_trail: bool
    expected_selectors: tuple[Mapping[str, Any], ...] | None
    auto_restart_logging: bool
    expected_trail: Mapping[str, str] | None = None
    """The trail's deployed destination (with ``check_trail``)."""
    expected_buckets: Mapping[str, BucketExpectation] = field(default_factory=dict)
    expected_subscriptions: tuple[str, tuple[tuple[str, str], ...]] | None = None
    expected_rules: Mapping[str, RuleExpectation] = field(default_factory=dict)
    """The stack's named rules: their targets' ids and ARNs, and their pattern's digest."""
    rule_values: Mapping[str, str] = field(default_factory=dict)
    """The deployed values a rule's pattern may hold, and the placeholder each stands for."""
    expected_alarms: Mapping[str, AlarmExpectation] | None = None
    """The alarms the stack made (``drift.alarm_key`` -> their action ARNs)."""
    handover: tuple[tuple[str, str, tuple[Mapping[str, Any], ...]], ...] = ()
    """``(part, resource, statements)`` of the parts brought in, whose policies are checked."""


def config_from_env(environ: Mapping[str, str] = os.environ) -> PostureConfig:
    check_trail = decode_flag(environ, PostureEnv.CHECK_TRAIL)
    selectors = None
    if check_trail:
        text = required(environ, PostureEnv.EXPECTED_SELECTORS)
        try:
            selectors = json.loads(text)
        except ValueError:
            selectors = None
        if not isinstance(selectors, list) or not all(isinstance(s, dict) for s in selectors):
            raise ConfigurationError(f"environment variable {PostureEnv.EXPECTED_SELECTORS}: not a JSON list of "
                                     "advanced event selectors")
    expected_trail = _json_env(environ, PostureEnv.EXPECTED_TRAIL, dict) if check_trail else None
    if expected_trail is not None and (set(expected_trail) != set(EXPECTED_TRAIL_FIELDS) or not all(
            isinstance(v, str) for v in expected_trail.values())):
        raise ConfigurationError(f"environment variable {PostureEnv.EXPECTED_TRAIL}: not an object of the strings "
                                 f"{', '.join(EXPECTED_TRAIL_FIELDS)}")
    if expected_trail is not None:  # a key prefix is as written; every other field may name a variable
        expected_trail = {f: v if f == "S3KeyPrefix" else dereference(environ, v) for f, v in expected_trail.items()}
    expected_buckets: dict[str, BucketExpectation] = {}
    if environ.get(PostureEnv.EXPECTED_BUCKETS):
        try:
            expected_buckets = {dereference(environ, item["bucket"]): BucketExpectation.from_json(item)
                                for item in _json_env(environ, PostureEnv.EXPECTED_BUCKETS, list)}
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigurationError(f"environment variable {PostureEnv.EXPECTED_BUCKETS}: {error}") from None
    expected_subscriptions = None
    if environ.get(PostureEnv.EXPECTED_SUBSCRIPTIONS):
        value = _json_env(environ, PostureEnv.EXPECTED_SUBSCRIPTIONS, dict)
        pairs = value.get("subscriptions")
        if not isinstance(value.get("topic"), str) or not isinstance(pairs, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(v, str) for v in p) for p in pairs):
            raise ConfigurationError(f"environment variable {PostureEnv.EXPECTED_SUBSCRIPTIONS}: not "
                                     '{"topic": ARN, "subscriptions": [[protocol, endpoint], ...]}')
        expected_subscriptions = (dereference(environ, value["topic"]), tuple((p[0], p[1]) for p in pairs))
    expected_rules: dict[str, RuleExpectation] = {}
    expected_alarms = None
    if environ.get(PostureEnv.EXPECTED_RULES) or environ.get(PostureEnv.EXPECTED_ALARMS):
        context = _arn_context(environ)
    if environ.get(PostureEnv.EXPECTED_RULES):
        try:
            expected_rules = decode_rules(environ[PostureEnv.EXPECTED_RULES], context)
        except ValueError as error:
            raise ConfigurationError(f"environment variable {PostureEnv.EXPECTED_RULES}: {error}") from None
    if environ.get(PostureEnv.EXPECTED_ALARMS):
        try:
            expected_alarms = decode_alarms(environ[PostureEnv.EXPECTED_ALARMS], context)
        except ValueError as error:
            raise ConfigurationError(f"environment variable {PostureEnv.EXPECTED_ALARMS}: {error}") from None
        if not environ.get(PostureEnv.STACK_NAME):
            raise ConfigurationError(f"environment variable {PostureEnv.EXPECTED_ALARMS}: set without "
                                     f"{PostureEnv.STACK_NAME}")
    handover = ()
    if environ.get(PostureEnv.HANDOVER):
        spec = _json_env(environ, PostureEnv.HANDOVER, dict)
        if not set(HANDOVER_SPEC_FIELDS) <= set(spec) or not set(spec) <= {*HANDOVER_SPEC_FIELDS, *CHECKED_PARTS} \
                or not any(spec.get(part) for part in CHECKED_PARTS) or not _handover_values_readable(spec):
            raise ConfigurationError(f"environment variable {PostureEnv.HANDOVER}: not an object of "
                                     f"{', '.join(HANDOVER_SPEC_FIELDS)} and one or more of {', '.join(CHECKED_PARTS)}")
        handover = tuple((part, resource, tuple(statements)) for part, resource, statements in handover_checks(spec))
    watched = watched_from_env(environ)
    return PostureConfig(watched=watched, table_name=required(environ, Env.TABLE_NAME),
                         alerts_topic_arn=required(environ, Env.ALERTS_TOPIC_ARN), check_trail=check_trail,
                         expected_selectors=tuple(selectors) if selectors is not None else None,
                         auto_restart_logging=decode_flag(environ, PostureEnv.AUTO_RESTART_LOGGING),
                         expected_trail=expected_trail, expected_buckets=expected_buckets,
                         expected_subscriptions=expected_subscriptions, expected_rules=expected_rules,
                         rule_values=pattern_values(environ), expected_alarms=expected_alarms, handover=handover)


def _handover_values_readable(spec: Mapping[str, Any]) -> bool:
    """Each value of the handover spec of the type its statements are built from (a list or
    number there would make statements no policy holds, or a resource no read can name)."""
    readers = spec.get("readers")
    return all(isinstance(spec[name], str) for name in ("trail_arn", "account", "partition")) \
        and all(spec.get(name) is None or isinstance(spec[name], str) for name in ("prefix", "org_id", *CHECKED_PARTS)) \
        and (readers is None or isinstance(readers, list) and all(isinstance(r, str) for r in readers))


def _arn_context(environ: Mapping[str, str]) -> ArnContext:
    """What the specs of the expected rules and alarms expand with: the trail ARN's partition,
    this account and region (where the stack's functions live), the alerts topic."""
    trail_arn = required(environ, PostureEnv.TRAIL_ARN)
    parts = trail_arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[1]:
        raise ConfigurationError(f"environment variable {PostureEnv.TRAIL_ARN}: {trail_arn!r} is not an ARN")
    return ArnContext(trail_name=trail_arn.rsplit("/", 1)[-1], partition=parts[1],
                      region=required(environ, Env.HOME_REGION), account=required(environ, PostureEnv.ACCOUNT),
                      alerts_topic=required(environ, Env.ALERTS_TOPIC_ARN))


def _json_env(environ: Mapping[str, str], name: str, kind: type) -> Any:
    try:
        value = json.loads(required(environ, name))
    except ValueError:
        value = None
    if not isinstance(value, kind):
        raise ConfigurationError(f"environment variable {name}: not a JSON {kind.__name__}")
    return value


class PostureWatcher:
    def __init__(self, config: PostureConfig, *, table: ValidatorsTable, state: PostureState,
                 alerts: AlertPublisher, cloudtrail=None, kms=None, s3=None, sns=None, events=None,
                 cloudwatch=None) -> None:
        self.config, self.table, self.state, self.alerts = config, table, state, alerts
        self.cloudtrail, self.kms, self.s3, self.sns = cloudtrail, kms, s3, sns
        self.events, self.cloudwatch = events, cloudwatch

    def on_api_call(self, event: Any) -> str:
        """``alerted``, ``ignored`` (another resource or call) or ``rejected``."""
        verdict = judge_api_call(event, self.config.watched)
        if isinstance(verdict, Rejection):
            logger.warning("event rejected", extra={"reason": verdict.reason})
            metrics.add_metric(name=PostureMetrics.REJECTED_EVENTS.name, unit=MetricUnit.Count, value=1)
            return "rejected"
        if verdict is None:
            return "ignored"
        scope = self.config.watched.trail_arn
        if verdict.details.get("error_code"):
            # Never through this function's rules (they match calls that succeeded): failed calls
            # have their own rules, queue and function (``handlers.posture_failed_calls``).
            logger.warning("failed call rejected: the failed-calls function summarizes these",
                           extra={"finding": verdict.to_dict()})
            metrics.add_metric(name=PostureMetrics.REJECTED_EVENTS.name, unit=MetricUnit.Count, value=1)
            return "rejected"
        identifier = event_id(event)
        if identifier is None:  # CloudTrail always sets one; without it, alert rather than drop
            self.alerts.publish(scope, verdict.kind, [verdict])
        else:
            publish_once(self.table, self.alerts, posture_event_marker(identifier), scope, verdict.kind, [verdict])
        metrics.add_metric(name=PostureMetrics.FINDINGS.name, unit=MetricUnit.Count, value=1)
        logger.info("weakening call", extra={"finding": verdict.to_dict()})
        return "alerted"

    def check(self) -> list[str]:
        """Alert on what appeared or cleared since the last run; the open conditions' kinds."""
        watched = self.config.watched
        alarm_prefix = f"{watched.stack_name}-" if self.config.expected_alarms else None
        observation = observe(cloudtrail=self.cloudtrail if self.config.check_trail else None, kms=self.kms,
                              s3=self.s3, trail_arn=watched.trail_arn, key_arn=watched.key_arn,
                              buckets=watched.buckets, settings_of=sorted(self.config.expected_buckets),
                              sns=self.sns, topic_arn=(self.config.expected_subscriptions or (None,))[0],
                              events=self.events, rules=sorted(self.config.expected_rules),
                              cloudwatch=self.cloudwatch, alarm_prefix=alarm_prefix)
        findings = judge_status(observation, expected_selectors=self.config.expected_selectors,
                                trail_arn=watched.trail_arn, expected_trail=self.config.expected_trail,
                                expected_buckets=self.config.expected_buckets,
                                expected_subscriptions=self.config.expected_subscriptions,
                                expected_rules=self.config.expected_rules, rule_values=self.config.rule_values,
                                expected_alarms=self.config.expected_alarms,
                                alarm_prefix=alarm_prefix or "")
        if self.config.handover:
            findings += handover_findings(self.config.handover, read_handover_policies(
                self.config.handover, s3=self.s3, kms=self.kms, sns=self.sns))
        scope = watched.trail_arn if self.config.check_trail else f"{watched.account}:{watched.region}"
        changes = state_changes(self.state.load(scope), findings)
        stopped = any(f.kind == PostureKind.LOGGING_STOPPED for f in findings)
        restart = None
        if stopped and self.config.auto_restart_logging:
            error = start_logging(self.cloudtrail, watched.trail_arn)
            restart = "StartLogging called: the trail is logging again" if error is None else \
                f"StartLogging failed ({error}): start it by hand"
            logger.warning("auto-restart of logging", extra={"result": restart})
        for finding in changes.appeared:
            if restart and finding.kind == PostureKind.LOGGING_STOPPED:
                finding = replace(finding, message=f"{finding.message} {restart}.",
                                  details={**finding.details, "auto_restart": restart})
            self.alerts.publish(watched.trail_arn, finding.kind, [finding])
        for kind in changes.cleared:
            cleared = cleared_finding(kind, watched.trail_arn)
            self.alerts.publish(watched.trail_arn, cleared.kind, [cleared])
        self.state.save(scope, changes.open_kinds)
        metrics.add_metric(name=PostureMetrics.FINDINGS.name, unit=MetricUnit.Count, value=len(changes.appeared))
        metrics.add_metric(name=HEARTBEATS[POSTURE_WATCHER].metric.name, unit=MetricUnit.Count, value=1)
        metrics.add_metric(name=PostureMetrics.OPEN_CONDITIONS.name, unit=MetricUnit.Count,
                           value=len(changes.open_kinds))
        logger.info("posture checked", extra={"open": changes.open_kinds, "appeared": len(changes.appeared),
                                              "cleared": changes.cleared})
        return changes.open_kinds


_watcher: PostureWatcher | None = None


def _default_watcher() -> PostureWatcher:
    global _watcher
    if _watcher is None:
        config = config_from_env()
        brought = {part for part, _, _ in config.handover}
        dynamodb = boto3.client("dynamodb")
        _watcher = PostureWatcher(
            config, table=ValidatorsTable(config.table_name, dynamodb), state=PostureState(config.table_name, dynamodb),
            alerts=AlertPublisher(config.alerts_topic_arn, boto3.client("sns")),
            cloudtrail=boto3.client("cloudtrail") if config.check_trail else None,
            kms=boto3.client("kms") if config.watched.key_arn or "key" in brought else None,
            s3=boto3.client("s3") if config.watched.buckets or "bucket" in brought else None,
            sns=boto3.client("sns") if config.expected_subscriptions or "topic" in brought else None,
            events=boto3.client("events") if config.expected_rules else None,
            cloudwatch=boto3.client("cloudwatch") if config.expected_alarms else None)
    return _watcher


SCHEDULED = "Scheduled Event"


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event, context):
    """The one function of the stack: its schedule runs the check, its rules send calls."""
    watcher = _default_watcher()
    if isinstance(event, dict) and event.get("detail-type") == SCHEDULED and event.get("source") == "aws.events":
        return {"open_conditions": watcher.check()}
    return {"result": watcher.on_api_call(event)}
