"""Bad props fail at synth with a message naming the prop, the value and the fix."""

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms

from conftest import build_stack, default_props
from secure_trail import ObjectLock, ObjectLockMode, SecureTrail, SecureTrailConfigError, SecureTrailProps


@pytest.mark.parametrize(("overrides", "names"), [
    ({"org_id": "o-short"}, ["org_id", "o-short", "10 to 32"]),
    ({"org_id": "O-A1B2C3D4E5"}, ["org_id", "lowercase"]),
    ({"org_id": "a1b2c3d4e5f6"}, ["org_id", "'o-'"]),
    ({"management_account_id": "12345"}, ["management_account_id", "12-digit"]),
    ({"management_account_id": "12345678901a"}, ["management_account_id", "12-digit"]),
    ({"trail_name": "ab"}, ["trail_name", "3-128"]),
    ({"trail_name": "my--trail"}, ["trail_name", "no two separators"]),
    ({"trail_name": "-trail"}, ["trail_name", "starting and ending"]),
    ({"trail_name": "trail_"}, ["trail_name"]),
    ({"trail_name": "my trail"}, ["trail_name"]),
    ({"trail_name": "10.0.0.1"}, ["trail_name", "IP address"]),
    ({"trail_name": "t" * 129}, ["trail_name"]),
    ({"s3_key_prefix": "/logs"}, ["s3_key_prefix", "leading or trailing"]),
    ({"s3_key_prefix": "logs/"}, ["s3_key_prefix"]),
    ({"log_reader_arns": ("arn:aws:s3:::bucket",)}, ["log_reader_arns", "IAM role"]),
    ({"log_transition_days": 0}, ["log_transition_days", "1 to 36500"]),
    ({"log_transition_days": 400, "log_expiration_days": 300}, ["log_transition_days", "log_expiration_days (300)"]),
    ({"log_expiration_days": 40000}, ["log_expiration_days"]),
    ({"noncurrent_version_expiration_days": -1}, ["noncurrent_version_expiration_days"]),
    ({"access_log_expiration_days": 1.5}, ["access_log_expiration_days"]),
    ({"object_lock": ObjectLock(ObjectLockMode.GOVERNANCE, 0)}, ["object_lock.retention_days"]),
    ({"access_log_object_lock": ObjectLock(ObjectLockMode.GOVERNANCE, 30)},
     ["access_log_object_lock", "server access logging cannot deliver"]),
])
def test_bad_prop_is_refused_with_a_message_that_says_what_to_change(overrides, names):
    with pytest.raises(SecureTrailConfigError) as error:
        default_props(**overrides).validate()
    for fragment in names:
        assert fragment in str(error.value)


@pytest.mark.parametrize("name", ["abc", "my.trail-1", "Org_Trail", "a" * 128])
def test_valid_trail_names_pass(name):
    default_props(trail_name=name).validate()


def test_validation_runs_at_synth_time():
    with pytest.raises(SecureTrailConfigError, match="org_id"):
        build_stack(SecureTrailProps(org_id="o-bad"))


@pytest.mark.parametrize(("spec", "usage"), [
    (kms.KeySpec.RSA_2048, kms.KeyUsage.SIGN_VERIFY),
    (kms.KeySpec.ECC_NIST_P256, kms.KeyUsage.SIGN_VERIFY),
    (kms.KeySpec.HMAC_256, kms.KeyUsage.GENERATE_VERIFY_MAC),
])
def test_a_key_that_is_not_symmetric_encrypt_decrypt_is_refused(spec, usage):
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="222222222222", region="eu-west-1"))
    key = kms.Key(stack, "Mine", key_spec=spec, key_usage=usage)
    with pytest.raises(SecureTrailConfigError, match="symmetric"):
        SecureTrail(stack, "Trail", default_props(key=key))


def test_a_symmetric_key_of_your_own_gets_the_cloudtrail_statements():
    from aws_cdk.assertions import Template
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="222222222222", region="eu-west-1"))
    key = kms.Key(stack, "Mine", enable_key_rotation=True)
    SecureTrail(stack, "Trail", default_props(key=key))
    (only_key,) = Template.from_stack(stack).find_resources("AWS::KMS::Key").values()
    sids = {s.get("Sid") for s in only_key["Properties"]["KeyPolicy"]["Statement"]}
    assert {"CloudTrailEncryptLogs", "CloudTrailDescribeKey", "CloudTrailDecryptForBucketKey"} <= sids


def test_an_imported_key_is_accepted_with_a_warning_that_its_policy_is_yours():
    from aws_cdk.assertions import Annotations, Match
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="222222222222", region="eu-west-1"))
    key = kms.Key.from_key_arn(stack, "Imported", "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    SecureTrail(stack, "Trail", default_props(key=key))
    Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp("CloudTrailEncryptLogs"))
