"""The trail-log bucket and the only ways in: TLS 1.2+, and CloudTrail as this trail.
Every test runs on both shapes: the single stack, and the Log Archive stack of the
organization shape (the bucket in 222222222222, the trail in the management account)."""

import pytest
from conftest import (MANAGEMENT_ACCOUNT, ORG_ID, TRAIL_ARN, policy_statements, statement,
                      trail_key_id)


from shape_fixtures import single_or_log_archive_full_template, single_or_log_archive_template  # noqa: F401


@pytest.fixture(scope="module")
def bucket_statements(template):
    return policy_statements(template, "AWS::S3::BucketPolicy", "PolicyDocument", "TrailLogs")


@pytest.fixture(scope="module")
def TRAIL_BUCKET(template):  # noqa: N802 (was a constant before the organization shape)
    (logical_id,) = [k for k in template.find_resources("AWS::S3::Bucket") if "TrailLogs" in k]
    return f"<{logical_id}.Arn>"


def trail_bucket(template) -> dict:
    buckets = {k: v for k, v in template.find_resources("AWS::S3::Bucket").items() if "TrailLogs" in k}
    assert len(buckets) == 1
    return next(iter(buckets.values()))


def test_encrypted_with_the_trail_key_and_a_bucket_key(template):
    key_id = trail_key_id(template)
    sse = trail_bucket(template)["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse == [{"BucketKeyEnabled": True, "ServerSideEncryptionByDefault": {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]}}}]


def test_private_versioned_owner_enforced_and_retained(template):
    bucket = trail_bucket(template)
    assert bucket["DeletionPolicy"] == "Retain"
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_lifecycle_transitions_to_a_colder_class_then_expires(template):
    rule = trail_bucket(template)["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert rule["Transitions"] == [{"StorageClass": "GLACIER_IR", "TransitionInDays": 90}]
    assert rule["ExpirationInDays"] == 2557
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 365}


def test_server_access_logs_go_to_the_access_log_bucket(template):
    logging = trail_bucket(template)["Properties"]["LoggingConfiguration"]
    assert "AccessLogsBucket" in logging["DestinationBucketName"]["Ref"]


def test_denies_any_request_without_tls_on_bucket_and_objects(bucket_statements, TRAIL_BUCKET):
    deny = [s for s in bucket_statements if s["Effect"] == "Deny"
            and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
    assert len(deny) == 1
    assert deny[0]["Action"] == "s3:*" and deny[0]["Principal"] == {"AWS": "*"}
    assert deny[0]["Resource"] == [TRAIL_BUCKET, f"{TRAIL_BUCKET}/*"]


def test_denies_tls_older_than_1_2(bucket_statements, TRAIL_BUCKET):
    deny = [s for s in bucket_statements if s["Effect"] == "Deny"
            and s.get("Condition") == {"NumericLessThan": {"s3:TlsVersion": 1.2}}]
    assert len(deny) == 1 and deny[0]["Resource"] == [TRAIL_BUCKET, f"{TRAIL_BUCKET}/*"]


def test_cloudtrail_reads_the_acl_only_as_this_trail(bucket_statements, TRAIL_BUCKET):
    s = statement(bucket_statements, "CloudTrailAclCheck")
    assert s["Action"] == "s3:GetBucketAcl" and s["Resource"] == TRAIL_BUCKET
    assert s["Condition"] == {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}


def test_cloudtrail_writes_only_management_and_org_prefixes_as_this_trail(bucket_statements, TRAIL_BUCKET):
    s = statement(bucket_statements, "CloudTrailWrite")
    assert s["Action"] == "s3:PutObject"
    assert s["Resource"] == [f"{TRAIL_BUCKET}/AWSLogs/{MANAGEMENT_ACCOUNT}/*", f"{TRAIL_BUCKET}/AWSLogs/{ORG_ID}/*"]
    assert s["Condition"] == {"StringEquals": {"aws:SourceArn": TRAIL_ARN,
                                               "s3:x-amz-acl": "bucket-owner-full-control"}}


def test_key_prefix_is_honoured_in_the_write_grant(full_template):
    s = statement(policy_statements(full_template, "AWS::S3::BucketPolicy", "PolicyDocument", "TrailLogs"),
                  "CloudTrailWrite")
    assert [r.split("/", 1)[1] for r in s["Resource"]] == [
        f"org/trail/AWSLogs/{MANAGEMENT_ACCOUNT}/*", f"org/trail/AWSLogs/{ORG_ID}/*"]


def test_every_cloudtrail_allow_is_scoped_to_this_trail(bucket_statements):
    allows = [s for s in bucket_statements if s["Effect"] == "Allow"]
    assert allows and all(s["Condition"]["StringEquals"]["aws:SourceArn"] == TRAIL_ARN for s in allows)


def test_no_deny_unencrypted_upload_statement(bucket_statements):
    for s in bucket_statements:
        assert "s3:x-amz-server-side-encryption" not in str(s.get("Condition", {})), s


def test_object_lock_is_off_by_default_and_configurable(template, full_template):
    assert "ObjectLockEnabled" not in trail_bucket(template)["Properties"]
    locked = trail_bucket(full_template)["Properties"]
    assert locked["ObjectLockEnabled"] is True
    assert locked["ObjectLockConfiguration"] == {"ObjectLockEnabled": "Enabled", "Rule": {
        "DefaultRetention": {"Mode": "COMPLIANCE", "Days": 400}}}


def test_bucket_names_are_the_derived_names(template, log_archive_template):
    """The key policy (and, across accounts, the Trail stack) name the bucket by these."""
    from conftest import ORG_ACCESS_LOG_BUCKET, ORG_TRAIL_BUCKET, SINGLE_STACK_TRAIL_BUCKET
    assert trail_bucket(template)["Properties"]["BucketName"] == (
        ORG_TRAIL_BUCKET if template is log_archive_template else SINGLE_STACK_TRAIL_BUCKET)
    if template is log_archive_template:
        template.has_resource_properties("AWS::S3::Bucket", {"BucketName": ORG_ACCESS_LOG_BUCKET})
