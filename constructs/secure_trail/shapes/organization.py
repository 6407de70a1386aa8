"""The organization shape: a Log Archive stack and a Trail stack in two accounts.

Log Archive account (``LogArchiveStack``): trail bucket, access-log bucket, the log key,
the digest validator and access-log auditor (their table, queues, alarms, state key) and
the alerts topic. Trail account (``TrailStack``: the management account, or a delegated
administrator): the organization trail, its delivery topic, its CloudWatch Logs group and
the key of both, and the role CloudTrail writes the group with.

No export or cross-stack reference joins them: each side names the other's resources by
``names.deployment_names``.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Token
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..analytics import TrailAnalytics
from ..monitoring import Monitoring
from ..names import DeploymentNames, TrailIdentity
from ..props import SecureTrailConfigError, SecureTrailProps
from ..validators.access_logs import AccessLogAuditor
from ..validators.digests import DigestValidator
from ..validators.posture import PostureWatcher
from ..parts.guardrails import Guardrails, GuardrailsProps
from ..validators.trail_watch import TrailWatch
from .compose import compose, grant_read_logs
from .metric_methods import LogMetricMethods, PostureMetricMethods
from .single import _props


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


class SecureTrailLogArchive(LogMetricMethods, Construct):
    """The Log Archive account's half: where the logs are kept and proven. Its ``metric_*``
    methods are ``SecureTrail``'s: the digest validator, access-log auditor and posture
    watcher run here (their metrics are in this account)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SecureTrailProps,
                 trail_account_id: str | None = None) -> None:
        """``trail_account_id``: the Trail stack's account, @default the management account
        (its posture watcher publishes to the alerts topic here)."""
        super().__init__(scope, construct_id)
        props = _organization_props(props, "the Log Archive stack")
        stack = Stack.of(self)
        _concrete_region(stack, "log_archive_account_id")
        if not Token.is_unresolved(stack.account) and stack.account != props.log_archive_account_id:
            raise SecureTrailConfigError(
                f"log_archive_account_id: {props.log_archive_account_id!r} is not the account of the Log "
                f"Archive stack ({stack.account}); deploy LogArchiveStack with "
                f"env=Environment(account={props.log_archive_account_id!r}).")
        self.props = props
        self.identity = identity = TrailIdentity.of(stack, props)
        self.names: DeploymentNames = identity.deployment_names(
            log_archive_account_id=props.log_archive_account_id, trail_account_id=trail_account_id)
        parts = compose(self, props=props, identity=identity, names=self.names, holds_logs=True, holds_trail=False,
                        trail_account_id=trail_account_id)
        self.key: kms.IKey = parts.key
        self.access_log_bucket: s3.Bucket = parts.access_log_bucket
        self.trail_bucket: s3.Bucket = parts.trail_bucket
        self.alerts_topic: sns.Topic = parts.alerts_topic
        self.validator_state_key: kms.Key | None = parts.validators.state_key
        self.validators_table: dynamodb.Table | None = parts.validators.table
        self.digest_validator: DigestValidator | None = parts.validators.digest_validator
        self.access_log_auditor: AccessLogAuditor | None = parts.validators.access_log_auditor
        self.trail_watch: TrailWatch | None = parts.validators.trail_watch
        self.posture_watcher: PostureWatcher | None = parts.validators.posture_watcher
        """Bucket and key calls, key state and bucket policies (the trail's own are watched
        in the trail's account)."""
        self.monitoring: Monitoring = parts.monitoring

    def grant_read_logs(self, grantee: iam.IGrantable) -> iam.Grant:
        """As ``SecureTrail.grant_read_logs``: list and read ``[prefix/]AWSLogs/`` and decrypt
        under CloudTrail's context or through S3 for this bucket only."""
        return grant_read_logs(grantee, bucket=self.trail_bucket, key=self.key, identity=self.identity,
                               bucket_arn=self.names.trail_bucket_arn)


class SecureTrailOrgTrail(PostureMetricMethods, Construct):
    """The trail account's half: the organization trail and what delivers and watches it.
    Only the posture watcher runs here: ``metric_posture_findings`` (its metrics are in this
    account); the log readers' grant is the Log Archive's ``grant_read_logs``."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SecureTrailProps,
                 guardrails: GuardrailsProps | None = None) -> None:
        """``guardrails``: the service (and resource) control policies, @default None (none)."""
        super().__init__(scope, construct_id)
        props = _organization_props(props, "the Trail stack")
        stack = Stack.of(self)
        _concrete_region(stack, "log_archive_account_id")
        if not Token.is_unresolved(stack.account) and stack.account == props.log_archive_account_id:
            raise SecureTrailConfigError(
                f"log_archive_account_id: {props.log_archive_account_id!r} is also the Trail stack's account; "
                "deploy TrailStack to the management (or delegated administrator) account, or leave "
                "log_archive_account_id unset for the single-stack shape.")
        self.props = props
        self.identity = identity = TrailIdentity.of(stack, props)
        self.names: DeploymentNames = identity.deployment_names(
            log_archive_account_id=props.log_archive_account_id, trail_account_id=identity.account)
        parts = compose(self, props=props, identity=identity, names=self.names, holds_logs=False, holds_trail=True)
        self.key: kms.IKey = parts.key
        self.delivery_topic: sns.Topic = parts.delivery_topic
        self.alerts_topic: sns.Topic | None = parts.alerts_topic
        """This account's alerts topic (CloudWatch alarms notify only topics of their own
        account), with the Log Archive's subscribers; None when nothing here alarms."""
        self.log_group: logs.LogGroup | None = parts.log_group
        self.trail_bucket: s3.IBucket = parts.trail_bucket
        """The Log Archive's bucket, by its derived name."""
        self.access_log_bucket: s3.IBucket = parts.access_log_bucket
        self.trail: cloudtrail.CfnTrail = parts.trail
        self.posture_watcher: PostureWatcher | None = parts.validators.posture_watcher
        """The trail's and the log group's calls and the trail's status, watched here; its
        alerts to the Log Archive's alerts topic (the one the subscribers hear), whose policies
        admit this role by its derived ARN; its alarms to this account's alerts topic."""
        self.analytics: TrailAnalytics | None = parts.analytics
        self.monitoring: Monitoring = parts.monitoring
        self.guardrails: Guardrails | None = (
            None if guardrails is None else Guardrails(self, "Guardrails", props=guardrails, names=self.names))

    @property
    def trail_arn(self) -> str:
        return self.identity.trail_arn


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
                 guardrails: GuardrailsProps | None = None, **stack_kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="secure-trail: organization CloudTrail writing to "
                         "the Log Archive account", **stack_kwargs)
        self.org_trail = SecureTrailOrgTrail(self, "SecureTrail", props=props, guardrails=guardrails)


def organization_stacks(scope: Construct, props: SecureTrailProps | None = None, *, region: str,
                        trail_account_id: str | None = None, log_archive_region: str | None = None,
                        log_archive_stack_name: str = "SecureTrailLogArchive",
                        trail_stack_name: str = "SecureTrailTrail",
                        guardrails: GuardrailsProps | None = None,
                        **keywords: Any) -> tuple[LogArchiveStack, TrailStack]:
    """Both stacks with their environments; the Trail stack depends on the Log Archive stack
    (deploy order only: ``cdk deploy --all`` deploys the Log Archive first; no export).

    Configure it with keyword arguments, as ``SecureTrail``::

        log_archive, trail = organization_stacks(
            app, org_id="o-a1b2c3d4e5", log_archive_account_id="222222222222",
            management_account_id="111111111111", region="eu-west-1",
            alert_subscriptions=["security@example.com"])

    ``keywords``: the fields of ``SecureTrailProps`` (``org_id``, ``log_archive_account_id``
    and ``management_account_id`` required), or a ``SecureTrailProps`` as ``props`` (not both).
    ``trail_account_id``: @default ``management_account_id`` (give a delegated
    administrator's id here). ``guardrails``: @default None (no control policies; in the
    Trail stack, which must then be the management account). ``log_archive_region``:
    @default ``region``; it must be ``region``
    (the key, the bucket and the trail share one region)."""
    props = _props(props, keywords, "organization_stacks")
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
    trail = TrailStack(scope, trail_stack_name, props=props, guardrails=guardrails, env={
        "account": trail_account_id or props.management_account_id, "region": region})
    trail.add_stack_dependency(log_archive, "CloudTrail checks the Log Archive's bucket and key policies at creation")
    return log_archive, trail
