"""Typed, documented, synth-time-validated properties of a SecureTrail."""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from dataclasses import dataclass
from functools import cached_property
from enum import Enum
from typing import Optional, Sequence

from aws_cdk import Duration, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from ..contract import (DEFAULT_BACKFILL_CONCURRENCY, DEFAULT_POSTURE_CHECK_MINUTES, DEFAULT_REVALIDATION_DAYS,
                        DIGEST_WORKER_CONCURRENCY, MAX_REVALIDATION_DAYS, MIN_REVALIDATION_DAYS)
from ..contract.monitoring_controls import MONITORING_CONTROLS
from .alert_subscriptions import AlertSubscription, parse_alert_subscriptions
from .analytics import AnalyticsProps
from .event_selectors import (AdvancedEventSelector, InsightType, effective_insight_types, validate_insight_types,
                              validate_selectors)
from .checks import ACCOUNT_ID, IAM_PRINCIPAL_ARN, ORG_ID, TRAIL_NAME, SecureTrailConfigError, keep_lists_as_tuples


class ObjectLockMode(Enum):
    GOVERNANCE = "GOVERNANCE"
    COMPLIANCE = "COMPLIANCE"


@dataclass(frozen=True)
class ObjectLock:
    """S3 Object Lock default retention for delivered log objects.

    COMPLIANCE cannot be shortened or removed by anyone, the root user included,
    until every version's retention has run out: choose it only on purpose.
    """

    mode: ObjectLockMode
    retention_days: int


WILDCARDS = ("*", "?")
MAX_RETENTION_DAYS = 36500
TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
BOOLEAN_PROPS = ("cloud_watch_logs", "insights", "s3_data_events", "lambda_data_events", "validate_digests",
                 "audit_access_logs", "watch_posture", "auto_restart_logging")
MAX_POSTURE_CHECK_MINUTES = 1440
SHORT_LOG_RETENTION_DAYS = 365
"""A ``log_expiration_days`` below this gives the synth warning ``SHORT_LOG_RETENTION_WARNING``."""
SHORT_LOG_RETENTION_WARNING = "secure-trail:short-log-retention"
BROUGHT_BUCKET_EVENTS_WARNING = "secure-trail:brought-bucket-events"
"""With a ``bucket`` of the stack's account: its owner must send its events to EventBridge."""
BROUGHT_BUCKET_OTHER_ACCOUNT_WARNING = "secure-trail:brought-bucket-other-account"
"""With a ``bucket`` of another account: no trail watch, no posture check of the bucket."""

BROUGHT_PARTS = ("bucket", "sns_topic", "cloud_watch_log_group", "cloud_watch_logs_role")
"""Parts a SecureTrail can be given instead of creating them (``key`` aside, brought as before)."""
LIST_PROPS = ("log_reader_arns", "expected_principals", "alert_subscriptions", "disabled_monitoring_controls",
              "advanced_event_selectors", "insight_types")


@dataclass(frozen=True)
class SecureTrailProps:
    """Everything a SecureTrail can be told. Every default is the secure choice."""

    org_id: str
    """AWS Organizations id of the organization to log, ``o-`` + 10-32 lowercase letters
    or digits. Required: the bucket policy lets CloudTrail write ``AWSLogs/<org-id>/*``."""

    trail_name: str = "secure-org-trail"
    """Name of the trail. @default ``secure-org-trail``. The trail ARN that every
    policy names is built from it, never from a token of the trail."""

    management_account_id: Optional[str] = None
    """Management account of the organization (an org trail's ARN carries it even when
    a delegated administrator deploys). @default the stack's account."""

    log_archive_account_id: Optional[str] = None
    """The Log Archive account of the organization shape: the trail bucket, the access-log
    bucket, the log key and the validators live there (``LogArchiveStack``), the trail in
    the management account (``TrailStack``). Requires ``management_account_id``. @default
    none: the single-stack shape (``SecureTrail``), everything in the deploying account."""

    s3_key_prefix: Optional[str] = None
    """Key prefix of the delivered logs in the trail bucket. @default none: logs land
    under ``AWSLogs/``."""

    key: Optional[kms.IKey] = None
    """Bring-your-own KMS key. @default a new symmetric key with rotation. A key defined
    in this app must be SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT (CloudTrail refuses any
    other); an imported key's policy cannot be edited here and is the owner's to write."""

    bucket: Optional[s3.IBucket] = None
    """An existing trail bucket (e.g. ``Bucket.from_bucket_name``, a Log Archive's): the trail
    writes there and the validators read there; no trail bucket and no access-log bucket are
    created. Its policy is not this stack's to edit: the statements it needs are handed over
    (docs/constructs.md, "Bring your own parts"). Requires ``audit_access_logs=False`` (its
    server access logs are its owner's). @default a new hardened, versioned bucket."""

    sns_topic: Optional[sns.ITopic] = None
    """An existing topic CloudTrail announces each delivered log file on; its policy must
    admit the trail (handed over). @default a new KMS-encrypted, TLS-only topic."""

    cloud_watch_log_group: Optional[logs.ILogGroup] = None
    """An existing CloudWatch Logs group the trail delivers to (with ``cloud_watch_logs``).
    @default a new log group encrypted with the trail key."""

    cloud_watch_logs_role: Optional[iam.IRole] = None
    """The role CloudTrail assumes to write into the log group. @default a new role that may
    write log streams of that log group only."""

    log_reader_arns: Sequence[str] = ()
    """IAM principals (exact role, user or account root ARNs, no wildcards) that may
    decrypt the logs, and only through CloudTrail's encryption context (key policy only:
    their S3 read is theirs to grant). @default none. For a principal of your app,
    ``SecureTrail.grant_read_logs`` grants the S3 read and the same decrypt in one call."""

    log_transition_days: int = 90
    """Days before log objects move to ``log_transition_storage_class``. @default 90:
    PCI DSS 10.7 keeps three months immediately available."""

    log_transition_storage_class: s3.StorageClass = s3.StorageClass.GLACIER_INSTANT_RETRIEVAL
    """@default Glacier Instant Retrieval: colder, yet the validators and auditors can
    still read any object without a restore."""

    log_expiration_days: int = 2557
    """Days before log objects expire; must exceed ``log_transition_days``. Under 365 days
    synth warns ``secure-trail:short-log-retention`` (acknowledge it on the trail bucket
    construct). @default 2557 (7 years: covers HIPAA's 6 and SOX's 7 years)."""

    noncurrent_version_expiration_days: int = 365
    """Days a replaced or deleted log version is kept, so tampering stays provable.
    @default 365."""

    access_log_expiration_days: int = 400
    """Days the server access logs (the TLS evidence) are kept. @default 400: a full
    yearly audit period plus a margin."""

    object_lock: Optional[ObjectLock] = None
    """Object Lock default retention on the trail bucket. @default none (versioning and
    the validators prove deletions; Object Lock makes them impossible)."""

    access_log_object_lock: Optional[ObjectLock] = None
    """Refused: S3 server access logging cannot deliver into a bucket with an Object
    Lock default retention. Present so that asking for it fails loudly at synth."""

    cloud_watch_logs: bool = True
    """Also deliver to an encrypted CloudWatch Logs group (CIS 3.x). @default on."""

    cloud_watch_logs_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR
    """Retention of that log group. @default one year."""

    insights: bool = False
    """CloudTrail Insights on API call and error rates (extra cost). @default off."""

    s3_data_events: bool = False
    """S3 object-level data events for every bucket except the two log buckets (logging
    them would log itself forever). @default off (high volume and cost)."""

    lambda_data_events: bool = False
    """Lambda invoke data events. @default off (high volume and cost)."""

    advanced_event_selectors: Optional[Sequence[AdvancedEventSelector]] = None
    """The trail's event selectors, typed (``secure_trail.props.event_selectors``): exactly
    one ``management_events(exclude_sources=..., read_only=...)`` and any ``data_events(...)``.
    ``s3_data_events`` and ``lambda_data_events`` still add their selectors, and every
    ``AWS::S3::Object`` selector leaves out the log buckets. Checked at synth against what
    CloudTrail accepts. Leaving out a source or read or write events leaves the controls that
    need them not satisfied in the evidence report (CIS 3.1 / CloudTrail.1; with KMS left
    out, CIS 4.7 / CloudWatch.7). @default None: every read and write management event."""

    insight_types: Sequence[InsightType] = ()
    """CloudTrail Insights types, ``InsightType.API_CALL_RATE`` and/or
    ``InsightType.API_ERROR_RATE`` (extra cost); ``insights=True`` is both. @default none."""

    validate_digests: bool = True
    """Validate every account's and region's digest chain hourly in Lambda (schedule ->
    planner -> SQS -> workers) and alert on any tampered, missing or injected object.
    @default on."""

    strict_digest_validation: bool = False
    """Count every log object that no valid digest vouches for (in a gap of the chain after
    logging was stopped, or next to a missing digest) as a failure: the tampering alarm fires
    and the alert is high. @default off: such logs are medium warnings, since stopping and
    starting logging is not tampering (the gap itself is always reported)."""

    revalidation_days: int = DEFAULT_REVALIDATION_DAYS
    """Once a day the digest validator re-validates the last this many days of every chain
    from scratch (every digest, log and stray object again), so that history rewritten behind
    the hourly checkpoint is found even when the trail watch missed its event. Whole days
    from 1 to 31. @default 7."""

    backfill_concurrency: int = DEFAULT_BACKFILL_CONCURRENCY
    """The digest backfill's state machine (``secure-trail backfill``, with the digest
    validator) validates at most this many chain-days at once: a whole number from 1 to 10,
    the digest worker's reserved concurrency, which the hourly runs share (a throttled
    chain-day waits and retries). @default 5."""

    audit_access_logs: bool = True
    """Audit every server access log object of the trail bucket in a Lambda (S3 ->
    EventBridge -> SQS -> Lambda) and alert on requests without TLS. @default on."""

    min_tls_version: str = "TLSv1.2"
    """Requests below this TLS version are findings of the auditor. @default TLSv1.2."""

    expected_principals: Sequence[str] = ()
    """Requesters (glob patterns) expected to delete log objects or change the trail
    bucket's policy, ACL or logging; anyone else doing so is a finding. A glob that matches
    every principal (``*``, ``arn:aws:iam::*:*``, ``arn:*``) is refused. @default none."""

    watch_posture: bool = True
    """The posture watcher: EventBridge rules on every call that can weaken the trail, its
    buckets, key or log group (one alert each, naming the caller), and a scheduled check of
    the trail's status, settings, selectors, key state and bucket policy (one alert per
    condition when it appears and when it clears). @default on."""

    posture_check_interval: Duration | int = DEFAULT_POSTURE_CHECK_MINUTES
    """How often the posture watcher reads the trail's status: a ``Duration`` or a number of
    minutes, whole minutes from 1 to 1440. @default 15 minutes."""

    auto_restart_logging: bool = False
    """When the scheduled check finds the trail stopped, call ``StartLogging`` (the alert says
    so, and whether it worked); the watcher's role then gets ``cloudtrail:StartLogging`` on
    this trail's ARN only. @default off: restarting on its own can hide a deliberate stop
    from whoever must approve it; turn it on where nobody may stop the trail."""

    analytics: Optional[AnalyticsProps] = None
    """Stream the trail's CloudWatch Logs events through an enrichment Lambda into
    OpenSearch (your endpoint, or a provisioned Serverless collection): see
    ``AnalyticsProps``. Needs ``cloud_watch_logs``. @default None: off, nothing created."""

    alert_subscriptions: Sequence[str] = ()
    """Subscribers of the alerts topic (in the organization shape: of both accounts' alerts
    topics): e-mail addresses, ``https://`` URLs, SQS queue ARNs and Lambda function ARNs.
    Security Hub's CloudWatch.1-14 also require the alarms' topic to have a subscriber. An
    e-mail subscription delivers nothing until its recipient confirms it; a queue or function
    must allow the topic on its own side (docs/monitoring.md, "Alert subscriptions"). @default none."""

    disabled_monitoring_controls: Sequence[str] = ()
    """Control ids (``CloudWatch.1`` ... ``CloudWatch.14``, ``CIS.4.15``) whose metric filter
    and alarm are not created, for an organization that handles them elsewhere. @default
    none: every CIS monitoring alarm is on (when ``cloud_watch_logs`` is)."""

    dashboard: bool = True
    """A CloudWatch dashboard of the trail (delivery, digests, TLS audit, alarms, DLQs).
    @default on."""
    def __post_init__(self) -> None:
        keep_lists_as_tuples(self, LIST_PROPS)

    @cached_property
    def alert_subscribers(self) -> tuple[AlertSubscription, ...]:
        """``alert_subscriptions``, parsed: each subscriber's protocol and endpoint."""
        try:
            return parse_alert_subscriptions(self.alert_subscriptions)
        except ValueError as err:
            raise SecureTrailConfigError(f"alert_subscriptions: {err}") from None

    @property
    def insight_types_in_force(self) -> tuple[InsightType, ...]:
        """``insight_types``, or both with ``insights=True``."""
        return effective_insight_types(self.insight_types, self.insights)

    @property
    def posture_check_minutes(self) -> int:
        interval = self.posture_check_interval
        return int(interval.to_minutes()) if isinstance(interval, Duration) else interval

    def validate(self) -> None:
        """Raise SecureTrailConfigError naming the first bad prop and what it must be. Every
        construct that takes these props calls it; the checks run once per props object."""
        self._valid  # noqa: B018 (the cached check)

    @cached_property
    def _valid(self) -> bool:
        _check(_full(ORG_ID, self.org_id), "org_id", self.org_id,
               "'o-' followed by 10 to 32 lowercase letters or digits, e.g. o-a1b2c3d4e5")
        _check(_full(TRAIL_NAME, self.trail_name) and not _is_ip(self.trail_name),
               "trail_name", self.trail_name,
               "3-128 letters, digits, '.', '_' or '-', starting and ending with a letter "
               "or digit, no two separators in a row, not an IP address")
        if self.management_account_id is not None and not Token.is_unresolved(self.management_account_id):
            _check(_full(ACCOUNT_ID, self.management_account_id), "management_account_id",
                   self.management_account_id, "a 12-digit AWS account id")
        if self.log_archive_account_id is not None:
            _check(_full(ACCOUNT_ID, self.log_archive_account_id), "log_archive_account_id",
                   self.log_archive_account_id, "a 12-digit AWS account id (the Log Archive account)")
            _check(self.management_account_id is not None, "management_account_id", self.management_account_id,
                   "the 12-digit management account id when log_archive_account_id is set (the trail's "
                   "ARN, which the Log Archive's policies name, carries it)")
            _check(self.log_archive_account_id != self.management_account_id, "log_archive_account_id",
                   self.log_archive_account_id, "another account than management_account_id: for one account, "
                   "leave log_archive_account_id unset (the single-stack shape)")
            _check(self.key is None, "key", self.key, "None with log_archive_account_id: the Log Archive stack "
                   "creates the log key, whose alias ARN the Trail stack derives")
            for prop in BROUGHT_PARTS:
                _check(getattr(self, prop) is None, prop, getattr(self, prop),
                       f"None with log_archive_account_id: the organization shape creates its own {prop} "
                       "(the two stacks name them by derived names); bring parts to SecureTrail")
        if self.s3_key_prefix is not None:
            _check(isinstance(self.s3_key_prefix, str) and 0 < len(self.s3_key_prefix) <= 200
                   and not self.s3_key_prefix.startswith("/") and not self.s3_key_prefix.endswith("/")
                   and self.s3_key_prefix.isprintable(), "s3_key_prefix", self.s3_key_prefix,
                   "1-200 printable characters with no leading or trailing '/', or None")
        for prop in ("log_reader_arns", "expected_principals"):
            _check(not isinstance(getattr(self, prop), str), prop, getattr(self, prop),
                   "a list of strings, not one string")
        for arn in self.log_reader_arns:
            if Token.is_unresolved(arn):
                continue
            _check(isinstance(arn, str) and not any(w in arn for w in WILDCARDS), "log_reader_arns", arn,
                   "one exact IAM role, user or account-root ARN: a wildcard would let every principal it "
                   "matches decrypt the logs; list each reader's ARN instead")
            _check(_full(IAM_PRINCIPAL_ARN, arn), "log_reader_arns", arn,
                   "IAM role, user or account-root ARNs, e.g. arn:aws:iam::111111111111:role/Auditor")
        _check_days("log_transition_days", self.log_transition_days)
        _check_days("log_expiration_days", self.log_expiration_days)
        _check(self.log_transition_days < self.log_expiration_days, "log_transition_days",
               self.log_transition_days, f"fewer days than log_expiration_days ({self.log_expiration_days})")
        _check_days("noncurrent_version_expiration_days", self.noncurrent_version_expiration_days)
        _check_days("access_log_expiration_days", self.access_log_expiration_days)
        if self.object_lock is not None:
            _check_days("object_lock.retention_days", self.object_lock.retention_days)
        _check(self.min_tls_version in TLS_VERSIONS, "min_tls_version", self.min_tls_version,
               f"one of {', '.join(TLS_VERSIONS)}")
        for pattern in self.expected_principals:
            _check(isinstance(pattern, str) and pattern.strip() == pattern and pattern.isprintable()
                   and bool(pattern), "expected_principals", pattern,
                   "non-empty requester ARN globs without surrounding spaces or control characters")
            _check(not _matches_every_principal(pattern), "expected_principals", pattern,
                   "a glob that names an account or a role, e.g. arn:aws:sts::111111111111:assumed-role/"
                   "LogAdmin/*: this one matches every principal, so no delete or policy change would "
                   "ever be a finding")
        for prop in BOOLEAN_PROPS:
            value = getattr(self, prop)
            _check(isinstance(value, bool), prop, value, "True or False (a number or a string is not a boolean)")
        _check(isinstance(self.revalidation_days, int) and not isinstance(self.revalidation_days, bool)
               and MIN_REVALIDATION_DAYS <= self.revalidation_days <= MAX_REVALIDATION_DAYS,
               "revalidation_days", self.revalidation_days,
               f"a whole number of days from {MIN_REVALIDATION_DAYS} to {MAX_REVALIDATION_DAYS} (the daily "
               "re-validation of the digest chains; one re-validation reads every object of its window)")
        _check(isinstance(self.backfill_concurrency, int) and not isinstance(self.backfill_concurrency, bool)
               and 1 <= self.backfill_concurrency <= DIGEST_WORKER_CONCURRENCY,
               "backfill_concurrency", self.backfill_concurrency,
               f"a whole number from 1 to {DIGEST_WORKER_CONCURRENCY} (the digest worker's reserved concurrency, "
               "shared with the hourly runs)")
        _check_posture_interval(self.posture_check_interval)
        if self.analytics is not None:
            _check(isinstance(self.analytics, AnalyticsProps), "analytics", self.analytics,
                   "an AnalyticsProps, or None")
            _check(self.cloud_watch_logs, "cloud_watch_logs", self.cloud_watch_logs,
                   "True with analytics: the enrichment subscribes to the trail's CloudWatch Logs group")
            self.analytics.validate()
        _validate_monitoring(self)
        validate_selectors(self.advanced_event_selectors)
        validate_insight_types(self.insight_types, self.insights, self.advanced_event_selectors)
        _check_brought_parts(self)
        _check(self.access_log_object_lock is None, "access_log_object_lock", self.access_log_object_lock,
               "None: S3 server access logging cannot deliver into a bucket with an Object Lock "
               "default retention; lock the trail bucket with object_lock instead")
        return True


def _check_brought_parts(props: SecureTrailProps) -> None:
    # jsii interfaces are not runtime-checkable: each kind by the attribute the trail uses.
    kinds = {"bucket": ("IBucket", "bucket_name"), "sns_topic": ("ITopic", "topic_arn"),
             "cloud_watch_log_group": ("ILogGroup", "log_group_arn"), "cloud_watch_logs_role": ("IRole", "role_arn")}
    for prop, (kind, attribute) in kinds.items():
        value = getattr(props, prop)
        _check(value is None or hasattr(value, attribute), prop, value, f"an {kind}, or None")
    if props.bucket is not None:
        _check(not props.audit_access_logs, "audit_access_logs", props.audit_access_logs,
               "False with bucket: an existing bucket's server access logs are its owner's, so the "
               "access-log auditor has nothing of its own to read; set audit_access_logs=False")
    for prop in ("cloud_watch_log_group", "cloud_watch_logs_role"):
        if getattr(props, prop) is not None:
            _check(props.cloud_watch_logs, "cloud_watch_logs", props.cloud_watch_logs,
                   f"True with {prop}: the trail delivers to CloudWatch Logs only with cloud_watch_logs on")
    if props.cloud_watch_logs_role is not None:
        _check(props.cloud_watch_log_group is not None, "cloud_watch_log_group", None,
               "the log group the role writes to, with cloud_watch_logs_role (the created log group "
               "gets its own role)")


def _check(ok: bool, prop: str, value: object, expected: str) -> None:
    if not ok:
        raise SecureTrailConfigError(f"{prop}: {value!r} is not valid; expected {expected}.")


_PROBE_PRINCIPALS = (
    ("arn:aws:iam::111111111111:role/Probe", "arn:aws:iam::222222222222:user/probe",
     "arn:aws:iam::333333333333:root"),
    ("arn:aws:sts::111111111111:assumed-role/Probe/session", "arn:aws:sts::222222222222:federated-user/probe",
     "arn:aws:sts::333333333333:assumed-role/Other/i-0123456789abcdef0"),
)


def _matches_every_principal(pattern: str) -> bool:
    """A glob that matches every IAM or every STS principal of unrelated accounts and kinds
    alike (``*``, ``arn:aws:iam::*:*``, ``arn:aws:sts::*``, ``arn:*``) excuses everyone."""
    return any(all(fnmatch.fnmatchcase(probe, pattern) for probe in probes) for probes in _PROBE_PRINCIPALS)


def _full(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _check_days(prop: str, days: int) -> None:
    _check(isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= MAX_RETENTION_DAYS,
           prop, days, f"a whole number of days from 1 to {MAX_RETENTION_DAYS}")


def _check_posture_interval(interval: object) -> None:
    expected = f"a Duration or a number of minutes: whole minutes from 1 to {MAX_POSTURE_CHECK_MINUTES}"
    if isinstance(interval, Duration):
        try:
            minutes = interval.to_minutes()  # raises on a fraction of a minute
        except Exception:  # jsii raises its own error type
            minutes = None
        _check(isinstance(minutes, (int, float)) and 1 <= minutes <= MAX_POSTURE_CHECK_MINUTES,
               "posture_check_interval", interval.to_human_string(), expected)
        return
    _check(isinstance(interval, int) and not isinstance(interval, bool)
           and 1 <= interval <= MAX_POSTURE_CHECK_MINUTES, "posture_check_interval", interval, expected)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _validate_monitoring(props: SecureTrailProps) -> None:
    """alert_subscriptions, disabled_monitoring_controls, dashboard."""
    props.alert_subscribers  # noqa: B018 (parsing is the check)
    valid = [control.control_id for control in MONITORING_CONTROLS]
    disabled = props.disabled_monitoring_controls
    _check(not isinstance(disabled, str) and all(isinstance(c, str) for c in disabled),
           "disabled_monitoring_controls", disabled, f"a list of control ids out of {', '.join(valid)}")
    for control_id in disabled:
        _check(control_id in valid, "disabled_monitoring_controls", control_id,
               f"one of {', '.join(valid)} (exactly as written)")
    _check(len(set(disabled)) == len(disabled), "disabled_monitoring_controls", disabled,
           "each control id once")
    _check(isinstance(props.dashboard, bool), "dashboard", props.dashboard,
           "True or False (a number or a string is not a boolean)")
