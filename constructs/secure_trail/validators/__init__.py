"""The validators, wired the same way in every deployment shape: their state key and table,
the digest-chain validator and the access-log auditor where the logs are, a posture watcher
in each account that holds a part of the trail. Each module: one validator's construct
(``digests``, ``trail_watch``, ``access_logs``, ``posture``) or what they share (``function``, ``queue``,
``table``, ``state_key``, ``code`` and ``lambda_asset``: the Lambda asset)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..contract import (ACCESS_LOG_AUDITOR, DEFAULT_BACKFILL_CONCURRENCY, DEFAULT_REVALIDATION_DAYS, DIGEST_PLANNER, DIGEST_VALIDATOR,
                        POSTURE_FAILED_CALLS, POSTURE_WATCHER, TRAIL_WATCH)
from ..names import TrailIdentity
from .access_logs import AccessLogAuditor
from .digests import DigestValidator
from .posture import PostureWatcher
from .state_key import ValidatorStateKey
from .table import ValidatorsTable
from .trail_watch import TrailWatch


def validator_roles(*, audit_access_logs: bool, validate_digests: bool, watch_posture: bool,
                    watch_bucket_events: bool = True) -> list[str]:
    """The validator functions that are on (each has a log group the key serves);
    ``watch_bucket_events``: the trail watch with the digest validator."""
    return (([ACCESS_LOG_AUDITOR] if audit_access_logs else [])
            + ([DIGEST_PLANNER, DIGEST_VALIDATOR] if validate_digests else [])
            + ([TRAIL_WATCH] if validate_digests and watch_bucket_events else [])
            + ([POSTURE_WATCHER, POSTURE_FAILED_CALLS] if watch_posture else []))


@dataclass(frozen=True)
class Validators:
    state_key: kms.Key | None = None
    table: dynamodb.Table | None = None
    digest_validator: DigestValidator | None = None
    access_log_auditor: AccessLogAuditor | None = None
    posture_watcher: PostureWatcher | None = None
    trail_watch: TrailWatch | None = None


def add_validators(scope: Construct, *, identity: TrailIdentity, key: kms.IKey, alerts_topic: sns.ITopic,
                   trail_bucket: s3.IBucket | None = None, access_log_bucket: s3.IBucket | None = None,
                   validate_digests: bool, strict_digest_validation: bool, audit_access_logs: bool,
                   min_tls_version: str, expected_principals: Sequence[str], watch_posture: bool,
                   posture_check_minutes: int, auto_restart_logging: bool, watch_trail: bool,
                   expected_selectors: Sequence[dict[str, Any]] = (), log_group_name: str | None = None,
                   key_alias: str | None = None, posture_alerts: PostureAlerts | None = None,
                   revalidation_days: int = DEFAULT_REVALIDATION_DAYS, log_expiration_days: int = 2557,
                   expected_trail: dict[str, Any] | None = None,
                   backfill_concurrency: int = DEFAULT_BACKFILL_CONCURRENCY,
                   bucket_of_this_account: bool = True, handover: Mapping[str, Any] | None = None) -> Validators:
    """The validators that are on, as children of ``scope``. Where the logs are (the two
    buckets given; only the trail bucket where it was brought): the digest validator and the
    access-log auditor, and a posture watcher of the buckets and ``key`` (``key_alias``: its alias, when the trail names it so). With
    ``watch_trail``: the posture watcher watches the trail (deployed with
    ``expected_selectors``) and its log group ``log_group_name`` too. ``posture_alerts``:
    where the posture watcher publishes (another account's topic), @default ``alerts_topic`` and ``key``.
    With the digest validator: the trail watch of the trail bucket (``log_expiration_days``: its
    lifecycle expiry), a daily re-validation of the last ``revalidation_days``, and the backfill
    state machine (``backfill_concurrency`` chain-days at once).
    ``expected_trail``: the trail's deployed destination (``posture.trail_destination``). A trail
    bucket not ``bucket_of_this_account`` gets neither the trail watch nor the posture
    watcher's bucket checks: S3 sends a bucket's events to EventBridge, and answers
    GetBucketPolicy, in the bucket owner's account only. ``handover``: the brought parts the
    posture watcher checks for the statements handed over (``contract.handover.handover_checks``)."""
    holds_logs = trail_bucket is not None
    roles = validator_roles(audit_access_logs=audit_access_logs and access_log_bucket is not None,
                            validate_digests=validate_digests and holds_logs, watch_posture=watch_posture,
                            watch_bucket_events=bucket_of_this_account)
    if not roles:
        return Validators()
    state_key = ValidatorStateKey(scope, "ValidatorState", identity=identity)
    table = ValidatorsTable(scope, "ValidatorsTable", key=state_key.key).table
    digest_validator = DigestValidator(
        scope, "DigestValidator", identity=identity, trail_bucket=trail_bucket, key=key, state_key=state_key,
        alerts_topic=alerts_topic, table=table, strict=strict_digest_validation,
        revalidation_days=revalidation_days, backfill_concurrency=backfill_concurrency) \
        if DIGEST_VALIDATOR in roles else None
    trail_watch = TrailWatch(
        scope, "TrailWatch", identity=identity, trail_bucket=trail_bucket, key=key, state_key=state_key,
        alerts_topic=alerts_topic, table=table, expiration_days=log_expiration_days) \
        if TRAIL_WATCH in roles else None
    access_log_auditor = AccessLogAuditor(
        scope, "AccessLogAuditor", identity=identity, access_log_bucket=access_log_bucket,
        audited_bucket=trail_bucket, key=key, state_key=state_key, alerts_topic=alerts_topic, table=table,
        min_tls_version=min_tls_version, expected_principals=expected_principals) \
        if ACCESS_LOG_AUDITOR in roles else None
    posture_watcher = None
    if watch_posture:
        posture_watcher = PostureWatcher(
            scope, "PostureWatcher", identity=identity, state_key=state_key, table=table,
            alerts_topic=(sns.Topic.from_topic_arn(scope, "LogArchiveAlerts", posture_alerts.topic_arn)
                          if posture_alerts else alerts_topic),
            alerts_key_arn=posture_alerts.key_arn if posture_alerts else key.key_arn, function_key=key,
            alarm_topic=alerts_topic, check_interval=Duration.minutes(posture_check_minutes),
            auto_restart_logging=auto_restart_logging, watch_trail=watch_trail,
            expected_selectors=expected_selectors, log_group_name=log_group_name,
            buckets=[b for b in (trail_bucket, access_log_bucket) if b is not None] if bucket_of_this_account else [],
            key=key if holds_logs else None,
            key_alias=key_alias, role_name=posture_alerts.role_name if posture_alerts else None,
            failed_calls_role_name=posture_alerts.failed_calls_role_name if posture_alerts else None,
            handover=handover,
            expected_trail=expected_trail)
    return Validators(state_key.key, table, digest_validator, access_log_auditor, posture_watcher, trail_watch)


@dataclass(frozen=True)
class PostureAlerts:
    """Where a posture watcher of the trail account (two accounts) publishes: the Log
    Archive's alerts topic (``key_arn``: a ``key/*`` pattern of that account), which admits
    the watcher's role by its derived name ``role_name`` (and the failed-calls function's by
    ``failed_calls_role_name``)."""

    topic_arn: str
    key_arn: str
    role_name: str
    failed_calls_role_name: str
