"""SecureTrail: an organization trail an auditor can trust, composed of small parts."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Sequence

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_cloudwatch as cloudwatch
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
from ..props.analytics import AnalyticsProps
from ..contract import AccessLogMetrics, DigestMetrics, Metric, PostureMetrics
from ..validators.digests import DigestValidator
from ..names import TrailIdentity
from ..parts.key import TrailKey, reader_decrypt_conditions
from ..parts.log_group import TrailLogGroup
from ..metrics import contract_metric
from ..monitoring import Monitoring, add_monitoring, cis_alarms_wanted
from ..parts.trail import OrgTrail, event_selectors
from ..validators.posture import PostureWatcher, api_selectors
from ..props import ObjectLock, SecureTrailConfigError, SecureTrailProps
from ..names import deployment_names
from ..parts.topics import TrailTopics
from ..parts.trail_bucket import TrailBucket
from ..validators import add_validators, validator_roles

S3_ACCESS_LOGS_BY_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


class SecureTrail(Construct):
    """Organization trail, its key, buckets, topics and (by default) log group, and the
    validators that keep proving it.

    Configure it with keyword arguments, as any aws-cdk-lib construct::

        SecureTrail(stack, "OrgTrail", org_id="o-a1b2c3d4e5", trail_name="org-trail")

    or with a ``SecureTrailProps`` passed as ``props`` (not both). The keyword arguments are
    the fields of ``SecureTrailProps``, which documents each one and its default (``None``
    here means: that default).
    """

    key: kms.IKey
    trail_bucket: s3.Bucket
    access_log_bucket: s3.Bucket
    delivery_topic: sns.Topic
    alerts_topic: sns.Topic
    trail: cloudtrail.CfnTrail
    log_group: logs.LogGroup | None
    props: SecureTrailProps
    """The props in force, defaults filled in."""
    identity: TrailIdentity
    """Every name and ARN the trail's policies use."""
    validators_table: dynamodb.Table | None
    """Checkpoints and once-only markers of the validators; None with both validators off."""
    digest_validator: DigestValidator | None
    """None with ``validate_digests=False``."""
    access_log_auditor: AccessLogAuditor | None
    """None with ``audit_access_logs=False``."""
    analytics: TrailAnalytics | None
    """The CloudWatch Logs -> OpenSearch enrichment; None unless ``analytics`` is set."""

    def __init__(
        self, scope: Construct, construct_id: str, props: SecureTrailProps | None = None, *,
        org_id: str | None = None, trail_name: str | None = None,
        management_account_id: str | None = None, log_archive_account_id: str | None = None, s3_key_prefix: str | None = None,
        key: kms.IKey | None = None, log_reader_arns: Sequence[str] | None = None,
        log_transition_days: int | None = None,
        log_transition_storage_class: s3.StorageClass | None = None,
        log_expiration_days: int | None = None, noncurrent_version_expiration_days: int | None = None,
        access_log_expiration_days: int | None = None, object_lock: ObjectLock | None = None,
        access_log_object_lock: ObjectLock | None = None, cloud_watch_logs: bool | None = None,
        cloud_watch_logs_retention: logs.RetentionDays | None = None, insights: bool | None = None,
        s3_data_events: bool | None = None, lambda_data_events: bool | None = None,
        validate_digests: bool | None = None, strict_digest_validation: bool | None = None,
        audit_access_logs: bool | None = None,
        min_tls_version: str | None = None, expected_principals: Sequence[str] | None = None,
        watch_posture: bool | None = None, posture_check_interval: Duration | int | None = None,
        auto_restart_logging: bool | None = None,
        analytics: AnalyticsProps | None = None,
        alert_subscriptions: Sequence[str] | None = None, disabled_monitoring_controls: Sequence[str] | None = None,
        dashboard: bool | None = None,
    ) -> None:
        props = _props(props, {name: value for name, value in locals().items() if name in _PROP_NAMES})
        super().__init__(scope, construct_id)
        props.validate()
        if props.log_archive_account_id is not None:
            raise SecureTrailConfigError(
                f"log_archive_account_id: {props.log_archive_account_id!r} selects the organization shape, "
                "which is two stacks in two accounts: use LogArchiveStack and TrailStack (or "
                "secure_trail.organization_stacks), not SecureTrail; or leave it unset for one stack.")
        # Whatever flags the enclosing app has: access logs are granted by bucket policy to
        # logging.s3.amazonaws.com (the legacy LogDeliveryWrite ACL is incompatible with
        # BucketOwnerEnforced).
        self.node.set_context(S3_ACCESS_LOGS_BY_BUCKET_POLICY, True)
        self.props = props
        self.identity = identity = TrailIdentity.of(Stack.of(self), props)
        # The trail bucket has a derived name: the key policy names its ARN for the readers'
        # S3 Bucket Key form (a token of the bucket would make the key depend on the bucket).
        self.names = names = deployment_names(
            org_id=props.org_id, trail_name=props.trail_name, region=identity.home_region,
            management_account_id=identity.management_account_id, log_archive_account_id=identity.account)

        roles = validator_roles(props)
        log_group_names = ([identity.log_group_name] if props.cloud_watch_logs else []) + [
            identity.function_log_group_name(role) for role in roles]
        key = TrailKey(self, "Key", identity=identity, existing_key=props.key,
                       log_reader_arns=props.log_reader_arns,
                       topic_names=[identity.delivery_topic_name, identity.alerts_topic_name],
                       log_group_names=log_group_names,
                       alarm_topic_name=identity.alerts_topic_name if roles or props.analytics or cis_alarms_wanted(props) else None,
                       trail_bucket_arn=names.trail_bucket_arn)
        self.key = key.key
        self.access_log_bucket = AccessLogBucket(
            self, "AccessLogs", expiration_days=props.access_log_expiration_days,
            noncurrent_version_expiration_days=props.noncurrent_version_expiration_days).bucket
        trail_bucket = TrailBucket(self, "TrailLogs", identity=identity, props=props,
                                   key=self.key, access_log_bucket=self.access_log_bucket,
                                   bucket_name=names.trail_bucket_name)
        self.trail_bucket = trail_bucket.bucket
        topics = TrailTopics(self, "Topics", identity=identity, key=self.key)
        self.delivery_topic, self.alerts_topic = topics.delivery, topics.alerts

        log_group = (TrailLogGroup(self, "CloudWatchLogs", identity=identity, key=self.key,
                                   retention=props.cloud_watch_logs_retention)
                     if props.cloud_watch_logs else None)
        self.log_group = log_group.log_group if log_group else None

        org_trail = OrgTrail(
            self, "Trail", identity=identity, props=props, bucket=self.trail_bucket,
            key_arn=self.key.key_arn, delivery_topic_arn=self.delivery_topic.topic_arn,
            log_group_arn=self.log_group.log_group_arn if self.log_group else None,
            log_role_arn=log_group.role.role_arn if log_group else None,
            log_buckets=[self.trail_bucket, self.access_log_bucket])
        self.trail = org_trail.trail
        # CloudTrail checks the bucket, key and topic policies (and the log role's) when the
        # trail is created: they must exist first. The key (whose policy is part of it), the
        # topic, the log group and the role are referenced by the trail already.
        for policy in (trail_bucket.policy, self.delivery_topic.node.find_child("Policy"),
                       log_group.policy if log_group else None):
            if policy is not None:
                self.trail.node.add_dependency(policy)

        validators = add_validators(self, identity=identity, props=props, key=self.key,
                                    trail_bucket=self.trail_bucket, access_log_bucket=self.access_log_bucket,
                                    alerts_topic=self.alerts_topic,
                                    log_group_name=identity.log_group_name if self.log_group else None,
                                    expected_selectors=api_selectors(event_selectors(
                                        props, [self.trail_bucket, self.access_log_bucket])))
        self.validator_state_key: kms.Key | None = validators.state_key
        self.validators_table: dynamodb.Table | None = validators.table
        self.digest_validator: DigestValidator | None = validators.digest_validator
        self.access_log_auditor: AccessLogAuditor | None = validators.access_log_auditor
        self.posture_watcher: PostureWatcher | None = validators.posture_watcher
        self.analytics: TrailAnalytics | None = (
            TrailAnalytics(self, "Analytics", identity=identity, props=props.analytics, log_group=self.log_group,
                           alerts_topic=self.alerts_topic) if props.analytics and self.log_group else None)
        self.monitoring: Monitoring = add_monitoring(
            self, props=props, identity=identity, alerts_topic=self.alerts_topic, log_group=self.log_group,
            delivery_topic=self.delivery_topic, validators=validators, analytics=self.analytics)

    @property
    def trail_arn(self) -> str:
        """``arn:<partition>:cloudtrail:<home-region>:<management-account>:trail/<name>``,
        built from props (never a token of the trail), as CloudTrail presents it."""
        return self.identity.trail_arn

    def grant_read_logs(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` list and read what CloudTrail delivers (``[prefix/]AWSLogs/``) and
        decrypt it, under CloudTrail's encryption context or through S3 for this bucket (the
        S3 Bucket Key form): the same ``kms:Decrypt`` that ``log_reader_arns`` get, and what
        the digest validator uses.

        Use this rather than ``trail_bucket.grant_read()``, whose ``kms:Decrypt`` has no
        condition and so opens everything else the key encrypts (topics, log groups).
        A grantee of another account also gets the bucket and key policy statements.
        """
        return grant_read_logs(grantee, bucket=self.trail_bucket, key=self.key, identity=self.identity,
                               bucket_arn=self.names.trail_bucket_arn)

    def metric_tampering_findings(self, **options: Any) -> cloudwatch.Metric:
        """Digest-chain findings that mean tampering (a bad signature or chain link, a missing,
        modified or injected object) per 5 minutes; any value above 0 needs an investigation.
        ``options``: any ``MetricOptions`` (``period``, ``statistic``, ``label`` ...)."""
        return self._validator_metric(DigestMetrics.TAMPERING_FINDINGS, "validate_digests", options)

    def metric_chain_gaps(self, **options: Any) -> cloudwatch.Metric:
        """Digest chains that restarted (logging or validation stopped and started again)."""
        return self._validator_metric(DigestMetrics.CHAIN_GAPS, "validate_digests", options)

    def metric_digests_validated(self, **options: Any) -> cloudwatch.Metric:
        """Digests that verified: a flat zero over hours means the validator examines nothing."""
        return self._validator_metric(DigestMetrics.DIGESTS_VALID, "validate_digests", options)

    def metric_non_tls_successes(self, **options: Any) -> cloudwatch.Metric:
        """Requests that reached the trail bucket without TLS and succeeded (the access-log
        auditor's critical finding)."""
        return self._validator_metric(AccessLogMetrics.NON_TLS_SUCCESS, "audit_access_logs", options)

    def metric_unparseable_access_log_lines(self, **options: Any) -> cloudwatch.Metric:
        """Access-log lines the auditor could not parse with certainty (never counted as TLS)."""
        return self._validator_metric(AccessLogMetrics.UNPARSEABLE_LINES, "audit_access_logs", options)

    def metric_requests_by_tls_version(self, tls_version: str, **options: Any) -> cloudwatch.Metric:
        """Requests to the trail bucket over ``tls_version`` (``TLSv1`` ... ``TLSv1.3``), or
        without TLS for ``"-"``, as the access-log auditor counted them."""
        return self._validator_metric(AccessLogMetrics.requests(tls_version), "audit_access_logs", options)

    def metric_posture_findings(self, **options: Any) -> cloudwatch.Metric:
        """Calls that weakened the trail, its buckets, key or log group, and conditions the
        scheduled posture check found appearing (the posture watcher's alarm metric)."""
        return self._validator_metric(PostureMetrics.FINDINGS, "watch_posture", options)

    def _validator_metric(self, metric: Metric, enabled_by: str, options: dict[str, Any]) -> cloudwatch.Metric:
        if not getattr(self.props, enabled_by):
            raise SecureTrailConfigError(f"{enabled_by} is False: no validator emits {metric.name}; "
                                         f"turn {enabled_by} on to use this metric.")
        return contract_metric(metric, **options)


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
    return grant


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


_PROP_NAMES = frozenset(field.name for field in fields(SecureTrailProps))


def _props(props: SecureTrailProps | None, keywords: dict[str, Any]) -> SecureTrailProps:
    """The keyword arguments (those given) as props, or the props passed as one object."""
    given = {name: value for name, value in keywords.items() if value is not None}
    if props is not None:
        if given:
            raise TypeError(f"SecureTrail: pass either props or keyword arguments, not both "
                            f"(got props and {', '.join(sorted(given))}).")
        return props
    if "org_id" not in given:
        raise TypeError("SecureTrail: missing the keyword argument org_id (e.g. org_id=\"o-a1b2c3d4e5\").")
    return SecureTrailProps(**given)


class SecureTrailStack(Stack):
    """The deployable stack: one SecureTrail, e.g. configured from CDK context (``app.py``)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SecureTrailProps,
                 **stack_kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="secure-trail: organization CloudTrail "
                         "with validated integrity and TLS evidence", **stack_kwargs)
        self.secure_trail = SecureTrail(self, "SecureTrail", props)
