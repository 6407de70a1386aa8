"""The server-access-log target bucket: where the TLS evidence of every request to the
trail bucket lands."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..compliance import acknowledge, acknowledge_control, acknowledge_each_pack

MINIMUM_TLS_VERSION = 1.2


class AccessLogBucket(Construct):
    """SSE-S3, private, versioned, TLS-only, no Object Lock default retention: the
    constraints S3 server access logging puts on a target bucket."""

    def __init__(self, scope: Construct, construct_id: str, *, expiration_days: int,
                 noncurrent_version_expiration_days: int, bucket_name: str | None = None) -> None:
        """``bucket_name``: @default generated; the organization shape gives the derived name
        the Trail stack's data-event selectors exclude."""
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self, "Bucket", bucket_name=bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=MINIMUM_TLS_VERSION,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(
                id="ExpireAccessLogs",
                expiration=Duration.days(expiration_days),
                noncurrent_version_expiration=Duration.days(noncurrent_version_expiration_days),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )],
        )
        no_logs_of_logs = ("This bucket is the server access log target of the trail bucket; "
                           "logging it into itself is not allowed and into another bucket "
                           "would never end.")
        acknowledge(self.bucket, "AwsSolutions-S1", no_logs_of_logs)
        acknowledge_each_pack(self.bucket, "S3BucketLoggingEnabled", no_logs_of_logs)
        acknowledge_control(self.bucket, "CT.S3.PR.2", no_logs_of_logs)
        sse_s3 = ("S3 server access logging delivers only to SSE-S3 target buckets; "
                  "SSE-KMS (customer managed keys) is not supported for the target.")
        acknowledge_each_pack(self.bucket, "S3DefaultEncryptionKMS", sse_s3)
        acknowledge_control(self.bucket, "CT.S3.PR.10", sse_s3)
        acknowledge_control(self.bucket, "CT.S3.PR.9",
                            "S3 server access logging does not deliver into a bucket with an Object Lock "
                            "default retention, so Object Lock here would hold nothing; the access logs are "
                            "versioned and retained, and the trail bucket takes Object Lock (object_lock).")
        acknowledge_each_pack(self.bucket, "S3BucketReplicationEnabled",
                              "Replication needs a destination in another region or account that "
                              "this package does not own; versioning and RETAIN protect the "
                              "evidence here, and a replica can be added by the owner.")
