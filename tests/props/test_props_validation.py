"""Bad props fail at synth with a message naming the prop, the value and the fix."""

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms

from conftest import build_stack, default_props
from secure_trail import ObjectLock, ObjectLockMode, SecureTrail, SecureTrailConfigError, SecureTrailProps


def plain_stack() -> cdk.Stack:
    """A stack of one's own app, as a user composing SecureTrail would have (no bundling)."""
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    return cdk.Stack(app, "S", env=cdk.Environment(account="222222222222", region="eu-west-1"))


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
    stack = plain_stack()
    key = kms.Key(stack, "Mine", key_spec=spec, key_usage=usage)
    with pytest.raises(SecureTrailConfigError, match="symmetric"):
        SecureTrail(stack, "Trail", default_props(key=key))


def test_a_symmetric_key_of_your_own_gets_the_cloudtrail_statements():
    from aws_cdk.assertions import Template
    stack = plain_stack()
    key = kms.Key(stack, "Mine", enable_key_rotation=True)
    SecureTrail(stack, "Trail", default_props(key=key))
    keys = Template.from_stack(stack).find_resources("AWS::KMS::Key")
    (mine,) = [key for logical_id, key in keys.items() if logical_id.startswith("Mine")]
    sids = {s.get("Sid") for s in mine["Properties"]["KeyPolicy"]["Statement"]}
    assert {"CloudTrailEncryptLogs", "CloudTrailDescribeKey", "CloudTrailDecryptForBucketKey"} <= sids


def test_an_imported_key_is_accepted_with_a_warning_that_its_policy_is_yours():
    from aws_cdk.assertions import Annotations, Match
    stack = plain_stack()
    key = kms.Key.from_key_arn(stack, "Imported", "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    SecureTrail(stack, "Trail", default_props(key=key))
    Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp("CloudTrailEncryptLogs"))


@pytest.mark.parametrize(("overrides", "prop"), [
    ({"org_id": "o-a1b2c3d4e5\n"}, "org_id"),
    ({"management_account_id": "111111111111\n"}, "management_account_id"),
    ({"trail_name": "org-trail\n"}, "trail_name"),
    ({"log_reader_arns": ("arn:aws:iam::222222222222:role/Auditor\n",)}, "log_reader_arns"),
    ({"s3_key_prefix": "org/trail\n"}, "s3_key_prefix"),
])
def test_a_trailing_newline_is_refused_not_written_to_the_template(overrides, prop):
    with pytest.raises(SecureTrailConfigError) as error:
        default_props(**overrides).validate()
    assert str(error.value).startswith(f"{prop}: ") and "\\n'" in str(error.value)


@pytest.mark.parametrize("arn", ["*", "arn:aws:iam::*:root", "arn:aws:iam::222222222222:role/*",
                                 "arn:aws:iam::222222222222:role/Audit*", "arn:aws:iam::222222222222:user/?dmin"])
def test_a_wildcard_log_reader_is_refused(arn):
    with pytest.raises(SecureTrailConfigError) as error:
        default_props(log_reader_arns=(arn,)).validate()
    message = str(error.value)
    assert message.startswith(f"log_reader_arns: {arn!r} is not valid") and "wildcard" in message
    assert "list each reader's ARN" in message


@pytest.mark.parametrize("arn", ["arn:aws:iam::222222222222:root", "arn:aws:iam::222222222222:role/path/Auditor",
                                 "arn:aws-us-gov:iam::222222222222:user/audit+ops@example.com"])
def test_exact_log_readers_pass(arn):
    default_props(log_reader_arns=(arn,)).validate()


@pytest.mark.parametrize(("overrides", "prop"), [
    ({"insights": 1}, "insights"),
    ({"cloud_watch_logs": 0}, "cloud_watch_logs"),
    ({"validate_digests": "false"}, "validate_digests"),
    ({"log_transition_days": True}, "log_transition_days"),
    ({"object_lock": ObjectLock(ObjectLockMode.GOVERNANCE, True)}, "object_lock.retention_days"),
])
def test_booleans_are_not_numbers_and_numbers_are_not_booleans(overrides, prop):
    with pytest.raises(SecureTrailConfigError, match=f"^{prop}: "):
        default_props(**overrides).validate()


@pytest.mark.parametrize("principals", [("arn:aws:iam::111111111111:role/Ops\n",), (" arn:aws:iam::*:role/Ops",),
                                        ("",), "arn:aws:iam::111111111111:role/Ops"])
def test_expected_principals_are_clean_globs_in_a_list(principals):
    with pytest.raises(SecureTrailConfigError, match="^expected_principals: "):
        default_props(expected_principals=principals).validate()


@pytest.mark.parametrize("pattern", ["*", "arn:aws:iam::*:*", "arn:*", "**", "arn:aws:*:*:*", "arn:aws:sts::*"])
def test_expected_principals_that_match_every_principal_are_refused(pattern):
    with pytest.raises(SecureTrailConfigError, match="^expected_principals: .*matches every principal"):
        default_props(expected_principals=(pattern,)).validate()


@pytest.mark.parametrize("pattern", ["arn:aws:iam::111111111111:*", "arn:aws:sts::*:assumed-role/LogAdmin/*"])
def test_expected_principals_scoped_to_an_account_or_role_are_accepted(pattern):
    default_props(expected_principals=(pattern,)).validate()  # does not raise


def test_a_long_trail_name_still_gives_valid_function_and_rule_names():
    """Lambda function and EventBridge rule names stop at 64 characters; trail names at 128."""
    from aws_cdk.assertions import Template
    name = "a" * 100 + "-org-trail"
    resources = Template.from_stack(build_stack(default_props(trail_name=name))).to_json()["Resources"]
    functions = [r["Properties"]["FunctionName"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    rules = [r["Properties"]["Name"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"
             and "Name" in r["Properties"]]
    # every rule named, each its own name (the failed-calls path: a function and a rule beside each posture rule)
    assert len(set(functions)) == 6 and len(set(rules)) == len(rules) == 16 + 11
    for physical in functions + rules:
        assert len(physical) <= 64 and physical.startswith("aaaa"), physical
    log_groups = {r["Properties"]["LogGroupName"] for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"}
    assert {f"/aws/lambda/{f}" for f in functions} <= log_groups


def test_a_list_changed_after_the_check_cannot_change_the_checked_props():
    readers = ["arn:aws:iam::222222222222:role/Auditor"]
    props = default_props(log_reader_arns=readers, alert_subscriptions=["security@example.com"])
    props.validate()
    readers.append("*")  # the caller's list, not the props'
    assert props.log_reader_arns == ("arn:aws:iam::222222222222:role/Auditor",)
    with pytest.raises(AttributeError):
        props.alert_subscriptions.append("http://plain.example.com")


def test_a_trail_log_expiry_under_a_year_warns_at_synth_with_an_id_to_acknowledge():
    from aws_cdk.assertions import Annotations, Match
    from secure_trail.props import SHORT_LOG_RETENTION_WARNING
    stack = build_stack(default_props(log_transition_days=30, log_expiration_days=200))
    Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp(
        f"log_expiration_days is 200.*{SHORT_LOG_RETENTION_WARNING}"))
