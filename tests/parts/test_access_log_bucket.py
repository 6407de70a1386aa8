"""The server-access-log target: the TLS evidence bucket."""

import pytest

from conftest import DEPLOY_ACCOUNT, policy_statements

from shape_fixtures import single_or_log_archive_full_template, single_or_log_archive_template  # noqa: F401


ACCESS_LOG_BUCKET = "<SecureTrailAccessLogsBucketFE163877.Arn>"


@pytest.fixture(scope="module")
def access_log_bucket(template) -> dict:
    buckets = {k: v for k, v in template.find_resources("AWS::S3::Bucket").items() if "AccessLogs" in k}
    assert len(buckets) == 1
    return next(iter(buckets.values()))


@pytest.fixture(scope="module")
def access_log_statements(template):
    return policy_statements(template, "AWS::S3::BucketPolicy", "PolicyDocument", "AccessLogs")


def test_sse_s3_because_log_delivery_cannot_use_kms(access_log_bucket):
    assert access_log_bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]


def test_private_versioned_owner_enforced_and_retained(access_log_bucket):
    assert access_log_bucket["DeletionPolicy"] == "Retain"
    props = access_log_bucket["Properties"]
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_never_an_object_lock_default_retention(access_log_bucket, full_template):
    assert "ObjectLockConfiguration" not in access_log_bucket["Properties"]
    for logical_id, bucket in full_template.find_resources("AWS::S3::Bucket").items():
        if "AccessLogs" in logical_id:
            assert "ObjectLockConfiguration" not in bucket["Properties"]


def test_lifecycle_expires_access_logs(access_log_bucket):
    rule = access_log_bucket["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert rule["ExpirationInDays"] == 400 and rule["Status"] == "Enabled"


def test_tls_only(access_log_statements):
    denies = {str(s["Condition"]) for s in access_log_statements if s["Effect"] == "Deny"}
    assert denies == {str({"Bool": {"aws:SecureTransport": "false"}}),
                      str({"NumericLessThan": {"s3:TlsVersion": 1.2}})}


def test_log_delivery_writes_only_for_the_trail_bucket_of_this_account(access_log_statements):
    (grant,) = [s for s in access_log_statements if s["Effect"] == "Allow"]
    assert grant["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert grant["Action"] == "s3:PutObject"
    assert grant["Resource"] == f"{ACCESS_LOG_BUCKET}/trail-bucket/*"
    assert grant["Condition"] == {
        "ArnLike": {"aws:SourceArn": "<SecureTrailTrailLogsBucket3FF63E8C.Arn>"},
        "StringEquals": {"aws:SourceAccount": DEPLOY_ACCOUNT}}


def test_no_legacy_log_delivery_acl_even_without_app_feature_flags():
    from aws_cdk.assertions import Template
    from conftest import build_stack, default_props
    template = Template.from_stack(build_stack(default_props(), feature_flags=False))
    for bucket in template.find_resources("AWS::S3::Bucket").values():
        assert "AccessControl" not in bucket["Properties"]
