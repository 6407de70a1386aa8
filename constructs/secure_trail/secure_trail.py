"""SecureTrail: an organization trail an auditor can trust, composed of small parts."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct
from trail_validators.contract import ACCESS_LOG_AUDITOR, DIGEST_PLANNER, DIGEST_VALIDATOR

from .access_log_auditor import AccessLogAuditor
from .access_log_bucket import AccessLogBucket
from .digest_validator import DigestValidator
from .identity import TrailIdentity
from .key import TrailKey
from .log_group import TrailLogGroup
from .org_trail import OrgTrail
from .props import SecureTrailProps
from .state_key import ValidatorStateKey
from .topics import TrailTopics
from .trail_bucket import TrailBucket
from .validators_table import ValidatorsTable


S3_ACCESS_LOGS_BY_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


class SecureTrail(Construct):
    """Organization trail, its key, buckets, topics and (by default) log group."""

    key: kms.IKey
    trail_bucket: s3.Bucket
    access_log_bucket: s3.Bucket
    delivery_topic: sns.Topic
    alerts_topic: sns.Topic
    trail: cloudtrail.CfnTrail
    log_group: logs.LogGroup | None

    def __init__(self, scope: Construct, construct_id: str, props: SecureTrailProps) -> None:
        super().__init__(scope, construct_id)
        props.validate()
        # Whatever flags the enclosing app has: access logs are granted by bucket policy to
        # logging.s3.amazonaws.com (the legacy LogDeliveryWrite ACL is incompatible with
        # BucketOwnerEnforced).
        self.node.set_context(S3_ACCESS_LOGS_BY_BUCKET_POLICY, True)
        self.props = props
        self.identity = identity = TrailIdentity.of(Stack.of(self), props)

        validator_roles = (([ACCESS_LOG_AUDITOR] if props.audit_access_logs else [])
                           + ([DIGEST_PLANNER, DIGEST_VALIDATOR] if props.validate_digests else []))
        log_group_names = ([identity.log_group_name] if props.cloud_watch_logs else []) + [
            identity.function_log_group_name(role) for role in validator_roles]
        key = TrailKey(self, "Key", identity=identity, existing_key=props.key,
                       log_reader_arns=props.log_reader_arns,
                       topic_names=[identity.delivery_topic_name, identity.alerts_topic_name],
                       log_group_names=log_group_names,
                       alarm_topic_name=identity.alerts_topic_name if validator_roles else None)
        self.key = key.key
        self.access_log_bucket = AccessLogBucket(
            self, "AccessLogs", expiration_days=props.access_log_expiration_days,
            noncurrent_version_expiration_days=props.noncurrent_version_expiration_days).bucket
        trail_bucket = TrailBucket(self, "TrailLogs", identity=identity, props=props,
                                   key=self.key, access_log_bucket=self.access_log_bucket)
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
        # CloudTrail checks the bucket, key and topic policies (and the log role) when the
        # trail is created: they must exist first.
        for policy_holder in (trail_bucket.policy, self.key, self.delivery_topic, log_group):
            if policy_holder is not None:
                self.trail.node.add_dependency(policy_holder)

        self.validator_state_key: kms.Key | None = None
        self.validators_table: dynamodb.Table | None = None
        self.access_log_auditor: AccessLogAuditor | None = None
        self.digest_validator: DigestValidator | None = None
        if validator_roles:
            state_key = ValidatorStateKey(self, "ValidatorState", identity=identity)
            self.validator_state_key = state_key.key
            self.validators_table = ValidatorsTable(self, "ValidatorsTable", key=state_key.key).table
        if props.validate_digests:
            self.digest_validator = DigestValidator(
                self, "DigestValidator", identity=identity, trail_bucket=self.trail_bucket, key=self.key,
                state_key=state_key, alerts_topic=self.alerts_topic, table=self.validators_table,
                strict=props.strict_digest_validation)
        if props.audit_access_logs:
            self.access_log_auditor = AccessLogAuditor(
                self, "AccessLogAuditor", identity=identity,
                access_log_bucket=self.access_log_bucket, audited_bucket=self.trail_bucket, key=self.key,
                state_key=state_key, alerts_topic=self.alerts_topic, table=self.validators_table,
                min_tls_version=props.min_tls_version, expected_principals=props.expected_principals)

    @property
    def trail_arn(self) -> str:
        return self.identity.trail_arn
