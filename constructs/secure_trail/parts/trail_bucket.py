"""The trail-log bucket and the bucket policy CloudTrail writes through."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..compliance import acknowledge_control, acknowledge_each_pack
from ..names import TrailIdentity
from ..props import ObjectLock
from .access_log_bucket import MINIMUM_TLS_VERSION

CLOUDTRAIL = iam.ServicePrincipal("cloudtrail.amazonaws.com")
ACCESS_LOG_PREFIX = "trail-bucket/"


class TrailBucket(Construct):
    """SSE-KMS with a bucket key, private, versioned, TLS 1.2+ only, server access logs
    on, object events to EventBridge; CloudTrail may only read its ACL and write its own prefixes, as this trail."""

    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity, key: kms.IKey,
                 access_log_bucket: s3.IBucket, transition_days: int, transition_storage_class: s3.StorageClass,
                 expiration_days: int, noncurrent_version_expiration_days: int, object_lock: ObjectLock | None = None,
                 bucket_name: str | None = None) -> None:
        """``bucket_name``: the derived name (``names.deployment_names``) that key policies
        and the other stack of the organization shape name it by. The rest: as the props of
        the same names (``log_transition_days`` ...) say."""
        super().__init__(scope, construct_id)
        lock = object_lock
        self.bucket = s3.Bucket(
            self, "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=MINIMUM_TLS_VERSION,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix=ACCESS_LOG_PREFIX,
            removal_policy=RemovalPolicy.RETAIN,
            object_lock_enabled=lock is not None or None,
            object_lock_default_retention=_retention(lock),
            lifecycle_rules=[s3.LifecycleRule(
                id="TransitionThenExpireTrailLogs",
                transitions=[s3.Transition(storage_class=transition_storage_class,
                                           transition_after=Duration.days(transition_days))],
                expiration=Duration.days(expiration_days),
                noncurrent_version_expiration=Duration.days(noncurrent_version_expiration_days),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )],
        )
        # Object events go to EventBridge (AWS service events on the default bus cost nothing):
        # the trail watch judges each one within minutes. On the L1 bucket, as the access-log
        # bucket's (CDK's helper would deploy a custom-resource Lambda for this one property).
        cfn_bucket = self.bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True))
        trail_source = {"aws:SourceArn": identity.trail_arn}
        self.bucket.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudTrailAclCheck", principals=[CLOUDTRAIL], actions=["s3:GetBucketAcl"],
            resources=[self.bucket.bucket_arn], conditions={"StringEquals": trail_source}))
        self.bucket.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudTrailWrite", principals=[CLOUDTRAIL], actions=["s3:PutObject"],
            resources=[self.bucket.arn_for_objects(f"{prefix}*")
                       for prefix in identity.log_object_prefixes()],
            conditions={"StringEquals": {**trail_source,
                                         "s3:x-amz-acl": "bucket-owner-full-control"}}))
        acknowledge_each_pack(self.bucket, "S3BucketReplicationEnabled",
                              "Replication needs a destination bucket and key in another region or "
                              "account that this package does not own; versioning, RETAIN, "
                              "optional Object Lock and the digest validator protect the logs here.")
        if lock is None:
            acknowledge_control(self.bucket, "CT.S3.PR.9",
                                "Object Lock is opt-in (object_lock): it can never be turned off, and its "
                                "default retention keeps every log from deletion (in compliance mode by "
                                "anyone, root included), a choice for the owner; without it the bucket is "
                                "versioned and retained, and log file validation, the digest validator "
                                "and the trail watch report any changed or deleted log.")

    @property
    def policy(self) -> s3.BucketPolicy:
        assert self.bucket.policy is not None  # add_to_resource_policy created it
        return self.bucket.policy


def _retention(lock: ObjectLock | None) -> s3.ObjectLockRetention | None:
    if lock is None:
        return None
    mode = s3.ObjectLockRetention.compliance if lock.mode.value == "COMPLIANCE" else s3.ObjectLockRetention.governance
    return mode(Duration.days(lock.retention_days))
