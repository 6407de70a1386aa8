"""The organization shape: a Log Archive stack and a Trail stack in two accounts.

Log Archive account (``LogArchiveStack``): trail bucket, access-log bucket, the log key,
the digest validator and access-log auditor (their table, queues, alarms, state key) and
the alerts topic. Trail account (``TrailStack``: the management account, or a delegated
administrator): the organization trail, its delivery topic, its CloudWatch Logs group and
the key of both, and the role CloudTrail writes the group with.

No export or cross-stack reference joins them: each side names the other's resources by
``shared_names.deployment_names``.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..validators.access_logs import AccessLogAuditor
from ..parts.access_log_bucket import AccessLogBucket
from ..analytics import TrailAnalytics
from ..contract import POSTURE_WATCHER
from ..validators.digests import DigestValidator
from ..names import TrailIdentity
from ..parts.key import TrailKey
from ..parts.log_group import TrailLogGroup
from ..monitoring import Monitoring, add_monitoring, cis_alarms_wanted
from ..parts.trail import OrgTrail, event_selectors
from ..validators.posture import PostureWatcher, api_selectors
from ..props import SecureTrailConfigError, SecureTrailProps
from .single import S3_ACCESS_LOGS_BY_BUCKET_POLICY, grant_read_logs
from ..names import DeploymentNames, deployment_names, posture_role_name
from ..validators.state_key import ValidatorStateKey
from ..parts.topics import TrailTopics
from ..parts.trail_bucket import TrailBucket
from ..validators import Validators, add_validators, validator_roles
from ..validators.table import ValidatorsTable

def _organization_props(props: SecureTrailProps, what: str) -> SecureTrailProps:
    props.validate()
    if props.log_archive_account_id is None:
        raise SecureTrailConfigError(
            f"log_archive_account_id: None is not valid for {what}; expected the 12-digit Log Archive "
            "account id (or use SecureTrail/SecureTrailStack for the single-stack shape).")
    return props


def _concrete_region(stack: Stack, what: str) -> str:
    if Token.is_unresolved(stack.region):
        raise SecureTrailConfigError(
            f"{what}: the stack's region is not set; the organization shape derives names and ARNs from "
            "it: give the stack env=Environment(account=..., region=...) (context homeRegion in app.py).")
    return stack.region


class SecureTrailLogArchive(Construct):
    """The Log Archive account's half: where the logs are kept and proven."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SecureTrailProps,
                 trail_account_id: str | None = None) -> None:
        """``trail_account_id``: the Trail stack's account, @default the management account
        (its posture watcher publishes to the alerts topic here)."""
        super().__init__(scope, construct_id)
        props = _organization_props(props, "the Log Archive stack")
        stack = Stack.of(self)
        region = _concrete_region(stack, "log_archive_account_id")
        if not Token.is_unresolved(stack.account) and stack.account != props.log_archive_account_id:
            raise SecureTrailConfigError(
                f"log_archive_account_id: {props.log_archive_account_id!r} is not the account of the Log "
                f"Archive stack ({stack.account}); deploy LogArchiveStack with "
                f"env=Environment(account={props.log_archive_account_id!r}).")
        self.node.set_context(S3_ACCESS_LOGS_BY_BUCKET_POLICY, True)
        self.props = props
        self.identity = identity = TrailIdentity.of(stack, props)
        self.names: DeploymentNames = deployment_names(
            org_id=props.org_id, trail_name=props.trail_name, region=region,
            management_account_id=identity.management_account_id,
            log_archive_account_id=props.log_archive_account_id, trail_account_id=trail_account_id)
        names = self.names

        roles = validator_roles(props)
        key = TrailKey(self, "Key", identity=identity, log_reader_arns=props.log_reader_arns,
                       log_group_names=[identity.function_log_group_name(role) for role in roles],
                       alarm_topic_name=identity.alerts_topic_name if roles else None,
                       trail_bucket_arn=names.trail_bucket_arn, alias_name=names.log_key_alias,
                       description=f"Encrypts CloudTrail logs and digests of {identity.trail_name} and "
                                   "the validators' alerts")
        self.key: kms.IKey = key.key
        self.access_log_bucket: s3.Bucket = AccessLogBucket(
            self, "AccessLogs", expiration_days=props.access_log_expiration_days,
            noncurrent_version_expiration_days=props.noncurrent_version_expiration_days,
            bucket_name=names.access_log_bucket_name).bucket
        self.trail_bucket: s3.Bucket = TrailBucket(
            self, "TrailLogs", identity=identity, props=props, key=self.key,
            access_log_bucket=self.access_log_bucket, bucket_name=names.trail_bucket_name).bucket
        topics = TrailTopics(self, "Topics", identity=identity, key=self.key, delivery=False)
        assert topics.alerts is not None
        self.alerts_topic: sns.Topic = topics.alerts
        if props.watch_posture:
            self._admit_trail_account_posture_alerts(trail_account_id or identity.management_account_id)

        validators = add_validators(self, identity=identity, props=props, key=self.key,
                                    trail_bucket=self.trail_bucket, access_log_bucket=self.access_log_bucket,
                                    alerts_topic=self.alerts_topic, watch_trail=False)
        self.validator_state_key: kms.Key | None = validators.state_key
        self.validators_table: dynamodb.Table | None = validators.table
        self.digest_validator: DigestValidator | None = validators.digest_validator
        self.access_log_auditor: AccessLogAuditor | None = validators.access_log_auditor
        self.posture_watcher = validators.posture_watcher
        """Bucket and key calls, key state and bucket policies (the trail's own are watched
        in the trail's account)."""
        self.monitoring: Monitoring = add_monitoring(self, props=props, identity=identity, alerts_topic=self.alerts_topic,
                                                     validators=validators, dashboard_suffix="-log-archive")

    def _admit_trail_account_posture_alerts(self, trail_account_id: str) -> None:
        """The trail account's posture watcher (its role named by a derived ARN: no role of
        another account can be a principal before it exists) may publish to the alerts topic,
        and use the key only as that topic's encryption."""
        role = {"ArnEquals": {"aws:PrincipalArn": self.names.posture_role_arn}}
        trail_account = iam.AccountPrincipal(trail_account_id)
        self.alerts_topic.add_to_resource_policy(iam.PolicyStatement(
            sid="TrailAccountPostureWatcherPublishes", principals=[trail_account], actions=["sns:Publish"],
            resources=[self.alerts_topic.topic_arn], conditions=role))
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid="TrailAccountPostureWatcherEncryptsAlerts", principals=[trail_account],
            actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=["*"],
            conditions={**role, "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": self.names.alerts_topic_arn}}))

    def grant_read_logs(self, grantee: iam.IGrantable) -> iam.Grant:
        """As ``SecureTrail.grant_read_logs``: list and read ``[prefix/]AWSLogs/`` and decrypt
        under CloudTrail's context or through S3 for this bucket only."""
        return grant_read_logs(grantee, bucket=self.trail_bucket, key=self.key, identity=self.identity,
                               bucket_arn=self.names.trail_bucket_arn)


class SecureTrailOrgTrail(Construct):
    """The trail account's half: the organization trail and what delivers and watches it."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SecureTrailProps) -> None:
        super().__init__(scope, construct_id)
        props = _organization_props(props, "the Trail stack")
        stack = Stack.of(self)
        region = _concrete_region(stack, "log_archive_account_id")
        if not Token.is_unresolved(stack.account) and stack.account == props.log_archive_account_id:
            raise SecureTrailConfigError(
                f"log_archive_account_id: {props.log_archive_account_id!r} is also the Trail stack's account; "
                "deploy TrailStack to the management (or delegated administrator) account, or leave "
                "log_archive_account_id unset for the single-stack shape.")
        self.props = props
        self.identity = identity = TrailIdentity.of(stack, props)
        self.names: DeploymentNames = deployment_names(
            org_id=props.org_id, trail_name=props.trail_name, region=region,
            management_account_id=identity.management_account_id,
            log_archive_account_id=props.log_archive_account_id, trail_account_id=identity.account)
        names = self.names

        # A log group's key must live in the log group's account: this one encrypts the
        # delivery topic and the log group, never a log file.
        # CloudWatch alarms notify only topics of their own account: this account's alarms (CIS,
        # posture watcher, analytics) get an alerts topic here, with the Log Archive's subscribers.
        local_alarms = cis_alarms_wanted(props) or props.watch_posture or bool(props.analytics and props.cloud_watch_logs)
        key = TrailKey(self, "Key", identity=identity, encrypts_logs=False,
                       topic_names=[identity.delivery_topic_name],
                       log_group_names=([identity.log_group_name] if props.cloud_watch_logs else [])
                       + ([identity.function_log_group_name(POSTURE_WATCHER)] if props.watch_posture else []),
                       alarm_topic_name=identity.alerts_topic_name if local_alarms else None,
                       alias_name=identity.delivery_key_alias,
                       description=f"Encrypts the delivery topic and CloudWatch Logs group of {identity.trail_name}")
        self.key: kms.IKey = key.key
        topics = TrailTopics(self, "Topics", identity=identity, key=self.key, alerts=local_alarms)
        assert topics.delivery is not None
        self.delivery_topic: sns.Topic = topics.delivery
        self.alerts_topic: sns.Topic | None = topics.alerts
        log_group = (TrailLogGroup(self, "CloudWatchLogs", identity=identity, key=self.key,
                                   retention=props.cloud_watch_logs_retention)
                     if props.cloud_watch_logs else None)
        self.log_group: logs.LogGroup | None = log_group.log_group if log_group else None
        # The Log Archive's buckets, by their derived names (no reference across accounts).
        self.trail_bucket = s3.Bucket.from_bucket_attributes(
            self, "TrailBucket", bucket_name=names.trail_bucket_name,
            account=names.log_archive_account_id, region=region)
        self.access_log_bucket = s3.Bucket.from_bucket_attributes(
            self, "AccessLogBucket", bucket_name=names.access_log_bucket_name,
            account=names.log_archive_account_id, region=region)
        self.trail = OrgTrail(
            self, "Trail", identity=identity, props=props, bucket=self.trail_bucket,
            key_arn=names.log_key_alias_arn, delivery_topic_arn=self.delivery_topic.topic_arn,
            log_group_arn=self.log_group.log_group_arn if self.log_group else None,
            log_role_arn=log_group.role.role_arn if log_group else None,
            log_buckets=[self.trail_bucket, self.access_log_bucket]).trail
        for policy in (self.delivery_topic.node.find_child("Policy"), log_group.policy if log_group else None):
            if policy is not None:
                self.trail.node.add_dependency(policy)
        self.posture_watcher: PostureWatcher | None = self._posture_watcher() if props.watch_posture else None
        # Analytics subscribes to the log group, so it lives beside it.
        self.analytics: TrailAnalytics | None = (
            TrailAnalytics(self, "Analytics", identity=identity, props=props.analytics, log_group=self.log_group,
                           alerts_topic=self.alerts_topic)
            if props.analytics and self.log_group else None)
        self.monitoring: Monitoring = add_monitoring(
            self, props=props, identity=identity, alerts_topic=self.alerts_topic, log_group=self.log_group,
            delivery_topic=self.delivery_topic, validators=Validators(posture_watcher=self.posture_watcher),
            analytics=self.analytics)

    def _posture_watcher(self) -> PostureWatcher:
        """The trail's and the log group's calls and the trail's status, watched here; its
        state in a table of this account; its alerts to the Log Archive's alerts topic (the
        one the subscribers hear), whose policies admit this role by its derived ARN; its
        alarms (findings, DLQ) to this account's alerts topic, as alarms must."""
        props, identity, names = self.props, self.identity, self.names
        state_key = ValidatorStateKey(self, "ValidatorState", identity=identity)
        table = ValidatorsTable(self, "ValidatorsTable", key=state_key.key).table
        return PostureWatcher(
            self, "PostureWatcher", identity=identity, state_key=state_key, table=table,
            alerts_topic=sns.Topic.from_topic_arn(self, "LogArchiveAlerts", names.alerts_topic_arn),
            alerts_key_arn=f"arn:{names.partition}:kms:{names.region}:{names.log_archive_account_id}:key/*",
            function_key=self.key, check_interval=Duration.minutes(props.posture_check_minutes),
            auto_restart_logging=props.auto_restart_logging, watch_trail=True,
            expected_selectors=api_selectors(event_selectors(props, [self.trail_bucket, self.access_log_bucket])),
            log_group_name=identity.log_group_name if self.log_group else None,
            role_name=posture_role_name(identity.trail_name), alarm_topic=self.alerts_topic)

    @property
    def trail_arn(self) -> str:
        return self.names.trail_arn


class LogArchiveStack(Stack):
    """Deploy to the Log Archive account (``env`` account = ``log_archive_account_id``).
    ``trail_account_id``: the Trail stack's account, @default the management account."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SecureTrailProps,
                 trail_account_id: str | None = None, **stack_kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="secure-trail: Log Archive (trail buckets, log key, "
                         "validators) of an organization CloudTrail", **stack_kwargs)
        self.log_archive = SecureTrailLogArchive(self, "SecureTrail", props=props, trail_account_id=trail_account_id)


class TrailStack(Stack):
    """Deploy to the management (or delegated administrator) account, after the Log Archive
    stack: CloudTrail checks the bucket and key policies when it creates the trail."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SecureTrailProps,
                 **stack_kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="secure-trail: organization CloudTrail writing to "
                         "the Log Archive account", **stack_kwargs)
        self.org_trail = SecureTrailOrgTrail(self, "SecureTrail", props=props)


def organization_stacks(scope: Construct, *, props: SecureTrailProps, region: str,
                        trail_account_id: str | None = None, log_archive_region: str | None = None,
                        log_archive_stack_name: str = "SecureTrailLogArchive",
                        trail_stack_name: str = "SecureTrailTrail") -> tuple[LogArchiveStack, TrailStack]:
    """Both stacks with their environments; the Trail stack depends on the Log Archive stack
    (deploy order only: ``cdk deploy --all`` deploys the Log Archive first; no export).
    ``trail_account_id``: @default ``props.management_account_id`` (give a delegated
    administrator's id here). ``log_archive_region``: @default ``region``; it must be ``region``
    (the key, the bucket and the trail share one region)."""
    props = _organization_props(props, "organization_stacks")
    if not region or Token.is_unresolved(region):
        raise SecureTrailConfigError("region: the organization shape needs the home region (context "
                                     "homeRegion, e.g. -c homeRegion=eu-west-1).")
    if log_archive_region is not None and log_archive_region != region:
        raise SecureTrailConfigError(
            f"log_archive_region: {log_archive_region!r} is not the trail's home region {region!r}; "
            "CloudTrail needs the key and the bucket in the trail's region: deploy both stacks to one region.")
    log_archive = LogArchiveStack(scope, log_archive_stack_name, props=props, trail_account_id=trail_account_id, env={
        "account": props.log_archive_account_id, "region": region})
    trail = TrailStack(scope, trail_stack_name, props=props, env={
        "account": trail_account_id or props.management_account_id, "region": region})
    trail.add_stack_dependency(log_archive, "CloudTrail checks the Log Archive's bucket and key policies at creation")
    return log_archive, trail
