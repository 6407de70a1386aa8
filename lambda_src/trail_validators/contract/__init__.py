"""The contract between the constructs (``secure_trail``) and the Lambda handlers
(``trail_validators.handlers``): environment variable names and encodings, the metric
namespace, names and dimensions the alarms watch, and the validators' table key schema.

Both sides import these names; neither spells them again. With its two tables beside it
(``monitoring_controls``: the CIS alarms; ``weakening_calls``: the calls the posture watcher
alerts on), this folder is pure: no boto3, no CDK, and no imports of the rest of this package,
since ``constructs/secure_trail/contract`` is a link to it and the construct library (whose
wheel holds no ``trail_validators``) carries the same text.
``tests/test_contract.py`` checks the two faces against each other: each synthesized
function's environment read by its handler, each alarm against what the handler emits,
each IAM ``dynamodb:LeadingKeys`` pattern against the keys the handlers write.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Mapping, Sequence

# -- services ----------------------------------------------------------------------------
# Each validator function's role name (function ``<trail>-<role>``, log group, IAM role)
# and, for the two that emit metrics, the Powertools ``service`` dimension.
DIGEST_PLANNER = "digest-planner"
DIGEST_VALIDATOR = "digest-validator"
ACCESS_LOG_AUDITOR = "access-log-auditor"
TRAIL_WATCH = "trail-watch"
"""The trail-bucket watch: judges each object event under ``AWSLogs/`` within minutes."""

RULE_NAME_LIMIT = 64
"""EventBridge rule names: at most 64 characters."""
_RULE_HASH_CHARS = 8
_LONG_TRAIL_HEAD = 20
"""Of a trail name too long to head its rules' names, the characters kept in their prefix."""


def rule_prefix(trail_name: str) -> str:
    """What every validator rule's name starts with, so that one ``rule/<prefix>*`` pattern
    (IAM, the self-watch, the drift check) covers them all: ``<trail>-``, or for a trail
    name too long to leave room for a hashed suffix, its first ``_LONG_TRAIL_HEAD``
    characters and a hash of the whole (``<head>-<hash>-``)."""
    head = f"{trail_name}-"
    if len(head) + 1 + _RULE_HASH_CHARS <= RULE_NAME_LIMIT:
        return head
    return f"{trail_name[:_LONG_TRAIL_HEAD].rstrip('.-_')}-{_rule_hash(trail_name)}-"


def rule_name(trail_name: str, role: str) -> str:
    """``<rule_prefix><role>``, only the role shortened with a hash of the whole name past
    ``RULE_NAME_LIMIT``: the prefix is always kept. The single place rule names are made."""
    prefix = rule_prefix(trail_name)
    name = prefix + role
    if len(name) <= RULE_NAME_LIMIT:
        return name
    kept = role[:RULE_NAME_LIMIT - len(prefix) - 1 - _RULE_HASH_CHARS].rstrip(".-_")
    return f"{prefix}{kept}-{_rule_hash(name)}" if kept else f"{prefix}{_rule_hash(name)}"


def _rule_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_RULE_HASH_CHARS]


# -- environment -------------------------------------------------------------------------
class Env:
    """Environment variable names: the constructs set them, the handlers read them."""

    TRAIL_BUCKET = "TRAIL_BUCKET"
    TRAIL_PREFIX = "TRAIL_PREFIX"
    """The trail's S3 key prefix; empty for none."""
    ORG_ID = "ORG_ID"
    TRAIL_NAME = "TRAIL_NAME"
    HOME_REGION = "HOME_REGION"
    QUEUE_URL = "QUEUE_URL"
    """Planner: the work queue it fills."""
    TABLE_NAME = "TABLE_NAME"
    ALERTS_TOPIC_ARN = "ALERTS_TOPIC_ARN"
    MIN_TLS = "MIN_TLS"
    EXPECTED_PRINCIPALS = "EXPECTED_PRINCIPALS"
    """A JSON list of requester globs (see ``encode_list``): IAM names may hold commas."""
    AUDITED_BUCKET = "AUDITED_BUCKET"
    STRICT_VALIDATION = "STRICT_VALIDATION"
    """Digest worker: ``true`` counts logs no valid digest vouches for as failures too."""
    REVALIDATION_DAYS = "REVALIDATION_DAYS"
    """Digest planner: the days the daily re-validation covers (``MIN..MAX_REVALIDATION_DAYS``)."""
    LOG_EXPIRATION_DAYS = "LOG_EXPIRATION_DAYS"
    """Trail watch: the deployed lifecycle expiry; a lifecycle deletion of a younger object is a finding."""
    BACKFILL_BUCKET = "BACKFILL_BUCKET"
    """Digest planner: the backfill bucket, where it writes each backfill execution's items."""


MIN_REVALIDATION_DAYS, MAX_REVALIDATION_DAYS = 1, 31
DEFAULT_REVALIDATION_DAYS = 7
REVALIDATE_FIELD = "revalidate"
"""The daily schedule's input to the planner (``{"revalidate": true}``), and the worker
message's field holding the window in days."""


class ConfigurationError(ValueError):
    """A handler's environment does not hold what the construct is meant to set."""


def required(environ: Mapping[str, str], name: str) -> str:
    """The non-empty value of ``name``, or a ConfigurationError naming the variable."""
    value = environ.get(name, "")
    if not value:
        raise ConfigurationError(f"environment variable {name} is missing or empty: the stack sets it "
                                 "on every validator function that reads it (see trail_validators.contract)")
    return value


def encode_flag(value: bool) -> str:
    return "true" if value else "false"


def decode_flag(environ: Mapping[str, str], name: str) -> bool:
    """What ``encode_flag`` wrote."""
    text = required(environ, name)
    if text not in ("true", "false"):
        raise ConfigurationError(f"environment variable {name}: {text!r} is not true or false")
    return text == "true"


def encode_list(values: Sequence[str]) -> str:
    return json.dumps(list(values), separators=(",", ":"))


def decode_list(name: str, text: str) -> tuple[str, ...]:
    """The list ``encode_list`` wrote; empty text is an empty list."""
    if not text:
        return ()
    try:
        values = json.loads(text)
    except ValueError:
        values = None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigurationError(f"environment variable {name}: {text!r} is not a JSON list of strings")
    return tuple(values)


# -- metrics -----------------------------------------------------------------------------
METRIC_NAMESPACE = "SecureTrail"
SERVICE_DIMENSION = "service"
"""The dimension Powertools Metrics adds to every metric: its ``service`` name."""


@dataclass(frozen=True)
class Metric:
    """An EMF metric a handler emits, as an alarm names it."""

    service: str
    name: str
    namespace: str = METRIC_NAMESPACE

    @property
    def dimensions(self) -> dict[str, str]:
        return {SERVICE_DIMENSION: self.service}


class DigestMetrics:
    """Emitted by ``handlers.digest_validation`` (planner and worker share one service)."""

    CHAINS_PLANNED = Metric(DIGEST_VALIDATOR, "ChainsPlanned")
    DIGESTS_VALID = Metric(DIGEST_VALIDATOR, "DigestsValid")
    LOGS_VALID = Metric(DIGEST_VALIDATOR, "LogsValid")
    TAMPERING_FINDINGS = Metric(DIGEST_VALIDATOR, "TamperingFindings")
    """Findings of a tampering kind; the tampering alarm fires on the first."""
    CHAIN_GAPS = Metric(DIGEST_VALIDATOR, "ChainGaps")


class TrailWatchMetrics:
    """Emitted by ``handlers.trail_watch``."""

    FINDINGS = Metric(TRAIL_WATCH, "TrailWatchFindings")
    """Backdated, overwritten or deleted objects; the trail-watch alarm fires on the first."""


class TrailWatchKind:
    """Finding kinds of the trail-bucket watch (docs/trail-watch.md)."""

    BACKDATED = "backdated_object"
    """A log or digest created with a name time already behind its chain's checkpoint."""
    OVERWRITE = "overwritten_object"
    """A second version of a log or digest key."""
    DELETION = "deleted_object"
    """A deletion or delete marker under ``AWSLogs/`` (other than the deployed lifecycle's expiry)."""
    UNRECOGNIZED = "unrecognized_object"
    """An object created under ``AWSLogs/`` whose name is no log or digest in its folder."""
    UNREADABLE_EVENT = "unreadable_object_event"
    """An event that does not hold what S3 sends: judged as hostile, never skipped."""


TRAIL_WATCH_SCOPE = "watch://"
"""The trail watch's alert markers name the object as ``watch://bucket/key``."""


class AccessLogMetrics:
    """Emitted by ``handlers.access_log_auditor``."""

    NON_TLS_SUCCESS = Metric(ACCESS_LOG_AUDITOR, "NonTlsSuccess")
    """Requests without TLS that succeeded; the non-TLS alarm fires on the first."""
    UNPARSEABLE_LINES = Metric(ACCESS_LOG_AUDITOR, "UnparseableLines")

    @staticmethod
    def requests(tls_version: str) -> Metric:
        """Requests over one TLS version (``-``, no TLS, is ``Requests_NoTLS``)."""
        return Metric(ACCESS_LOG_AUDITOR, f"Requests_{'NoTLS' if tls_version == '-' else tls_version}")


# -- the validators' table ---------------------------------------------------------------
PARTITION_KEY = "pk"
"""The table's only key: a string."""
TTL_ATTRIBUTE = "expires_at"
"""Epoch seconds after which DynamoDB deletes a dedupe marker; checkpoints have none."""

CHECKPOINT_PREFIX = "checkpoint#"
ALERT_PREFIX = "alert#"
AUDITED_PREFIX = "audited#"
ACCESS_LOG_SCOPE = "s3://"
"""The auditor's markers name the audited object as ``s3://bucket/key``."""


def checkpoint_key(account: str, region: str) -> str:
    """Per chain: the newest validated digest. Only the digest worker may write it."""
    return f"{CHECKPOINT_PREFIX}{account}#{region}"


def alert_marker(scope: str, *parts: str) -> str:
    """Claimed once per alert, so a redelivered message alerts nobody twice."""
    return "#".join((f"{ALERT_PREFIX}{scope}", *parts))


def audited_marker(source: str, etag: str) -> str:
    """Claimed once per audited access-log object version, so metrics count it once."""
    return f"{AUDITED_PREFIX}{source}#{etag}"


@dataclass(frozen=True)
class ItemAccess:
    """Items whose key starts with ``prefix``, and the DynamoDB actions a role may use on
    them. The construct turns each into an IAM statement with a ``dynamodb:LeadingKeys``
    condition (``StringLike``), so no role reads or writes another's items."""

    prefix: str
    actions: tuple[str, ...]

    @property
    def leading_keys(self) -> str:
        return f"{self.prefix}*"


TABLE_ACCESS: dict[str, tuple[ItemAccess, ...]] = {
    DIGEST_VALIDATOR: (
        ItemAccess(CHECKPOINT_PREFIX, ("dynamodb:GetItem", "dynamodb:PutItem")),
        ItemAccess(ALERT_PREFIX, ("dynamodb:DeleteItem", "dynamodb:PutItem")),
    ),
    ACCESS_LOG_AUDITOR: (
        ItemAccess(f"{ALERT_PREFIX}{ACCESS_LOG_SCOPE}", ("dynamodb:DeleteItem", "dynamodb:PutItem")),
        ItemAccess(f"{AUDITED_PREFIX}{ACCESS_LOG_SCOPE}", ("dynamodb:PutItem",)),
    ),
}
TABLE_ACCESS[TRAIL_WATCH] = (
    ItemAccess(CHECKPOINT_PREFIX, ("dynamodb:GetItem",)),
    ItemAccess(f"{ALERT_PREFIX}{TRAIL_WATCH_SCOPE}", ("dynamodb:DeleteItem", "dynamodb:PutItem")),
)
"""Per role, every item it touches. The planner touches none; only the digest worker
writes checkpoints (the trail watch reads them)."""


# -- posture watcher ---------------------------------------------------------------------
POSTURE_WATCHER = "posture-watcher"
"""The posture watcher's function role name and Powertools ``service`` dimension."""


class PostureEnv:
    """Environment of the posture watcher (beside ``Env.TABLE_NAME``, ``Env.ALERTS_TOPIC_ARN``,
    ``Env.HOME_REGION``)."""

    TRAIL_ARN = "POSTURE_TRAIL_ARN"
    ACCOUNT = "POSTURE_ACCOUNT"
    """The account whose resources this watcher owns: events from another are rejected."""
    TRAIL_BUCKET = "POSTURE_TRAIL_BUCKET"
    """Empty when this account does not hold the buckets (the Trail stack of two accounts)."""
    ACCESS_LOG_BUCKET = "POSTURE_ACCESS_LOG_BUCKET"
    KEY_ARN = "POSTURE_KEY_ARN"
    KEY_ALIAS = "POSTURE_KEY_ALIAS"
    """``alias/<trail>``: in two accounts the trail names its key by this alias."""
    LOG_GROUP = "POSTURE_LOG_GROUP"
    """Empty when this account does not hold the log group (or it is off)."""
    CHECK_TRAIL = "POSTURE_CHECK_TRAIL"
    """``true`` where the scheduled check reads the trail (its status, settings, selectors)."""
    EXPECTED_SELECTORS = "POSTURE_EXPECTED_SELECTORS"
    """The deployed advanced event selectors, as GetEventSelectors returns them (JSON)."""
    AUTO_RESTART_LOGGING = "POSTURE_AUTO_RESTART_LOGGING"
    EXPECTED_TRAIL = "POSTURE_EXPECTED_TRAIL"
    """Where the trail was deployed to deliver (JSON of ``EXPECTED_TRAIL_FIELDS``, as GetTrail
    names them; an empty value: none deployed). Set with ``CHECK_TRAIL``."""
    EXPECTED_SUBSCRIPTIONS = "POSTURE_EXPECTED_SUBSCRIPTIONS"
    """The alerts topic of this stack and its deployed subscriptions (JSON ``{"topic": ARN,
    "subscriptions": [[protocol, endpoint], ...]}``); unset where the stack has no alerts topic."""
    STACK_NAME = "POSTURE_STACK_NAME"
    """The stack that made the validators (its alarms, queues and table are named after it)."""
    EXPECTED_RULES = "POSTURE_EXPECTED_RULES"
    """The stack's named EventBridge rules: each target's id and ARN, and a digest of the event
    pattern or schedule, compact (``drift.encode_rules``: the environment of a function holds
    4 KB in all)."""
    EXPECTED_ALARMS = "POSTURE_EXPECTED_ALARMS"
    """The alarms the stack made (named ``<stack>-<logical id>-<suffix>`` by CloudFormation) by
    logical id, with the ARNs of their actions (``drift.encode_alarms``); unset: none."""
    HANDOVER = "POSTURE_HANDOVER"
    """The parts of this account the stack does not own, and what their statements are built
    from (JSON for ``contract.handover.handover_checks``); unset where none is brought."""
    EXPECTED_BUCKETS = "POSTURE_EXPECTED_BUCKETS"
    """The deployed settings of the buckets this stack made (a JSON list of ``{"bucket":
    name}`` plus ``BucketExpectation.to_json``); unset where it made none (one brought in)."""


EXPECTED_TRAIL_FIELDS = ("S3BucketName", "S3KeyPrefix", "KmsKeyId", "CloudWatchLogsLogGroupArn",
                         "CloudWatchLogsRoleArn", "SnsTopicARN")
"""The trail's destination, as GetTrail returns it: the scheduled check compares each with
what was deployed."""


def env_reference(name: str) -> str:
    """An expected value that another of the watcher's variables holds, written as ``$NAME``
    (its 4 KB environment). Only where no real value can begin with ``$``: names and ARNs of
    buckets, keys, log groups, roles and topics (never a key prefix)."""
    return f"${name}"


def dereference(environ: Mapping[str, str], value: Any) -> Any:
    """``value``, or the value of the variable it names (``env_reference``)."""
    return required(environ, value[1:]) if isinstance(value, str) and value.startswith("$") else value


@dataclass(frozen=True)
class BucketExpectation:
    """A log bucket's deployed settings, which the scheduled check compares with what S3
    says. Lifecycle rules are compared as ``lifecycle_rule`` makes them (only enabled ones)."""

    versioning: str = "Enabled"
    object_ownership: str = "BucketOwnerEnforced"
    object_lock: Mapping[str, object] | None = None
    """The default retention (``{"Mode": ..., "Days"|"Years": n}``, ``{}`` for none); None: no Object Lock."""
    replication: bool = False
    event_bridge: bool = True
    notification_targets: tuple[str, ...] = ()
    """The queues, topics and functions the bucket notifies (ARNs), besides EventBridge."""
    lifecycle: tuple[Mapping[str, object], ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"versioning": self.versioning, "object_ownership": self.object_ownership,
                "object_lock": None if self.object_lock is None else dict(self.object_lock),
                "replication": self.replication, "event_bridge": self.event_bridge,
                "notification_targets": list(self.notification_targets),
                "lifecycle": [dict(rule) for rule in self.lifecycle]}

    @classmethod
    def from_json(cls, value: object) -> "BucketExpectation":
        """What ``to_json`` wrote; anything else raises ValueError."""
        try:
            assert isinstance(value, Mapping)
            lock, targets, rules = value.get("object_lock"), value["notification_targets"], value["lifecycle"]
            assert lock is None or isinstance(lock, Mapping)
            assert isinstance(targets, list) and all(isinstance(t, str) for t in targets)
            assert isinstance(rules, list) and all(isinstance(r, Mapping) for r in rules)
            return cls(versioning=str(value["versioning"]), object_ownership=str(value["object_ownership"]),
                       object_lock=None if lock is None else dict(lock), replication=value["replication"] is True,
                       event_bridge=value["event_bridge"] is True, notification_targets=tuple(targets),
                       lifecycle=tuple(dict(r) for r in rules))
        except (AssertionError, KeyError, TypeError) as error:
            raise ValueError(f"not a bucket expectation: {error!r}") from None


def lifecycle_rule(*, expiration_days: object = None, noncurrent_days: object = None, transitions: object = (),
                   abort_days: object = None, prefix: object = None) -> dict[str, object]:
    """One enabled lifecycle rule as the scheduled check compares it (the construct's
    CloudFormation rule and S3's GetBucketLifecycleConfiguration rule both become this)."""
    return {"expiration_days": expiration_days, "noncurrent_days": noncurrent_days,
            "transitions": sorted([list(t) for t in transitions or ()], key=str),
            "abort_days": abort_days, "prefix": prefix or ""}


class PostureKind:
    """Finding kinds of the posture watcher (docs/posture.md)."""

    WEAKENING_API_CALL = "weakening_api_call"
    LOGGING_STOPPED = "logging_stopped"
    DELIVERY_ERROR = "delivery_error"
    DIGEST_DELIVERY_ERROR = "digest_delivery_error"
    CLOUDWATCH_LOGS_DELIVERY_ERROR = "cloudwatch_logs_delivery_error"
    LOG_FILE_VALIDATION_OFF = "log_file_validation_off"
    NOT_MULTI_REGION = "not_multi_region"
    NOT_ORGANIZATION_TRAIL = "not_organization_trail"
    EVENT_SELECTORS_CHANGED = "event_selectors_changed"
    TRAIL_MISSING = "trail_missing"
    KEY_DISABLED = "key_disabled"
    KEY_PENDING_DELETION = "key_pending_deletion"
    BUCKET_TLS_DENY_MISSING = "bucket_tls_deny_missing"
    HANDOVER_STATEMENT_MISSING = "handover_statement_missing"
    """A statement handed over to the owner of a brought-in part is not in its live policy."""
    HANDOVER_UNVERIFIABLE = "handover_unverifiable"
    """The live policy of a brought-in part could not be read or parsed."""
    TRAIL_DESTINATION_CHANGED = "trail_destination_changed"
    """The trail's bucket, prefix, key, log group, log role or topic is not the deployed one."""
    BUCKET_SETTING_CHANGED = "bucket_setting_changed"
    """A log bucket's versioning, ownership, Object Lock, replication, notifications or
    lifecycle is not the deployed one."""
    SUBSCRIPTIONS_CHANGED = "alert_subscriptions_changed"
    """The alerts topic's subscriptions are not the deployed ones (one removed, or one added)."""
    RULE_CHANGED = "validator_rule_changed"
    """A validator's EventBridge rule is disabled, gone, has other targets (ids or ARNs) than
    deployed, or another event pattern or schedule."""
    ALARM_CHANGED = "alarm_changed"
    """An alarm of the stack is gone, notifies no one, its actions are disabled, or they point
    at other ARNs than deployed."""
    FAILED_CALLS = "failed_weakening_calls"
    """Failed weakening calls of one principal on one resource in one window: one summary."""
    CHECK_FAILED = "posture_check_failed"


# The codecs of ``PostureEnv.EXPECTED_RULES`` and ``EXPECTED_ALARMS`` live in ``contract.drift``.


POSTURE_FAILED_CALLS = "posture-failed-calls"
"""The function that counts and summarizes failed weakening calls (its own rules, queue and
concurrency, so a flood of denied calls never delays the posture watcher's real alerts): its
role name and Powertools ``service``. It reads the posture watcher's environment names for what
it watches (``PostureEnv``: trail, account, buckets, key, log group, stack)."""


class PostureMetrics:
    """Emitted by ``handlers.posture``."""

    FINDINGS = Metric(POSTURE_WATCHER, "PostureFindings")
    """Weakening calls and newly appeared conditions; the posture alarm fires on the first."""
    REJECTED_EVENTS = Metric(POSTURE_WATCHER, "RejectedEvents")
    """Events that were malformed or from another account or region (logged, never alerted)."""
    OPEN_CONDITIONS = Metric(POSTURE_WATCHER, "OpenConditions")
    """Conditions found by the last scheduled check (0 when healthy)."""


class FailedCallsMetrics:
    """Emitted by ``handlers.posture_failed_calls``."""

    FAILED_CALLS = Metric(POSTURE_FAILED_CALLS, "FailedWeakeningCalls")
    """Weakening calls that failed (denied, invalid): counted once each, summarized in at most
    one alert per principal, resource and ``FAILED_CALL_WINDOW_MINUTES``."""


FAILED_CALL_WINDOW_MINUTES = 60


POSTURE_PREFIX = "posture#"


def posture_state_key(scope: str) -> str:
    """The open conditions of one scheduled check (``scope``: the trail ARN or the account)."""
    return f"{POSTURE_PREFIX}state#{scope}"


def posture_event_marker(event_id: str) -> str:
    """Claimed once per CloudTrail event, so a redelivered event alerts nobody twice."""
    return f"{POSTURE_PREFIX}event#{event_id}"


POSTURE_FAILED_PREFIX = f"{POSTURE_PREFIX}failed#"
"""The failed-calls function's items: its summary claims and its once-only counts."""


def posture_failed_calls_marker(window: str, principal: str, resource: str) -> str:
    """Claimed by the first failed call of a principal on a resource in a window: its summary alert."""
    digest = hashlib.sha256(f"{principal}\0{resource}".encode("utf-8", "replace")).hexdigest()[:40]
    return f"{POSTURE_FAILED_PREFIX}{window}#{digest}"


def posture_failed_event_marker(event_id: str) -> str:
    """Claimed once per failed call (its CloudTrail event id), so a redelivery is counted once."""
    return f"{POSTURE_FAILED_PREFIX}event#{event_id}"


TABLE_ACCESS[POSTURE_WATCHER] = (
    ItemAccess(POSTURE_PREFIX, ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem")),
)
TABLE_ACCESS[POSTURE_FAILED_CALLS] = (
    ItemAccess(POSTURE_FAILED_PREFIX, ("dynamodb:DeleteItem", "dynamodb:PutItem")),
)
# -- analytics: CloudWatch Logs -> enrichment Lambda -> OpenSearch ---------------
ANALYTICS_ENRICHMENT = "analytics-enrichment"
"""The enrichment function's role name and Powertools ``service``."""


class AnalyticsEnv:
    """Environment of the enrichment function."""

    ENDPOINT = "ANALYTICS_ENDPOINT"
    """``https://host``: an OpenSearch Service domain or Serverless collection endpoint."""
    SERVICE = "ANALYTICS_SERVICE"
    """What requests are signed for: ``es`` (a domain) or ``aoss`` (Serverless)."""
    INDEX_PREFIX = "ANALYTICS_INDEX_PREFIX"
    """Daily indices are ``<prefix>-YYYY.MM.DD``."""
    ACCOUNT_NAMES = "ANALYTICS_ACCOUNT_NAMES"
    """``true``: name accounts from AWS Organizations (ListAccounts); ``false``: ids only."""


ANALYTICS_SERVICES = ("es", "aoss")
DEFAULT_ANALYTICS_INDEX_PREFIX = "cloudtrail"


class AnalyticsMetrics:
    """Emitted by ``handlers.analytics_enrichment``."""

    RECEIVED = Metric(ANALYTICS_ENRICHMENT, "EventsReceived")
    INDEXED = Metric(ANALYTICS_ENRICHMENT, "EventsIndexed")
    REJECTED = Metric(ANALYTICS_ENRICHMENT, "EventsRejected")
    """Log events that are not CloudTrail records (or a payload that cannot be read); the
    rejection alarm fires on the first."""
    RETRIED = Metric(ANALYTICS_ENRICHMENT, "EventsRetried")
    FAILED = Metric(ANALYTICS_ENRICHMENT, "EventsFailed")
    """Documents still not indexed after the retries: the invocation fails and the
    on-failure destination keeps the payload."""
# -- CIS monitoring (Security Hub CloudWatch.1-14, CIS 4.15) ------------------------------
CIS_METRIC_NAMESPACE = "SecureTrail/CIS"
"""Namespace of the metric filters on the trail's CloudWatch Logs group: one metric per
control of ``monitoring_controls.MONITORING_CONTROLS``, named by its ``metric_name``, no
dimensions, value 1 per matching event. The alarms, the dashboard and the evidence report
read it from here."""


# -- schedules: how often the scheduled validators run ------------------------------------
DIGEST_PLAN_MINUTES = 60
"""The digest planner's schedule: every chain is validated from its checkpoint this often."""
DIGEST_PLAN_MINUTE = 15
"""The minute past each hour (UTC) the hourly run starts at (``cron(15 * * * ? *)``). A digest
that ends about on the hour (AWS's documented example, the tests' simulation) is delivered
within 10 minutes (``digests.chain.JITTER``): the run at :15 is the first after its delivery,
so the chain vouches for (or finds tampered) a log at most one hour plus 15 minutes after it
was written. A run at any minute (a ``rate``) could fall just before a delivery and wait
another hour (130 minutes at worst). docs/monitoring.md, "Time to detect"."""
REVALIDATION_MINUTES = 24 * 60
"""The daily re-validation's schedule (the last ``revalidation_days`` of every chain)."""
REVALIDATION_HOUR, REVALIDATION_MINUTE = 3, 45
"""When the daily re-validation starts (UTC): half an hour away from the hourly run's minute,
so its messages (a whole window per chain) do not queue behind, or compete for the workers'
concurrency with, the hourly ones. It leaves the checkpoints alone, so the two never race on them."""
DEFAULT_POSTURE_CHECK_MINUTES = 15
"""The scheduled posture check's default interval (prop ``posture_check_interval``)."""


# -- heartbeats: silence is an alarm ------------------------------------------------------
@dataclass(frozen=True)
class Heartbeat:
    """A liveness metric a validator emits (value 1) on every run, and the window its alarm
    allows without one: ``evaluation_periods`` periods of ``period_minutes`` in a row with no
    data (missing data is breaching) raise it. ``period_minutes`` 0: the validator's own
    schedule (the posture check's interval)."""

    metric: Metric
    period_minutes: int
    evaluation_periods: int
    what: str

    def window_minutes(self, schedule_minutes: int = 0) -> int:
        return (self.period_minutes or schedule_minutes) * self.evaluation_periods


HEARTBEATS: dict[str, Heartbeat] = {
    DIGEST_PLANNER: Heartbeat(Metric(DIGEST_VALIDATOR, "PlannerHeartbeat"), 60, 2,
                              "The hourly digest planner has not run"),
    DIGEST_VALIDATOR: Heartbeat(Metric(DIGEST_VALIDATOR, "WorkerHeartbeat"), 60, 2,
                                "No digest chain has been validated"),
    ACCESS_LOG_AUDITOR: Heartbeat(Metric(ACCESS_LOG_AUDITOR, "AuditedObjectHeartbeat"), 60, 2,
                                  "No server access log object of the trail bucket has been audited"),
    TRAIL_WATCH: Heartbeat(Metric(TRAIL_WATCH, "WatchedEventHeartbeat"), 60, 2,
                           "No object event of the trail bucket has been judged"),
    POSTURE_WATCHER: Heartbeat(Metric(POSTURE_WATCHER, "CheckHeartbeat"), 0, 2,
                               "The scheduled posture check has not run"),
    ANALYTICS_ENRICHMENT: Heartbeat(Metric(ANALYTICS_ENRICHMENT, "EnrichmentHeartbeat"), 60, 2,
                                    "No CloudTrail event has reached the analytics enrichment"),
}
"""Per validator role: its heartbeat. The handlers emit ``metric``; the stack alarms on it
(``validators.queue.heartbeat_alarm``) and graphs it on the dashboard."""


# -- backfill: a Step Functions Distributed Map over the digest worker --------------------
DIGEST_BACKFILL = "digest-backfill"
"""The backfill state machine's role name: state machine ``<trail>-digest-backfill``."""
BACKFILL_FIELD = "backfill"
"""The planner's input from the state machine: ``{"backfill": {<BackfillRequest>, "execution": <name>}}``;
it writes the run's items (JSON Lines) to the backfill bucket and returns where."""
BACKFILL_ITEM_FIELD = "backfill_item"
"""The worker's input from the state machine: ``{"backfill_item": <BackfillItem>}``."""
BACKFILL_ITEMS_PREFIX = "items/"
BACKFILL_RESULTS_PREFIX = "results/"
"""Where the Distributed Map writes each run's results (SUCCEEDED, FAILED and PENDING items)."""
DIGEST_WORKER_CONCURRENCY = 10
"""The digest worker's reserved concurrency: the hourly runs and the backfill share it."""
DEFAULT_BACKFILL_CONCURRENCY = 5
"""Chain-days the backfill validates at once (1 to ``DIGEST_WORKER_CONCURRENCY``)."""
MAX_BACKFILL_DAYS = 3660
"""One execution covers at most about ten years."""


class BackfillError(ValueError):
    """A backfill request or item that is not what the contract says."""


def _day(value: object, where: str) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise BackfillError(f"{where}: {value!r} is not a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BackfillError(f"{where}: {value!r} is not a date as YYYY-MM-DD") from None


def _exact_fields(value: object, fields: tuple[str, ...], what: str) -> dict:
    if not isinstance(value, dict) or set(value) != set(fields):
        raise BackfillError(f"{what}: {value!r} does not hold exactly the fields {', '.join(fields)}")
    return value


@dataclass(frozen=True)
class BackfillRequest:
    """An execution's input: the UTC days from ``since`` to ``until``, both included."""

    since: str
    until: str
    FIELDS = ("since", "until")

    @classmethod
    def parse(cls, value: object, today: date | None = None) -> "BackfillRequest":
        """``today``: a ``date``; @default not checked. A day after it is refused (its digests
        do not exist yet), as is an empty or too long range."""
        fields = _exact_fields(value, cls.FIELDS, "backfill request")
        since, until = _day(fields["since"], "since"), _day(fields["until"], "until")
        if until < since:
            raise BackfillError(f"until {until} is before since {since}")
        if (until - since).days + 1 > MAX_BACKFILL_DAYS:
            raise BackfillError(f"{since} to {until} is more than {MAX_BACKFILL_DAYS} days: split it")
        if today is not None and until > today:
            raise BackfillError(f"until {until} is after today ({today}, UTC)")
        return cls(since.isoformat(), until.isoformat())

    def to_json(self) -> dict[str, str]:
        return {"since": self.since, "until": self.until}

    def days(self) -> list[date]:
        first, last = _day(self.since, "since"), _day(self.until, "until")
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass(frozen=True)
class BackfillItem:
    """One item of the Distributed Map: a chain (account and region) and one UTC day."""

    account: str
    region: str
    day: str
    FIELDS = ("account", "region", "day")

    @classmethod
    def parse(cls, value: object) -> "BackfillItem":
        """The fields as strings and the day as a date (the worker judges account and region
        as it judges a chain's folder names)."""
        fields = _exact_fields(value, cls.FIELDS, "backfill item")
        for name in ("account", "region"):
            if not isinstance(fields[name], str):
                raise BackfillError(f"backfill item {name} {fields[name]!r} is not a string")
        return cls(fields["account"], fields["region"], _day(fields["day"], "backfill item day").isoformat())

    def to_json(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.FIELDS}


def backfill_items_key(execution_name: object) -> str:
    """The item list of one execution (Step Functions names: letters, digits, ``-`` and ``_``)."""
    if not isinstance(execution_name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", execution_name):
        raise BackfillError(f"execution name {execution_name!r} is not a Step Functions execution name")
    return f"{BACKFILL_ITEMS_PREFIX}{execution_name}.jsonl"
