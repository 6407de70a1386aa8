"""SecureTrail: an organization trail an auditor can trust, composed of small parts."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Sequence

from aws_cdk import Duration, Stack
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
from ..props import ObjectLock, SecureTrailConfigError, SecureTrailProps
from ..props.analytics import AnalyticsProps
from ..props.event_selectors import AdvancedEventSelector, InsightType
from ..validators.access_logs import AccessLogAuditor
from ..validators.digests import DigestValidator
from ..validators.posture import PostureWatcher
from ..validators.trail_watch import TrailWatch
from .compose import compose, grant_read_logs
from .metric_methods import LogMetricMethods



class SecureTrail(LogMetricMethods, Construct):
    """Organization trail, its key, buckets, topics and (by default) log group, and the
    validators that keep proving it.

    Configure it with keyword arguments, as any aws-cdk-lib construct::

        SecureTrail(stack, "OrgTrail", org_id="o-a1b2c3d4e5", trail_name="org-trail")

    or with a ``SecureTrailProps`` passed as ``props`` (not both). The keyword arguments are
    the fields of ``SecureTrailProps``, which documents each one and its default (``None``
    here means: that default).
    """

    key: kms.IKey
    trail_bucket: s3.IBucket
    """The bucket created, or the one given as ``bucket``."""
    access_log_bucket: s3.IBucket | None
    """None with an existing ``bucket`` (its access logs are its owner's)."""
    delivery_topic: sns.ITopic
    alerts_topic: sns.Topic
    trail: cloudtrail.CfnTrail
    log_group: logs.ILogGroup | None
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
    names: DeploymentNames
    validator_state_key: kms.Key | None
    posture_watcher: PostureWatcher | None
    """None with ``watch_posture=False``."""
    trail_watch: TrailWatch | None
    """The trail bucket's object events judged within minutes; None with ``validate_digests=False``."""
    monitoring: Monitoring
    """The CIS alarms, the alerts topic's subscriptions and the dashboard."""

    def __init__(
        self, scope: Construct, construct_id: str, props: SecureTrailProps | None = None, *,
        org_id: str | None = None, trail_name: str | None = None,
        management_account_id: str | None = None, log_archive_account_id: str | None = None, s3_key_prefix: str | None = None,
        key: kms.IKey | None = None, bucket: s3.IBucket | None = None, sns_topic: sns.ITopic | None = None,
        cloud_watch_log_group: logs.ILogGroup | None = None, cloud_watch_logs_role: iam.IRole | None = None,
        log_reader_arns: Sequence[str] | None = None,
        log_transition_days: int | None = None,
        log_transition_storage_class: s3.StorageClass | None = None,
        log_expiration_days: int | None = None, noncurrent_version_expiration_days: int | None = None,
        access_log_expiration_days: int | None = None, object_lock: ObjectLock | None = None,
        access_log_object_lock: ObjectLock | None = None, cloud_watch_logs: bool | None = None,
        cloud_watch_logs_retention: logs.RetentionDays | None = None, insights: bool | None = None,
        s3_data_events: bool | None = None, lambda_data_events: bool | None = None,
        advanced_event_selectors: Sequence[AdvancedEventSelector] | None = None,
        insight_types: Sequence[InsightType] | None = None,
        validate_digests: bool | None = None, strict_digest_validation: bool | None = None,
        revalidation_days: int | None = None, backfill_concurrency: int | None = None,
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
        self.props = props
        self.identity = identity = TrailIdentity.of(Stack.of(self), props)
        # The trail bucket has a derived name: the key policy names its ARN for the readers'
        # S3 Bucket Key form (a token of the bucket would make the key depend on the bucket).
        self.names = identity.deployment_names()
        parts = compose(self, props=props, identity=identity, names=self.names, holds_logs=True, holds_trail=True)
        self.key = parts.key
        self.trail_bucket = parts.trail_bucket
        self.access_log_bucket = parts.access_log_bucket
        self.delivery_topic = parts.delivery_topic
        self.alerts_topic = parts.alerts_topic
        self.log_group = parts.log_group
        self.trail = parts.trail
        self.validator_state_key = parts.validators.state_key
        self.validators_table = parts.validators.table
        self.digest_validator = parts.validators.digest_validator
        self.access_log_auditor = parts.validators.access_log_auditor
        self.posture_watcher = parts.validators.posture_watcher
        self.trail_watch = parts.validators.trail_watch
        self.analytics = parts.analytics
        self.monitoring = parts.monitoring

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


_PROP_NAMES = frozenset(field.name for field in fields(SecureTrailProps))


def _props(props: SecureTrailProps | None, keywords: dict[str, Any], what: str = "SecureTrail") -> SecureTrailProps:
    """The keyword arguments (those given) as props, or the props passed as one object."""
    unknown = sorted(set(keywords) - _PROP_NAMES)
    if unknown:
        raise TypeError(f"{what}: unexpected keyword argument {', '.join(unknown)}; the keyword arguments are "
                        f"the fields of SecureTrailProps ({', '.join(f.name for f in fields(SecureTrailProps))}).")
    given = {name: value for name, value in keywords.items() if value is not None}
    if props is not None:
        if given:
            raise TypeError(f"{what}: pass either props or keyword arguments, not both "
                            f"(got props and {', '.join(sorted(given))}).")
        return props
    if "org_id" not in given:
        raise TypeError(f"{what}: missing the keyword argument org_id (e.g. org_id=\"o-a1b2c3d4e5\").")
    return SecureTrailProps(**given)


class SecureTrailStack(Stack):
    """The deployable stack: one SecureTrail, e.g. configured from CDK context (``app.py``)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SecureTrailProps,
                 **stack_kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="secure-trail: organization CloudTrail "
                         "with validated integrity and TLS evidence", **stack_kwargs)
        self.secure_trail = SecureTrail(self, "SecureTrail", props)
