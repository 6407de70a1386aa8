"""The trail's posture, judged: pure core of the posture watcher (no boto3).

Two inputs, one kind of output (``Finding``):
- ``judge_api_call``: an EventBridge "AWS API Call via CloudTrail" event. A call that can
  weaken one of this trail's own resources (the trail, its two log buckets, its key, its
  log group) is one finding naming who, what, when and why it matters; a call on any other
  resource is none; a malformed event, or one from another account or region, is a
  ``Rejection`` (counted and logged by the caller, never raised).
- ``judge_status``: what GetTrailStatus, GetTrail, GetEventSelectors, DescribeKey and
  GetBucketPolicy returned, as a ``PostureObservation``: one finding per open condition.
``state_changes`` turns the open conditions of two runs into alerts: one when a condition
appears, one when it clears, none while it lasts.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

from ..contract import (EXPECTED_TRAIL_FIELDS, BucketExpectation, Env, PostureEnv, PostureKind, decode_flag,
                        lifecycle_rule, required)
from ..contract.drift import (ALARM_ACTIONS, AlarmExpectation, RuleExpectation, alarm_digest, alarm_key,
                              alarms_digest, mirrored_pattern, parse_pattern, rule_digest, target_digest)
from ..contract.weakening_calls import (ANY_VALUE_FIELDS, API_CALL, CASE_INSENSITIVE, CLOUDTRAIL, CLOUDWATCH,
                                        DYNAMODB, EVENTS, KMS, LAMBDA, LOGS, RESOURCE_FIELDS, RESPONSE_FIELDS, S3, SNS,
                                        SQS, STATES, call_named, own_prefixes)
from ..findings import Finding, Severity

EVENT_ID = re.compile(r"[A-Za-z0-9-]{1,128}")
MAX_FIELD_CHARS = 512
"""Longer values from an event are cut: an alert repeats what a caller chose to send."""

SEVERITY_BY_SOURCE = {CLOUDTRAIL: Severity.CRITICAL, S3: Severity.HIGH, KMS: Severity.CRITICAL, LOGS: Severity.HIGH,
                      LAMBDA: Severity.HIGH, EVENTS: Severity.HIGH, SNS: Severity.HIGH, CLOUDWATCH: Severity.HIGH,
                      SQS: Severity.HIGH, DYNAMODB: Severity.HIGH, STATES: Severity.HIGH}


@dataclass(frozen=True)
class WatchedResources:
    """This trail's resources in one account (the one whose events a watcher receives)."""

    trail_arn: str
    account: str
    """The account the events must come from (it owns the resources below)."""
    region: str
    """The trail's home region: the buckets, key and log group live there too."""
    watch_trail: bool = True
    """False where this account does not hold the trail (the Log Archive of two accounts)."""
    buckets: tuple[str, ...] = ()
    key_arn: str | None = None
    key_alias: str | None = None
    """``alias/<name>`` of the key, when the watcher knows it."""
    log_group_name: str | None = None
    stack_name: str | None = None
    """The stack that made the validators: CloudFormation names its alarms, queues and table
    ``<stack>-...`` (None: those calls are not judged here)."""

    @property
    def trail_name(self) -> str:
        return self.trail_arn.rsplit("/", 1)[-1]

    @property
    def key_id(self) -> str | None:
        return self.key_arn.rsplit("/", 1)[-1] if self.key_arn else None

    def names_for(self, source: str) -> frozenset[str]:
        """Every exact spelling by which a call of ``source`` names one of our resources."""
        if source == CLOUDTRAIL:
            return frozenset((self.trail_name, self.trail_arn)) if self.watch_trail else frozenset()
        if source == S3:
            return frozenset(self.buckets)
        if source == KMS:
            alias_arn = (f"arn:{_partition(self.trail_arn)}:kms:{self.region}:{self.account}:{self.key_alias}"
                         if self.key_alias else None)
            return frozenset(n for n in (self.key_arn, self.key_id, self.key_alias, alias_arn) if n)
        if source == LOGS and self.log_group_name:
            arn = f"arn:{_partition(self.trail_arn)}:logs:{self.region}:{self.account}:log-group:{self.log_group_name}"
            return frozenset((self.log_group_name, arn, f"{arn}:*"))
        return frozenset()

    def prefixes_for(self, source: str) -> tuple[str, ...]:
        """The name prefixes of this deployment's parts in this account (``contract
        .weakening_calls.own_prefixes``)."""
        if source not in RESOURCE_FIELDS or (source in (CLOUDWATCH, SQS, DYNAMODB) and not self.stack_name):
            return ()
        return own_prefixes(source, trail_name=self.trail_name, stack_name=self.stack_name or "",
                            partition=_partition(self.trail_arn), region=self.region, account=self.account)


def watched_from_env(environ: Mapping[str, str]) -> WatchedResources:
    """What a posture function watches, from the environment the stack sets (``PostureEnv``):
    the posture watcher and the failed-calls function read the same names."""
    return WatchedResources(
        trail_arn=required(environ, PostureEnv.TRAIL_ARN), account=required(environ, PostureEnv.ACCOUNT),
        region=required(environ, Env.HOME_REGION), watch_trail=decode_flag(environ, PostureEnv.CHECK_TRAIL),
        buckets=tuple(b for b in (environ.get(PostureEnv.TRAIL_BUCKET), environ.get(PostureEnv.ACCESS_LOG_BUCKET)) if b),
        key_arn=environ.get(PostureEnv.KEY_ARN) or None, key_alias=environ.get(PostureEnv.KEY_ALIAS) or None,
        log_group_name=environ.get(PostureEnv.LOG_GROUP) or None,
        stack_name=environ.get(PostureEnv.STACK_NAME) or None)


@dataclass(frozen=True)
class Rejection:
    """An event the watcher cannot judge: malformed, or from another account or region."""

    reason: str


def judge_api_call(event: Any, watched: WatchedResources) -> Finding | Rejection | None:
    """One finding for a call that can weaken a watched resource, None for any other
    resource or call, a Rejection for what is not a well-formed event of this account."""
    if not isinstance(event, Mapping):
        return Rejection("the event is not a JSON object")
    if event.get("detail-type") != API_CALL:
        return Rejection(f"detail-type {_shown(event.get('detail-type'))} is not {API_CALL!r}")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        return Rejection("the event has no detail object")
    source, name = detail.get("eventSource"), detail.get("eventName")
    if not isinstance(source, str) or not isinstance(name, str):
        return Rejection("detail.eventSource or detail.eventName is missing or not a string")
    account = detail.get("recipientAccountId", event.get("account"))
    if event.get("account") != watched.account or account != watched.account:
        return Rejection(f"the event is of account {_shown(event.get('account'))}/{_shown(account)}, "
                         f"not {watched.account}")
    region = detail.get("awsRegion", event.get("region"))
    if event.get("region") != watched.region or region != watched.region:
        return Rejection(f"the event is of region {_shown(region)}, not the home region {watched.region}")
    call = call_named(source, name)
    if call is None:
        return None
    why = call.why
    resource = _our_resource(detail, source, watched)
    if resource is None:
        return None
    identity = detail.get("userIdentity") if isinstance(detail.get("userIdentity"), Mapping) else {}
    principal = _text(identity.get("arn")) or _text(identity.get("principalId")) or _text(identity.get("invokedBy"))
    error = _text(detail.get("errorCode"))
    failed = f" (it failed: {error})" if error else ""
    who = principal or "an unnamed principal"
    return Finding(
        kind=PostureKind.WEAKENING_API_CALL,
        severity=Severity.MEDIUM if error else SEVERITY_BY_SOURCE[source],
        message=f"{who} called {name} on {resource}{failed}: {why}.",
        keys=(resource,),
        details={"event_name": name, "event_source": source, "resource": resource,
                 "principal_arn": principal, "principal_type": _text(identity.get("type")),
                 "source_ip": _text(detail.get("sourceIPAddress")), "user_agent": _text(detail.get("userAgent")),
                 "event_time": _text(detail.get("eventTime")) or _text(event.get("time")),
                 "event_id": _text(detail.get("eventID")) or _text(event.get("id")),
                 "account": watched.account, "region": watched.region, "error_code": error, "why": why})


def failed_call_window(event_time: Any, now: datetime, minutes: int) -> str:
    """The window (its start, ``YYYY-MM-DDTHH:MMZ``) a failed call is summarized in: by its
    event time, or ``now`` when that cannot be read (or lies in the future)."""
    try:
        when = datetime.fromisoformat(str(event_time).replace("Z", "+00:00"))
        when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    except ValueError:
        when = now
    when = min(when, now).astimezone(timezone.utc)
    start = when.replace(second=0, microsecond=0) - timedelta(minutes=(when.hour * 60 + when.minute) % minutes)
    return start.strftime("%Y-%m-%dT%H:%MZ")


def failed_calls_summary(call: Finding, window: str, minutes: int) -> Finding:
    """The one alert of a window for the failed calls of one principal on one resource (the
    first one's details; the rest are counted in ``FailedWeakeningCalls``)."""
    details = call.details
    who = details.get("principal_arn") or "an unnamed principal"
    return Finding(
        PostureKind.FAILED_CALLS, Severity.MEDIUM,
        f"{who} tried {details.get('event_name')} on {details.get('resource')} and failed "
        f"({details.get('error_code')}): someone is trying. Further failed calls of this principal on this "
        f"resource in the {minutes} minutes from {window} raise no alert; the FailedWeakeningCalls metric "
        "counts them.", keys=call.keys, details={**details, "window_start": window, "window_minutes": minutes})


def event_id(event: Mapping[str, Any]) -> str | None:
    """The CloudTrail event's id (a redelivery repeats it), for once-only alerts: as it is
    when it looks like one (a UUID), else its SHA-256, so no id can make an oversized or
    odd table key."""
    detail = event.get("detail")
    value = detail.get("eventID") if isinstance(detail, Mapping) else None
    if not isinstance(value, str) or not value:
        return None
    return value if EVENT_ID.fullmatch(value) else f"sha256-{hashlib.sha256(value.encode('utf-8', 'replace')).hexdigest()}"


def _our_resource(detail: Mapping[str, Any], source: str, watched: WatchedResources) -> str | None:
    """The watched resource the call names, matched exactly (never as a substring)."""
    names, prefixes = watched.names_for(source), watched.prefixes_for(source)
    parameters, response = detail.get("requestParameters"), detail.get("responseElements")
    candidates: list[Any] = []
    if isinstance(parameters, Mapping):
        for f in ANY_VALUE_FIELDS.get(source, ()):  # of whatever type: the call is ours all the same
            if parameters.get(f) is not None:
                return _cut(parameters[f]) if isinstance(parameters[f], str) else _cut_json(parameters[f])
        for f in RESOURCE_FIELDS[source]:  # a list names several (DeleteAlarms' alarmNames)
            value = parameters.get(f)
            candidates.extend(value if isinstance(value, list) else [value])
    if isinstance(response, Mapping):
        candidates.extend(response.get(f) for f in RESPONSE_FIELDS.get(source, ()))
    resources = detail.get("resources")
    if isinstance(resources, list):  # CloudTrail's own resources list (KMS names the key's ARN there)
        candidates.extend(r.get("ARN") for r in resources if isinstance(r, Mapping))
    folded = {name.casefold() for name in names} if source in CASE_INSENSITIVE else names
    for candidate in candidates:
        if isinstance(candidate, str) and (candidate.casefold() if source in CASE_INSENSITIVE else candidate) in folded:
            return _cut(candidate)
        if isinstance(candidate, str) and prefixes and candidate.startswith(prefixes):
            return _cut(candidate)  # a prefix admits a name of any length
    return None


# -- the scheduled check ------------------------------------------------------------------
@dataclass(frozen=True)
class PostureObservation:
    """What the APIs returned; None where a part was not read (not held by this account).
    ``errors``: parts that could not be read (each a finding: the state is unknown)."""

    trail: Mapping[str, Any] | None = None
    """GetTrail's ``Trail``."""
    trail_found: bool = True
    """False when GetTrail said TrailNotFound."""
    status: Mapping[str, Any] | None = None
    """GetTrailStatus."""
    selectors: Mapping[str, Any] | None = None
    """GetEventSelectors."""
    key: Mapping[str, Any] | None = None
    """DescribeKey's ``KeyMetadata``."""
    bucket_policies: Mapping[str, str | None] = field(default_factory=dict)
    """Bucket name -> its policy text (None: the bucket has no policy)."""
    bucket_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Bucket name -> what S3 said of each setting (``BUCKET_SETTINGS``; None: not configured)."""
    subscriptions: Sequence[tuple[str, str]] | None = None
    """The alerts topic's subscriptions (protocol, endpoint); None: not read."""
    rules: Mapping[str, Mapping[str, Any] | None] | None = None
    """Rule name -> ``{"state": ..., "targets": [{"Id": ..., "Arn": ..., "Input": ..., ...}, ...]`` (the
    ``aws.TARGET_FIELDS`` ListTargetsByRule gives), ``"pattern": EventPattern
    text, "schedule": ScheduleExpression}`` (None: the rule is gone); None: not read."""
    alarms: Sequence[Mapping[str, Any]] | None = None
    """DescribeAlarms' ``MetricAlarms`` and ``CompositeAlarms`` of the stack's prefix; None: not read."""
    errors: Sequence[str | tuple[str, str]] = ()
    """Each a ``(resource, what)`` pair: the part that could not be read (its conditions stay
    open, no other's) and why; a bare text is a part of unknown resource (all stay open)."""


def judge_status(observation: PostureObservation, *, expected_selectors: Sequence[Mapping[str, Any]] | None,
                 trail_arn: str, expected_trail: Mapping[str, Any] | None = None,
                 expected_buckets: Mapping[str, BucketExpectation] | None = None,
                 expected_subscriptions: tuple[str, Sequence[tuple[str, str]]] | None = None,
                 expected_rules: Mapping[str, RuleExpectation] | None = None,
                 rule_values: Mapping[str, str] | None = None,
                 expected_alarms: Mapping[str, AlarmExpectation] | None = None,
                 alarm_prefix: str = "") -> list[Finding]:
    """One finding per open condition (kinds in ``contract.PostureKind``). ``expected_trail``:
    the deployed destination (``EXPECTED_TRAIL_FIELDS``); ``expected_buckets``: the deployed
    settings of the buckets read (None: not compared)."""
    buckets = _bucket_findings(observation.bucket_policies) + _bucket_setting_findings(
        observation.bucket_settings, expected_buckets or {}) \
        + subscription_findings(observation.subscriptions, expected_subscriptions) \
        + rule_findings(observation.rules, expected_rules, rule_values, _partition(trail_arn)) \
        + alarm_findings(observation.alarms, expected_alarms, alarm_prefix, rule_values, _partition(trail_arn))
    findings = [_check_failed(error) for error in observation.errors]
    if not observation.trail_found:
        findings.append(Finding(PostureKind.TRAIL_MISSING, Severity.CRITICAL,
                                f"The trail {trail_arn} does not exist: nothing is recorded.", keys=(trail_arn,)))
        return findings + _key_findings(observation.key) + buckets
    findings += _status_findings(observation.status, trail_arn)
    findings += _trail_findings(observation.trail, trail_arn)
    if observation.trail is not None and expected_trail is not None:
        findings += destination_findings(observation.trail, expected_trail, trail_arn)
    if observation.selectors is not None and expected_selectors is not None:
        found = observation.selectors.get("AdvancedEventSelectors") or []
        if normalized_selectors(found) != normalized_selectors(expected_selectors):
            findings.append(Finding(
                PostureKind.EVENT_SELECTORS_CHANGED, Severity.HIGH,
                "The trail's event selectors differ from the deployed ones: some events may not be recorded.",
                keys=(trail_arn,), details={"expected": list(expected_selectors),
                                            "found": _cut_json(found),
                                            "basic_selectors": _cut_json(observation.selectors.get("EventSelectors"))}))
    return findings + _key_findings(observation.key) + buckets


def _check_failed(error: str | tuple[str, str]) -> Finding:
    resource, what = (error if isinstance(error, tuple) and len(error) == 2 else ("", error))
    return Finding(PostureKind.CHECK_FAILED, Severity.HIGH, f"Could not read {_text(str(what))}: its posture is unknown.",
                   keys=(_cut(str(resource)),) if resource else (), details={"error": _cut(str(what))})


def _status_findings(status: Mapping[str, Any] | None, trail_arn: str) -> list[Finding]:
    if status is None:
        return []
    findings = []
    if status.get("IsLogging") is not True:
        findings.append(Finding(PostureKind.LOGGING_STOPPED, Severity.CRITICAL,
                                "The trail is not logging: no API activity is recorded.", keys=(trail_arn,),
                                details={"stopped_at": _text(status.get("StopLoggingTime"))}))
    for kind, error_field, what in (
            (PostureKind.DELIVERY_ERROR, "LatestDeliveryError", "log files to the bucket"),
            (PostureKind.DIGEST_DELIVERY_ERROR, "LatestDigestDeliveryError", "digest files to the bucket"),
            (PostureKind.CLOUDWATCH_LOGS_DELIVERY_ERROR, "LatestCloudWatchLogsDeliveryError",
             "events to CloudWatch Logs")):
        error = _text(status.get(error_field))
        if error:
            findings.append(Finding(kind, Severity.HIGH, f"CloudTrail failed to deliver {what}: {error}.",
                                    keys=(trail_arn,), details={error_field: error}))
    return findings


def _trail_findings(trail: Mapping[str, Any] | None, trail_arn: str) -> list[Finding]:
    if trail is None:
        return []
    findings = []
    for kind, setting, what in (
            (PostureKind.LOG_FILE_VALIDATION_OFF, "LogFileValidationEnabled",
             "Log file validation is off: new logs are not covered by signed digests."),
            (PostureKind.NOT_MULTI_REGION, "IsMultiRegionTrail",
             "The trail is no longer multi-region: other regions are not recorded."),
            (PostureKind.NOT_ORGANIZATION_TRAIL, "IsOrganizationTrail",
             "The trail is no longer an organization trail: member accounts are not recorded.")):
        if trail.get(setting) is not True:
            findings.append(Finding(kind, Severity.HIGH, what, keys=(trail_arn,), details={setting: trail.get(setting)}))
    return findings


def destination_findings(trail: Mapping[str, Any], expected: Mapping[str, Any], trail_arn: str) -> list[Finding]:
    """One finding per destination field of GetTrail that is not the deployed one: an
    UpdateTrail to another bucket, prefix, key, topic, or without the log group, is found by
    the schedule too, not only by the one real-time alert."""
    findings = []
    for name in EXPECTED_TRAIL_FIELDS:
        want, found = expected.get(name) or "", trail.get(name) or ""
        if not isinstance(found, str) or not _same_destination(name, str(want), found):
            findings.append(Finding(
                PostureKind.TRAIL_DESTINATION_CHANGED, Severity.CRITICAL,
                f"The trail's {name} is {_shown(found) if found else 'unset'}, not the deployed "
                f"{want or 'none'}: logs may be going elsewhere, or not at all.",
                keys=(trail_arn, name), details={"setting": name, "expected": want, "found": _cut_json(found)}))
    return findings


def _same_destination(name: str, want: str, found: str) -> bool:
    if name == "CloudWatchLogsLogGroupArn":  # GetTrail and CloudFormation both may end it with ``:*``
        return want.removesuffix(":*") == found.removesuffix(":*")
    if name == "KmsKeyId" and ":alias/" in want and ":key/" in found:
        # The trail names its key by an alias of the Log Archive account: GetTrail returns the
        # key it names, which must be of that account and region (the alias itself is watched there).
        return want.split(":alias/", 1)[0] == found.split(":key/", 1)[0]
    return want == found


def subscription_findings(found: Sequence[tuple[str, str]] | None,
                          expected: tuple[str, Sequence[tuple[str, str]]] | None) -> list[Finding]:
    """A finding when the alerts topic's subscriptions are not the deployed ones."""
    if found is None or expected is None:
        return []
    topic, wanted = expected
    want, have = sorted(map(list, wanted)), sorted(map(list, found))
    if want == have:
        return []
    missing = [s for s in want if s not in have]
    added = [s for s in have if s not in want]
    return [Finding(PostureKind.SUBSCRIPTIONS_CHANGED, Severity.HIGH,
                    f"The alerts topic {topic} lost {len(missing)} and gained {len(added)} subscription(s): "
                    "alerts may reach nobody, or someone who should not read them.", keys=(topic,),
                    details={"missing": _cut_json(missing), "added": _cut_json(added)})]


def rule_findings(found: Mapping[str, Mapping[str, Any] | None] | None,
                  expected: Mapping[str, RuleExpectation] | None,
                  values: Mapping[str, str] | None = None, partition: str | None = None) -> list[Finding]:
    """A finding per validator rule that is gone, not enabled, sends to other targets (ids or
    ARNs) than deployed, sends them otherwise (input, dead-letter queue, retry policy:
    ``target_digest``), or matches another event pattern or schedule (``values`` and
    ``partition``: the deployed values its pattern holds, for ``rule_digest``)."""
    if found is None or not expected:
        return []
    findings = []
    for name, want in sorted(expected.items()):
        rule = found.get(name)
        read = rule.get("targets") if isinstance(rule, Mapping) else None
        readable = isinstance(read, (list, tuple)) and all(
            isinstance(t, Mapping) and isinstance(t.get("Id"), str) and isinstance(t.get("Arn"), str) for t in read)
        have = sorted((t["Id"], t["Arn"]) for t in read) if readable else None
        problem = ("is gone" if rule is None else "could not be read" if not isinstance(rule, Mapping)
                   else f"is {_cut(rule.get('state'))}" if rule.get("state") != "ENABLED"
                   else "has targets that could not be read" if have is None
                   else "targets other ids than deployed" if [i for i, _ in have] != [i for i, _ in want.targets]
                   else "sends to other ARNs than deployed" if have != sorted(want.targets)
                   else "sends its targets another input, dead-letter queue or retry policy than deployed"
                   if _settings_changed(read, want, values, partition)
                   else "matches another event pattern or schedule than deployed"
                   if _pattern_changed(rule, want, values, partition)
                   else None)
        if problem:
            findings.append(Finding(PostureKind.RULE_CHANGED, Severity.HIGH,
                                    f"The validators' rule {name} {problem}: what it invokes may no longer run.",
                                    keys=(name,), details={"rule": name, "found": _cut_json(rule),
                                                           "expected_targets": [list(t) for t in want.targets]}))
    return findings


def _pattern_changed(rule: Mapping[str, Any], want: RuleExpectation, values: Mapping[str, str] | None,
                     partition: str | None) -> bool:
    if not want.digest:
        return False
    pattern = parse_pattern(rule.get("pattern"))
    if want.mirrored:
        pattern = mirrored_pattern(pattern)
        if pattern is None:
            return True
    return rule_digest(pattern, rule.get("schedule"), values, partition) != want.digest


def _settings_changed(read: Sequence[Mapping[str, Any]], want: RuleExpectation, values: Mapping[str, str] | None,
                      partition: str | None) -> bool:
    by_id = {t["Id"]: t for t in read}
    return any(digest is not None and target_digest(by_id.get(target_id), values, partition) != digest
               for target_id, digest in want.settings)


def alarm_findings(found: Sequence[Mapping[str, Any]] | None, expected: Mapping[str, AlarmExpectation] | None,
                   prefix: str, values: Mapping[str, str] | None = None,
                   partition: str | None = None) -> list[Finding]:
    """A finding per alarm of the stack (``expected``: by ``drift.alarm_key``, with its action
    ARNs and the digest of its definition) that is gone, cannot notify, notifies other ARNs
    than deployed, or watches another metric or condition than deployed (``values`` and
    ``partition``: as ``rule_findings``, for ``alarm_digest``). Alarms under the prefix that
    are not ours (another stack ``<stack>-X``, one made by hand) are not judged."""
    if found is None or not expected:
        return []
    findings = []
    ours: dict[str, list[Mapping[str, Any]]] = {}
    for alarm in found:  # keyed under the prefix: while the alarms cannot be read, these stay open
        if not isinstance(alarm, Mapping) or not isinstance(alarm.get("AlarmName"), str):
            findings.append(Finding(PostureKind.ALARM_CHANGED, Severity.HIGH,
                                    f"An alarm {prefix}* could not be read: whether it notifies is unknown.",
                                    keys=(f"{prefix}*", "unreadable"), details={"alarm": _cut_json(alarm)}))
            continue
        key = alarm_key(alarm["AlarmName"], prefix, expected)
        if key is not None:
            ours.setdefault(key, []).append(alarm)
    gone = sorted(set(expected) - set(ours))
    if gone:
        findings.append(Finding(PostureKind.ALARM_CHANGED, Severity.HIGH,
                                f"{len(gone)} of the stack's {len(expected)} alarms are gone: what they watched "
                                "raises nothing.", keys=(f"{prefix}*",),
                                details={"gone": [f"{prefix}*{key}-*" for key in gone][:20],
                                         "expected": len(expected), "found": len(expected) - len(gone)}))
    digests = {key: {alarm_digest(a, values, partition, expected[key].wildcards) for a in alarms}
               for key, alarms in ours.items() if expected[key].locator}
    redefined = sum(1 for key, alarms in ours.items() for a in alarms if expected[key].locator and not alarm_digest(
        a, values, partition, expected[key].wildcards).startswith(expected[key].locator))
    for key, alarms in sorted(ours.items()):
        want = expected[key]
        for alarm in alarms:
            name = _cut(alarm["AlarmName"])
            have = {field: _as_list(alarm.get(field)) for field in ALARM_ACTIONS}
            if alarm.get("ActionsEnabled") is not True or not have["AlarmActions"]:
                problem = "notifies no one (actions disabled or removed)"
            elif any(not all(isinstance(a, str) for a in have[f]) or sorted(have[f]) != sorted(want.actions[f])
                     for f in ALARM_ACTIONS):
                problem = "notifies other ARNs than deployed (its actions were redirected)"
            elif want.locator and not alarm_digest(alarm, values, partition, want.wildcards).startswith(want.locator):
                problem = REDEFINED
            else:
                continue
            findings.append(Finding(PostureKind.ALARM_CHANGED, Severity.HIGH, f"The alarm {name} {problem}.",
                                    keys=(f"{prefix}*", name),
                                    details={"actions_enabled": alarm.get("ActionsEnabled"),
                                             **{f: _cut_json(alarm.get(f)) for f in ALARM_ACTIONS},
                                             **{f: _cut_json(alarm.get(f)) for f in
                                                ("Namespace", "MetricName", "Threshold", "TreatMissingData")
                                                if f in alarm},
                                             "expected": {f: list(want.actions[f]) for f in ALARM_ACTIONS}}))
    located = {key for key, want in expected.items() if want.locator}
    if not redefined and getattr(expected, "digest", None) and located <= set(digests) and (
            any(len(d) > 1 for d in digests.values())
            or alarms_digest({key: next(iter(d)) for key, d in digests.items()}) != expected.digest):
        # each locator matches (one in 4096 does by chance), the definitions together do not
        findings.append(Finding(PostureKind.ALARM_CHANGED, Severity.HIGH,
                                f"An alarm {prefix}* {REDEFINED}; which one is not known.",
                                keys=(f"{prefix}*", "definitions"), details={"alarms": len(located)}))
    return findings


REDEFINED = ("watches another metric or fires on another condition than deployed (its metric, dimensions, "
             "statistic, period, threshold, comparison, evaluation or missing-data treatment was changed)")


BUCKET_SETTINGS = ("versioning", "object_ownership", "object_lock", "replication", "notifications", "lifecycle")
"""The settings of a log bucket the scheduled check reads and compares."""


def _bucket_setting_findings(settings: Mapping[str, Mapping[str, Any]],
                             expected: Mapping[str, BucketExpectation]) -> list[Finding]:
    findings = []
    for bucket, read in sorted(settings.items()):
        want = expected.get(bucket)
        if want is None:
            continue
        for setting in BUCKET_SETTINGS:
            if setting not in read:
                continue  # not read: an error of the observation says so
            wanted, found = _expected_setting(want, setting), _found_setting(setting, read[setting])
            if _canonical(wanted) != _canonical(found):
                findings.append(Finding(
                    PostureKind.BUCKET_SETTING_CHANGED, Severity.HIGH,
                    f"The {setting.replace('_', ' ')} of bucket {bucket} differs from the deployed one: "
                    f"{BUCKET_SETTING_WHY[setting]}.", keys=(bucket, setting),
                    details={"setting": setting, "expected": _cut_json(wanted), "found": _cut_json(found)}))
    return findings


BUCKET_SETTING_WHY = {
    "versioning": "an overwritten or deleted log may leave no copy",
    "object_ownership": "ACLs may again grant access to the logs",
    "object_lock": "logs may be deleted or overwritten before their retention ends",
    "replication": "the logs may be copied to a bucket this deployment does not control",
    "notifications": "the bucket's events may no longer reach the validators, or go elsewhere",
    "lifecycle": "logs may be deleted sooner, or kept in another storage class",
}


def _expected_setting(want: BucketExpectation, setting: str) -> Any:
    return {"versioning": want.versioning, "object_ownership": want.object_ownership,
            "object_lock": want.object_lock, "replication": want.replication,
            "notifications": {"event_bridge": want.event_bridge, "targets": sorted(want.notification_targets)},
            "lifecycle": list(want.lifecycle)}[setting]


def _found_setting(setting: str, value: Any) -> Any:
    """What S3 returned (None: not configured), in the form ``_expected_setting`` gives."""
    read = value if isinstance(value, Mapping) else {}
    if setting == "versioning":
        return _text(read.get("Status")) or ""
    if setting == "object_ownership":
        rules = (read.get("OwnershipControls") or {}).get("Rules") if isinstance(
            read.get("OwnershipControls"), Mapping) else None
        first = rules[0] if isinstance(rules, list) and len(rules) == 1 and isinstance(rules[0], Mapping) else {}
        return _text(first.get("ObjectOwnership")) or ("" if value is None else _cut_json(value))
    if setting == "object_lock":
        config = read.get("ObjectLockConfiguration")
        if value is None:
            return None
        if not isinstance(config, Mapping) or config.get("ObjectLockEnabled") != "Enabled":
            return _cut_json(value)
        rule = config.get("Rule")
        retention = rule.get("DefaultRetention") if isinstance(rule, Mapping) else None
        # S3 may return both Days and Years, the unused one 0.
        return {k: v for k, v in retention.items() if v} if isinstance(retention, Mapping) else {}
    if setting == "replication":
        return value is not None
    if setting == "notifications":
        targets = [t.get(arn) for name, arn in (("QueueConfigurations", "QueueArn"), ("TopicConfigurations", "TopicArn"),
                                                ("LambdaFunctionConfigurations", "LambdaFunctionArn"))
                   for t in _as_list(read.get(name)) if isinstance(t, Mapping)]
        return {"event_bridge": isinstance(read.get("EventBridgeConfiguration"), Mapping),
                "targets": sorted(str(t) for t in targets)}
    if setting == "lifecycle":
        return [api_lifecycle_rule(r) for r in _as_list(value) if not isinstance(r, Mapping)
                or r.get("Status") != "Disabled"] if value is not None else []
    return _cut_json(value)


def api_lifecycle_rule(rule: Any) -> Any:
    """A GetBucketLifecycleConfiguration rule as ``contract.lifecycle_rule`` makes it (a rule
    it cannot read stays as its text, so it always differs)."""
    if not isinstance(rule, Mapping):
        return _cut_json(rule)
    expiration = rule.get("Expiration") if isinstance(rule.get("Expiration"), Mapping) else {}
    noncurrent = rule.get("NoncurrentVersionExpiration")
    abort = rule.get("AbortIncompleteMultipartUpload")
    filter_ = rule.get("Filter") if isinstance(rule.get("Filter"), Mapping) else {}
    prefix = filter_.get("Prefix", rule.get("Prefix"))
    extra = {k: v for k, v in expiration.items() if k != "Days"}
    if set(filter_) - {"Prefix"} or extra:  # a tag filter, a date or a delete-marker expiry: never the deployed rule
        return _cut_json(rule)
    return lifecycle_rule(
        expiration_days=expiration.get("Days"),
        noncurrent_days=noncurrent.get("NoncurrentDays") if isinstance(noncurrent, Mapping) else None,
        transitions=[(t.get("Days"), t.get("StorageClass")) for t in _as_list(rule.get("Transitions"))
                     if isinstance(t, Mapping)],
        abort_days=abort.get("DaysAfterInitiation") if isinstance(abort, Mapping) else None, prefix=prefix)


def _canonical(value: Any) -> str:
    if isinstance(value, list):
        return json.dumps(sorted(json.dumps(v, sort_keys=True, default=str) for v in value))
    return json.dumps(value, sort_keys=True, default=str)


def _key_findings(key: Mapping[str, Any] | None) -> list[Finding]:
    if key is None:
        return []
    arn = _text(key.get("Arn")) or _text(key.get("KeyId")) or "the trail key"
    state = key.get("KeyState")
    if state == "PendingDeletion" or key.get("DeletionDate"):
        return [Finding(PostureKind.KEY_PENDING_DELETION, Severity.CRITICAL,
                        f"The trail key is scheduled for deletion on {_text(key.get('DeletionDate'))}: cancel it "
                        "(CancelKeyDeletion) or every log it encrypts becomes unreadable.", keys=(arn,),
                        details={"KeyState": _text(state)})]
    if state != "Enabled" or key.get("Enabled") is False:
        return [Finding(PostureKind.KEY_DISABLED, Severity.CRITICAL,
                        f"The trail key is {_text(state) or 'not enabled'}: CloudTrail cannot encrypt new logs.",
                        keys=(arn,), details={"KeyState": _text(state)})]
    return []


def _bucket_findings(policies: Mapping[str, str | None]) -> list[Finding]:
    return [Finding(PostureKind.BUCKET_TLS_DENY_MISSING, Severity.HIGH,
                    f"The policy of bucket {bucket} {'is missing' if text is None else 'has no TLS deny'}: "
                    "requests without TLS are no longer refused.", keys=(bucket,))
            for bucket, text in sorted(policies.items()) if not has_tls_deny(text, bucket)]


def has_tls_deny(policy_text: str | None, bucket: str) -> bool:
    """A statement denies every principal every S3 action on the bucket and its objects
    when ``aws:SecureTransport`` is false."""
    try:
        policy = json.loads(policy_text) if policy_text else None
    except ValueError:
        return False
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return False
    return any(_is_tls_deny(s, bucket) for s in statements if isinstance(s, dict))


def _is_tls_deny(statement: Mapping[str, Any], bucket: str) -> bool:
    principal = statement.get("Principal")
    everyone = principal == "*" or (isinstance(principal, Mapping) and _as_list(principal.get("AWS")) == ["*"])
    actions = set(_as_list(statement.get("Action")))
    resources = set(_as_list(statement.get("Resource")))
    bucket_arn = f"arn:aws:s3:::{bucket}"
    covers = {bucket_arn, f"{bucket_arn}/*"} <= {r.replace("arn:aws-cn:", "arn:aws:").replace(
        "arn:aws-us-gov:", "arn:aws:") for r in resources if isinstance(r, str)}
    condition = statement.get("Condition")
    secure_transport = None
    # Any other condition narrows the deny (to one account, one address...): not a TLS deny.
    if isinstance(condition, Mapping) and list(condition) == ["Bool"] and isinstance(condition["Bool"], Mapping) \
            and list(condition["Bool"]) == ["aws:SecureTransport"]:
        secure_transport = condition["Bool"]["aws:SecureTransport"]
    return (statement.get("Effect") == "Deny" and everyone and bool(actions & {"s3:*", "*"}) and covers
            and _as_list(secure_transport) in (["false"], [False]) and "NotAction" not in statement
            and "NotResource" not in statement and "NotPrincipal" not in statement)


def normalized_selectors(selectors: Any) -> frozenset:
    """Advanced event selectors compared by what they select (names are labels only)."""
    if not isinstance(selectors, (list, tuple)):
        return frozenset({("unreadable", json.dumps(selectors, sort_keys=True, default=str)[:MAX_FIELD_CHARS])})
    result = set()
    for selector in selectors:
        fields = selector.get("FieldSelectors") if isinstance(selector, Mapping) else None
        if not isinstance(fields, list):
            result.add(("unreadable", json.dumps(selector, sort_keys=True, default=str)[:MAX_FIELD_CHARS]))
            continue
        result.add(frozenset(
            (str(f.get("Field")), frozenset((op, frozenset(map(str, _as_list(values))))
                                       for op, values in f.items() if op != "Field" and _as_list(values)))
            if isinstance(f, Mapping) else ("unreadable", str(f)[:MAX_FIELD_CHARS]) for f in fields))
    return frozenset(result)


# -- state changes ------------------------------------------------------------------------
CONDITION_SEPARATOR = "@"
"""A condition is ``<kind>@<resource>``: kinds hold no ``@``."""


def condition_of(finding: Finding) -> str:
    """The condition a finding reports: its kind on its resource (its keys), so the trail
    bucket losing its TLS deny is another condition than the access-log bucket losing it."""
    return f"{finding.kind}{CONDITION_SEPARATOR}{'|'.join(finding.keys)}"


def split_condition(condition: str) -> tuple[str, str]:
    """(kind, resource) of a stored condition; a bare kind (stored before conditions had a
    resource) has the resource ``""``."""
    kind, _, resource = condition.partition(CONDITION_SEPARATOR)
    return kind, resource


def _part(resource: str) -> str:
    """The part a condition's resource belongs to (its first key)."""
    return resource.split("|", 1)[0]


@dataclass(frozen=True)
class StateChanges:
    appeared: list[Finding]
    cleared: list[str]
    """Conditions open in the previous run and not in this one."""
    open_kinds: list[str]
    """The open conditions (``<kind>@<resource>``): what to store for the next run."""


def state_changes(previous_open: Sequence[str], findings: Sequence[Finding]) -> StateChanges:
    """An alert per condition that appeared, one per condition that cleared, none for one
    that lasts. A condition is a kind on a resource (a delivery error whose text changes
    stays the same condition). A part that could not be read (a ``posture_check_failed``
    finding on it) says nothing of its own conditions: they stay open, uncleared; every
    other part's conditions appear and clear as they are read (a handed-over policy that cannot
    be read, ``handover_unverifiable``, keeps its part's open too). An unreadable part whose
    resource is unknown keeps every condition open."""
    by_condition: dict[str, Finding] = {}
    for finding in findings:
        by_condition.setdefault(condition_of(finding), finding)
    now = set(by_condition)
    before = set()
    for condition in previous_open:
        kind, resource = split_condition(condition)
        if resource or CONDITION_SEPARATOR in condition:
            before.add(condition)
        else:  # stored before conditions had a resource: the same kind open now is the same condition
            same = {c for c in now if split_condition(c)[0] == kind}
            before |= same or {condition}
    unreadable = {_part(split_condition(c)[1]) for c, f in by_condition.items()
                  if f.kind in (PostureKind.CHECK_FAILED, PostureKind.HANDOVER_UNVERIFIABLE)}
    everything_unknown = "" in unreadable
    kept = {c for c in before - now if split_condition(c)[0] != PostureKind.CHECK_FAILED
            and (everything_unknown or _part(split_condition(c)[1]) in unreadable)}
    appeared = [f for condition, f in sorted(by_condition.items()) if condition not in before]
    return StateChanges(appeared=appeared, cleared=sorted(before - now - kept), open_kinds=sorted(now | kept))


def cleared_finding(condition: str, trail_arn: str) -> Finding:
    kind, resource = split_condition(condition)
    where = f" on {resource.replace('|', ' ')}" if resource else ""
    return Finding(f"{kind}_cleared", Severity.INFO, f"Cleared: the condition {kind}{where} no longer holds.",
                   keys=tuple(resource.split("|")) if resource else (trail_arn,),
                   details={"cleared": kind, "resource": resource or trail_arn})


# -- helpers ------------------------------------------------------------------------------
def _text(value: Any) -> str | None:
    return _cut(value) if isinstance(value, str) and value else None


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
        return value[:MAX_FIELD_CHARS] + "..."
    return value


def _shown(value: Any) -> str:
    """A value from an event, for a log line: a string cut and quoted, anything else its type."""
    return repr(_cut(value)) if isinstance(value, str) else type(value).__name__


def _cut_json(value: Any) -> str:
    return _cut(json.dumps(value, sort_keys=True, default=str))


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _partition(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] else "aws"
