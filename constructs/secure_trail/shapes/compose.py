"""The one composition routine both deployment shapes call.

A stack holds the logs (the trail bucket, the access-log bucket, the log key and the
validators that read them), the trail (the organization trail, its delivery topic and log
group, the alarms on that group), or both: the single stack holds both, the Log Archive
stack the logs, the Trail stack the trail. ``compose`` builds what one stack holds, in one
order, every child configured by keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Annotations, Stack, Token
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..analytics import TrailAnalytics
from ..compliance import acknowledge_control
from ..monitoring import Monitoring, add_monitoring, cis_alarms_wanted
from ..names import DeploymentNames, TrailIdentity, failed_calls_role_name, posture_role_name
from ..contract import handover as contract_handover
from ..parts.access_log_bucket import AccessLogBucket
from ..parts.handover import Handover
from ..parts.key import TrailKey, reader_decrypt_conditions
from ..parts.log_group import TrailLogGroup
from ..parts.topics import TrailTopics
from ..parts.trail import OrgTrail, event_selectors
from ..parts.trail_bucket import TrailBucket
from ..props import (BROUGHT_BUCKET_EVENTS_WARNING, BROUGHT_BUCKET_OTHER_ACCOUNT_WARNING, SHORT_LOG_RETENTION_DAYS,
                     SHORT_LOG_RETENTION_WARNING, SecureTrailProps)
from ..validators import PostureAlerts, Validators, add_validators, validator_roles
from ..validators.posture import api_selectors, trail_destination

S3_ACCESS_LOGS_BY_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"

# In two accounts, what each key encrypts (the single stack's key: TrailKey's own description).
_HALF_KEY_DESCRIPTIONS = {
    "logs": "Encrypts CloudTrail logs and digests of {trail} and the validators' alerts",
    "trail": "Encrypts the delivery topic and CloudWatch Logs group of {trail}",
}


@dataclass(frozen=True)
class Composition:
    """What ``compose`` made; None where the stack does not hold it (or the props turn it off)."""

    key: kms.IKey
    trail_bucket: s3.IBucket
    """The trail bucket, the one brought (``bucket``), or (where the stack holds only the
    trail) the Log Archive's by its name."""
    access_log_bucket: s3.IBucket | None
    """None with a brought bucket."""
    alerts_topic: sns.Topic | None
    delivery_topic: sns.ITopic | None
    log_group: logs.ILogGroup | None
    trail: cloudtrail.CfnTrail | None
    validators: Validators
    analytics: TrailAnalytics | None
    monitoring: Monitoring


def compose(scope: Construct, *, props: SecureTrailProps, identity: TrailIdentity, names: DeploymentNames,
            holds_logs: bool, holds_trail: bool, trail_account_id: str | None = None) -> Composition:
    """Build, as children of ``scope``, what a stack that ``holds_logs`` and/or
    ``holds_trail`` deploys. ``trail_account_id``: the Trail stack's account, where the
    stack holds only the logs (its posture watcher publishes to the alerts topic here)."""
    if holds_logs:
        # Whatever flags the enclosing app has: access logs are granted by bucket policy to
        # logging.s3.amazonaws.com (the legacy LogDeliveryWrite ACL is incompatible with
        # BucketOwnerEnforced).
        scope.node.set_context(S3_ACCESS_LOGS_BY_BUCKET_POLICY, True)
    brought_bucket = props.bucket if holds_logs else None
    bucket_of_this_account = brought_bucket is None or _of_this_account(scope, brought_bucket)
    roles = validator_roles(audit_access_logs=props.audit_access_logs and holds_logs,
                            validate_digests=props.validate_digests and holds_logs,
                            watch_posture=props.watch_posture, watch_bucket_events=bucket_of_this_account)
    log_group_wanted = holds_trail and props.cloud_watch_logs
    brought_topic = props.sns_topic if holds_trail else None
    brought_log_group = props.cloud_watch_log_group if log_group_wanted else None
    analytics_wanted = log_group_wanted and props.analytics is not None
    # CloudWatch alarms notify only topics of their own account: every stack with alarms has
    # an alerts topic, with the same subscribers.
    alarms = bool(roles) or analytics_wanted or (holds_trail and cis_alarms_wanted(
        cloud_watch_logs=props.cloud_watch_logs, disabled_monitoring_controls=props.disabled_monitoring_controls))
    # A log group's key must live in the log group's account: in two accounts, the trail's key
    # encrypts the delivery topic and the log group, never a log file.
    key = TrailKey(
        scope, "Key", identity=identity, existing_key=props.key if holds_logs else None,
        log_reader_arns=props.log_reader_arns if holds_logs else (),
        topic_names=(([identity.delivery_topic_name] if brought_topic is None else [])
                     + ([identity.alerts_topic_name] if holds_logs else []) if holds_trail else []),
        log_group_names=([identity.log_group_name] if log_group_wanted and brought_log_group is None else [])
        + [identity.function_log_group_name(role) for role in roles],
        alarm_topic_name=identity.alerts_topic_name if alarms else None, encrypts_logs=holds_logs,
        trail_bucket_arn=(brought_bucket.bucket_arn if brought_bucket else names.trail_bucket_arn)
        if holds_logs else None,
        alias_name=None if holds_logs else identity.delivery_key_alias,
        description=None if holds_logs and holds_trail else
        _HALF_KEY_DESCRIPTIONS["logs" if holds_logs else "trail"].format(trail=identity.trail_name)).key

    trail_bucket_part = None
    access_log_bucket: s3.IBucket | None = None
    if brought_bucket is not None:
        trail_bucket: s3.IBucket = brought_bucket
        _explain_brought_bucket(scope, brought_bucket, of_this_account=bucket_of_this_account,
                                validators=props.validate_digests or props.watch_posture)
    elif holds_logs:
        access_log_bucket = AccessLogBucket(
            scope, "AccessLogs", expiration_days=props.access_log_expiration_days,
            noncurrent_version_expiration_days=props.noncurrent_version_expiration_days,
            bucket_name=None if holds_trail else names.access_log_bucket_name).bucket
        trail_bucket_part = TrailBucket(
            scope, "TrailLogs", identity=identity, key=key, access_log_bucket=access_log_bucket,
            transition_days=props.log_transition_days, transition_storage_class=props.log_transition_storage_class,
            expiration_days=props.log_expiration_days,
            noncurrent_version_expiration_days=props.noncurrent_version_expiration_days,
            object_lock=props.object_lock, bucket_name=names.trail_bucket_name)
        trail_bucket = trail_bucket_part.bucket
        if props.log_expiration_days < SHORT_LOG_RETENTION_DAYS:
            Annotations.of(trail_bucket_part).add_warning_v2(
                SHORT_LOG_RETENTION_WARNING,
                f"log_expiration_days is {props.log_expiration_days}: trail logs are deleted before a year has "
                f"passed, shorter than most audit frameworks require ({SHORT_LOG_RETENTION_DAYS} days or more). "
                f"Raise it, or acknowledge with Annotations.of(<trail bucket construct>)"
                f".acknowledge_warning('{SHORT_LOG_RETENTION_WARNING}', reason)")
    topics = TrailTopics(scope, "Topics", identity=identity, key=key, delivery=holds_trail and brought_topic is None,
                         alerts=holds_logs or alarms)
    if holds_logs and not holds_trail and props.watch_posture:
        _admit_trail_account_posture_alerts(topics.alerts, key, names=names,
                                            trail_account_id=trail_account_id or identity.management_account_id)

    log_group = (TrailLogGroup(scope, "CloudWatchLogs", identity=identity, key=key,
                               retention=props.cloud_watch_logs_retention, existing_log_group=brought_log_group,
                               existing_role=props.cloud_watch_logs_role)
                 if log_group_wanted else None)
    delivery_topic: sns.ITopic | None = brought_topic or topics.delivery
    if not holds_logs:
        # The Log Archive's buckets, by their derived names (no reference across accounts).
        trail_bucket = s3.Bucket.from_bucket_attributes(
            scope, "TrailBucket", bucket_name=names.trail_bucket_name,
            account=names.log_archive_account_id, region=names.region)
        access_log_bucket = s3.Bucket.from_bucket_attributes(
            scope, "AccessLogBucket", bucket_name=names.access_log_bucket_name,
            account=names.log_archive_account_id, region=names.region)
    selectors = event_selectors(s3_data_events=props.s3_data_events, lambda_data_events=props.lambda_data_events,
                                log_buckets=[b for b in (trail_bucket, access_log_bucket) if b is not None],
                                custom=props.advanced_event_selectors)
    trail = None
    if holds_trail:
        assert delivery_topic is not None
        trail = OrgTrail(
            scope, "Trail", identity=identity, bucket=trail_bucket,
            key_arn=key.key_arn if holds_logs else names.log_key_alias_arn,
            delivery_topic_arn=delivery_topic.topic_arn, advanced_event_selectors=selectors,
            insight_types=[kind.value for kind in props.insight_types_in_force],
            log_group_arn=log_group.log_group.log_group_arn if log_group else None,
            log_role_arn=log_group.role.role_arn if log_group else None).trail
        if not holds_logs:
            acknowledge_control(
                trail, "CT.CLOUDTRAIL.PR.1",
                "The trail is encrypted with the Log Archive account's key, named by its derived alias ARN "
                "(KMSKeyId is an Fn::Join over AWS::Partition, no reference across accounts): the rule at "
                "synth reads only a literal or a key of this template, while the Control Tower hook at "
                "deploy reads the resolved ARN.")
        # CloudTrail checks the bucket, key and topic policies (and the log role's) when the
        # trail is created: they must exist first. The key (whose policy is part of it), the
        # topic, the log group and the role are referenced by the trail already.
        for policy in (trail_bucket_part.policy if trail_bucket_part else None,
                       topics.delivery.node.find_child("Policy") if topics.delivery else None,
                       log_group.policy if log_group else None):
            if policy is not None:
                trail.node.add_dependency(policy)

    handover = None
    if trail is not None:
        handover = _hand_over(scope, identity=identity, bucket=brought_bucket, key=key if holds_logs else None,
                   topic=brought_topic, log_group=log_group if brought_log_group and props.cloud_watch_logs_role else None)
    assert topics.alerts is not None or not roles
    validators = add_validators(
        scope, identity=identity, key=key, alerts_topic=topics.alerts,
        trail_bucket=trail_bucket if holds_logs else None, access_log_bucket=access_log_bucket if holds_logs else None,
        validate_digests=props.validate_digests, strict_digest_validation=props.strict_digest_validation,
        revalidation_days=props.revalidation_days, log_expiration_days=props.log_expiration_days,
        backfill_concurrency=props.backfill_concurrency,
        bucket_of_this_account=bucket_of_this_account, handover=handover,
        audit_access_logs=props.audit_access_logs, min_tls_version=props.min_tls_version,
        expected_principals=props.expected_principals, watch_posture=props.watch_posture,
        posture_check_minutes=props.posture_check_minutes, auto_restart_logging=props.auto_restart_logging,
        watch_trail=holds_trail, expected_selectors=api_selectors(selectors) if holds_trail else (),
        expected_trail=trail_destination(trail) if trail is not None else None,
        log_group_name=(brought_log_group.log_group_name if brought_log_group else identity.log_group_name)
        if log_group else None,
        key_alias=(None if props.key is not None else identity.log_key_alias) if holds_logs else None,
        posture_alerts=None if holds_logs else PostureAlerts(
            names.alerts_topic_arn, f"arn:{names.partition}:kms:{names.region}:{names.log_archive_account_id}:key/*",
            posture_role_name(identity.trail_name), failed_calls_role_name(identity.trail_name)))
    # Analytics subscribes to the log group, so it lives beside it.
    analytics = (TrailAnalytics(scope, "Analytics", identity=identity, props=props.analytics,
                                log_group=log_group.log_group, alerts_topic=topics.alerts)
                 if analytics_wanted and log_group else None)
    monitoring = add_monitoring(
        scope, identity=identity, alerts_topic=topics.alerts, alert_subscriptions=props.alert_subscribers,
        disabled_monitoring_controls=props.disabled_monitoring_controls, dashboard=props.dashboard,
        log_group=log_group.log_group if log_group else None, delivery_topic=delivery_topic,
        validators=validators, analytics=analytics, dashboard_suffix="" if holds_trail else "-log-archive")
    return Composition(key=key, trail_bucket=trail_bucket, access_log_bucket=access_log_bucket,
                       alerts_topic=topics.alerts, delivery_topic=delivery_topic,
                       log_group=log_group.log_group if log_group else None, trail=trail, validators=validators,
                       analytics=analytics, monitoring=monitoring)


def _of_this_account(scope: Construct, bucket: s3.IBucket) -> bool:
    """As the bucket was imported: ``from_bucket_name`` takes the stack's account,
    ``from_bucket_attributes(account=...)`` names its own."""
    return bucket.env.account == Stack.of(scope).account


def _explain_brought_bucket(scope: Construct, bucket: s3.IBucket, *, of_this_account: bool,
                            validators: bool) -> None:
    """What the validators can and cannot do with a bucket not owned here, as a synth warning."""
    if not validators:
        return
    if of_this_account:
        Annotations.of(scope).add_warning_v2(
            BROUGHT_BUCKET_EVENTS_WARNING,
            f"The trail watch reads the object events of {bucket.bucket_name} from EventBridge: its owner must "
            "turn on Amazon EventBridge notifications for the bucket (its notification configuration's "
            "EventBridgeConfiguration), or the watch sees nothing and its heartbeat alarm fires.")
        return
    Annotations.of(scope).add_warning_v2(
        BROUGHT_BUCKET_OTHER_ACCOUNT_WARNING,
        f"{bucket.bucket_name} belongs to account {bucket.env.account}: S3 sends its object events to EventBridge "
        "and answers GetBucketPolicy in that account only, so this stack deploys no trail watch and its posture "
        "watcher does not check the bucket. The digest validator still reads it (hourly, and re-validates the "
        "last days daily). Watch the bucket in its own account (the organization shape's Log Archive stack "
        "does), or acknowledge this warning.")


def _hand_over(scope: Construct, *, identity: TrailIdentity, bucket: s3.IBucket | None, key: kms.IKey | None,
               topic: sns.ITopic | None, log_group: TrailLogGroup | None) -> dict[str, Any] | None:
    """The statements the owners of the parts not owned here must add (``parts.handover``);
    what the posture watcher of this account checks of them (``contract.handover
    .handover_checks``: the parts of this account, whose policies it can read), or None."""
    spec: dict[str, Any] = {
        "trail_arn": identity.trail_arn, "account": identity.management_account_id,
        "partition": identity.partition, "prefix": identity.s3_key_prefix or "",
        "readers": [f"arn:{identity.partition}:iam::{identity.account}:root"], "org_id": identity.org_id,
        "bucket": bucket.bucket_name if bucket is not None else None,
        "key": key.key_arn if key is not None and not isinstance(key, kms.Key) else None,
        "topic": topic.topic_arn if topic is not None else None}
    wheres = {"bucket": f"the bucket policy of {spec['bucket']}", "key": f"the key policy of {spec['key']}",
              "topic": f"the topic policy of {spec['topic']}"}
    parts = {"bucket": bucket, "key": key, "topic": topic}
    checks = contract_handover.handover_checks(spec)
    if not checks and log_group is None:
        return None
    handover = Handover(scope, "Handover")
    for part, _, statements in checks:
        handover.add(part, statements, wheres[part])
    if log_group is not None:
        handover.add("log-group", contract_handover.log_group_writer_statements(
            identity.log_group_arn(log_group.log_group.log_group_name)),
            f"the policy of role {log_group.role.role_arn} (it writes to {log_group.log_group.log_group_name})")
    # GetBucketPolicy, GetKeyPolicy and GetTopicAttributes answer in the part's own account only.
    watched = {part: spec[part] if spec[part] and parts[part].env.account == Stack.of(scope).account else None
               for part in contract_handover.CHECKED_PARTS}
    if not any(watched.values()):
        return None
    return {field: spec[field] for field in contract_handover.HANDOVER_SPEC_FIELDS} | \
        {part: value for part, value in watched.items() if value}


def _admit_trail_account_posture_alerts(alerts_topic: sns.Topic, key: kms.IKey, *, names: DeploymentNames,
                                        trail_account_id: str) -> None:
    """The trail account's posture watcher and failed-calls function (their roles named by
    derived ARNs: no role of another account can be a principal before it exists) may publish
    to the alerts topic, and use the key only as that topic's encryption."""
    role = {"ArnEquals": {"aws:PrincipalArn": [names.posture_role_arn, names.failed_calls_role_arn]}}
    trail_account = iam.AccountPrincipal(trail_account_id)
    alerts_topic.add_to_resource_policy(iam.PolicyStatement(
        sid="TrailAccountPostureWatcherPublishes", principals=[trail_account], actions=["sns:Publish"],
        resources=[alerts_topic.topic_arn], conditions=role))
    key.add_to_resource_policy(iam.PolicyStatement(
        sid="TrailAccountPostureWatcherEncryptsAlerts", principals=[trail_account],
        actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=["*"],
        conditions={**role, "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": names.alerts_topic_arn}}))


def grant_read_logs(grantee: iam.IGrantable, *, bucket: s3.IBucket, key: kms.IKey, identity: TrailIdentity,
                    bucket_arn: str) -> iam.Grant:
    """S3 list and read under ``[prefix/]AWSLogs/`` and ``kms:Decrypt`` in either reader form
    (``key.reader_decrypt_conditions``); ``bucket_arn`` derived, so a key policy can name it."""
    logs_prefix = identity.aws_logs_prefix
    grant = _grant(grantee, bucket, ["s3:GetObject"], [bucket.arn_for_objects(f"{logs_prefix}*")]).combine(
        _grant(grantee, bucket, ["s3:ListBucket"], [bucket.bucket_arn],
               {"StringLike": {"s3:prefix": [f"{logs_prefix}*"]}}))
    for condition in reader_decrypt_conditions(region=identity.home_region, bucket_arn=bucket_arn,
                                               logs_prefix=logs_prefix):
        grant = grant.combine(_grant(grantee, key, ["kms:Decrypt"], [key.key_arn], condition,
                                     resource_policy_arns=["*"]))
        _name_reader_in_key_policy(grantee, key, condition)
    return grant


def _name_reader_in_key_policy(grantee: iam.IGrantable, key: kms.IKey, condition: dict[str, Any]) -> None:
    """The account root only administers the trail key, so an IAM grant alone does not let a
    reader of this account decrypt: name its role in the key policy (``aws:PrincipalArn``,
    as the validator-state key does)."""
    role_arn = getattr(grantee, "role_arn", None)
    if role_arn is None or not isinstance(key, kms.Key):
        return
    key.add_to_resource_policy(iam.PolicyStatement(
        principals=[iam.AccountRootPrincipal()], actions=["kms:Decrypt"], resources=["*"],
        conditions={**condition, "ArnEquals": {"aws:PrincipalArn": role_arn}}))


def _grant(grantee: iam.IGrantable, resource: iam.IResourceWithPolicyV2, actions: list[str],
           resource_arns: list[str], conditions: dict[str, Any] | None = None, *,
           resource_policy_arns: list[str] | None = None) -> iam.Grant:
    """``Grant.add_to_principal_or_resource`` whose resource-policy statement keeps the
    conditions (CDK's leaves them out, which would give another account an unconditioned
    ``kms:Decrypt``)."""
    on_principal = iam.Grant.add_to_principal(grantee=grantee, actions=actions, resource_arns=resource_arns,
                                              conditions=conditions)
    if on_principal.success and _same_account(resource.env.account, grantee.grant_principal.principal_account):
        return on_principal
    return iam.Grant.add_statement_to_resource_policy(
        grantee=grantee, resource=resource, actions=actions, resource_arns=resource_arns, statement=iam.PolicyStatement(
            principals=[grantee.grant_principal], actions=actions, resources=resource_policy_arns or resource_arns,
            conditions=conditions))


def _same_account(account: str, principal_account: str | None) -> bool:
    """As CDK's grants decide it: two unresolved accounts are taken to be the same."""
    if principal_account is None:  # a service principal, for one
        return False
    if Token.is_unresolved(account) or Token.is_unresolved(principal_account):
        return Token.is_unresolved(account) and Token.is_unresolved(principal_account)
    return account == principal_account
