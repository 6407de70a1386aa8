"""The validators of a trail's logs, wired the same way in every deployment shape: their
state key and table, the digest-chain validator and the access-log auditor, each as its
props ask."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..contract import ACCESS_LOG_AUDITOR, DIGEST_PLANNER, DIGEST_VALIDATOR, POSTURE_WATCHER
from ..names import TrailIdentity
from ..props import SecureTrailProps
from .access_logs import AccessLogAuditor
from .digests import DigestValidator
from .posture import PostureWatcher
from .state_key import ValidatorStateKey
from .table import ValidatorsTable


def validator_roles(props: SecureTrailProps) -> list[str]:
    """The validator functions the props switch on (each has a log group the key serves)."""
    return (([ACCESS_LOG_AUDITOR] if props.audit_access_logs else [])
            + ([DIGEST_PLANNER, DIGEST_VALIDATOR] if props.validate_digests else [])
            + ([POSTURE_WATCHER] if props.watch_posture else []))


@dataclass(frozen=True)
class Validators:
    state_key: kms.Key | None = None
    table: dynamodb.Table | None = None
    digest_validator: DigestValidator | None = None
    access_log_auditor: AccessLogAuditor | None = None
    posture_watcher: PostureWatcher | None = None


def add_validators(scope: Construct, *, identity: TrailIdentity, props: SecureTrailProps, key: kms.IKey,
                   trail_bucket: s3.Bucket, access_log_bucket: s3.Bucket, alerts_topic: sns.ITopic,
                   watch_trail: bool = True, log_group_name: str | None = None,
                   expected_selectors: Sequence[dict[str, Any]] = ()) -> Validators:
    """The validators ``props`` switch on, as children of ``scope``. The posture watcher
    watches the buckets and ``key``, and with ``watch_trail`` the trail (deployed with
    ``expected_selectors``) and the log group ``log_group_name`` too."""
    if not validator_roles(props):
        return Validators()
    state_key = ValidatorStateKey(scope, "ValidatorState", identity=identity)
    table = ValidatorsTable(scope, "ValidatorsTable", key=state_key.key).table
    digest_validator = DigestValidator(
        scope, "DigestValidator", identity=identity, trail_bucket=trail_bucket, key=key, state_key=state_key,
        alerts_topic=alerts_topic, table=table, strict=props.strict_digest_validation) \
        if props.validate_digests else None
    access_log_auditor = AccessLogAuditor(
        scope, "AccessLogAuditor", identity=identity, access_log_bucket=access_log_bucket,
        audited_bucket=trail_bucket, key=key, state_key=state_key, alerts_topic=alerts_topic, table=table,
        min_tls_version=props.min_tls_version, expected_principals=props.expected_principals) \
        if props.audit_access_logs else None
    posture_watcher = PostureWatcher(
        scope, "PostureWatcher", identity=identity, state_key=state_key, table=table, alerts_topic=alerts_topic,
        alerts_key_arn=key.key_arn, function_key=key, alarm_topic=alerts_topic, check_interval=Duration.minutes(props.posture_check_minutes),
        auto_restart_logging=props.auto_restart_logging, watch_trail=watch_trail,
        expected_selectors=expected_selectors, log_group_name=log_group_name,
        buckets=[trail_bucket, access_log_bucket], key=key,
        key_alias=None if props.key is not None else identity.log_key_alias) if props.watch_posture else None
    return Validators(state_key.key, table, digest_validator, access_log_auditor, posture_watcher)
