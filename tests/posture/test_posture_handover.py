"""A handed-over statement counts as in place only when a live statement covers it."""

import json

import boto3
import pytest
from moto import mock_aws

from trail_validators.contract import PostureKind
from trail_validators.posture.handover import check_handover

BUCKET = "owner-log-archive"
WRITE = {"Sid": "SecureTrailCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}
ACL = {"Sid": "SecureTrailCloudTrailAcl", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
       "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{BUCKET}"}


def _live_policy(statements):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
        return s3.get_bucket_policy(Bucket=BUCKET)["Policy"]


def test_applied_statements_give_no_finding():
    assert check_handover(BUCKET, _live_policy([WRITE, ACL]), [WRITE, ACL]) == []


def test_a_missing_statement_is_a_finding_naming_it():
    findings = check_handover(BUCKET, _live_policy([ACL]), [WRITE, ACL])
    assert [f.kind for f in findings] == [PostureKind.HANDOVER_STATEMENT_MISSING]
    assert findings[0].details["statement"]["Sid"] == "SecureTrailCloudTrailWrite"


def test_a_statement_without_its_condition_does_not_cover():
    loose = {k: v for k, v in WRITE.items() if k != "Condition"}
    kinds = [f.kind for f in check_handover(BUCKET, _live_policy([loose, ACL]), [WRITE, ACL])]
    assert kinds == [PostureKind.HANDOVER_STATEMENT_MISSING]


def test_a_deny_does_not_cover_an_allow():
    deny = {**WRITE, "Effect": "Deny"}
    assert check_handover(BUCKET, {"Statement": [deny]}, [WRITE])[0].kind == PostureKind.HANDOVER_STATEMENT_MISSING


def test_a_broader_live_statement_covers():
    broad = {**WRITE, "Action": ["s3:PutObject", "s3:GetObject"], "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    broad["Resource"] = [broad["Resource"], f"arn:aws:s3:::{BUCKET}/AWSLogs/*"]
    assert check_handover(BUCKET, {"Statement": [broad]}, [WRITE]) == []


@pytest.mark.parametrize("live", [None, "", "not json", "{}", '{"Statement": 3}', json.dumps([WRITE])])
def test_an_unreadable_policy_is_unverifiable_never_in_place(live):
    assert [f.kind for f in check_handover(BUCKET, live, [WRITE])] == [PostureKind.HANDOVER_UNVERIFIABLE]


def test_the_handed_over_bucket_statements_are_what_the_check_verifies():
    from trail_validators.contract.handover import bucket_statements
    trail = "arn:aws:cloudtrail:us-east-1:111111111111:trail/secure-trail"
    expected = bucket_statements(BUCKET, trail, "111111111111", reader_role_arns=["arn:aws:iam::111111111111:role/r"])
    assert check_handover(BUCKET, _live_policy(expected), expected) == []
    missing = check_handover(BUCKET, _live_policy(expected[1:]), expected)
    assert [f.details["statement"]["Sid"] for f in missing] == ["SecureTrailCloudTrailAclCheck"]


def test_the_handed_over_key_statements_are_scoped_to_the_trail():
    from trail_validators.contract.handover import key_statements
    trail = "arn:aws:cloudtrail:us-east-1:111111111111:trail/secure-trail"
    expected = key_statements(trail, "111111111111")
    other = [{**s, "Condition": {"StringEquals": {"aws:SourceArn": trail.replace("secure-trail", "other")}}}
             if "Condition" in s else s for s in expected]
    assert [f.kind for f in check_handover("key", {"Statement": other}, expected)] == [
        PostureKind.HANDOVER_STATEMENT_MISSING]


SPEC = {"trail_arn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/secure-trail", "account": "111111111111",
        "partition": "aws", "prefix": "", "readers": ["arn:aws:iam::111111111111:root"], "org_id": "o-abc123",
        "bucket": BUCKET}


def _scheduled_findings(spec, s3=None, kms=None, sns=None):
    from trail_validators.contract.handover import handover_checks
    from trail_validators.posture.aws import read_handover_policies
    from trail_validators.posture.handover import handover_findings
    checks = handover_checks(spec)
    return handover_findings(checks, read_handover_policies(checks, s3=s3, kms=kms, sns=sns))


def test_the_scheduled_check_finds_each_missing_statement_of_a_brought_bucket_until_it_is_applied(aws_env):
    from trail_validators.contract.handover import handover_checks
    from trail_validators.posture.judge import state_changes
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        missing = _scheduled_findings(SPEC, s3=s3)  # no bucket policy at all
        assert {f.kind for f in missing} == {PostureKind.HANDOVER_STATEMENT_MISSING}
        assert len(missing) == len(handover_checks(SPEC)[0][2])
        first = state_changes([], missing)
        (_, _, statements), = handover_checks(SPEC)
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
        assert _scheduled_findings(SPEC, s3=s3) == []
        assert len(state_changes(first.open_kinds, []).cleared) == len(missing)


def test_a_brought_key_and_topic_are_read_for_their_statements(aws_env):
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")
        sns = boto3.client("sns", region_name="us-east-1")
        key_arn = kms.create_key()["KeyMetadata"]["Arn"]
        topic_arn = sns.create_topic(Name="owner-trail-topic")["TopicArn"]
        spec = {**SPEC, "bucket": None, "key": key_arn, "topic": topic_arn}
        findings = _scheduled_findings(spec, kms=kms, sns=sns)
        assert {f.keys[0] for f in findings} == {key_arn, topic_arn}
        assert {f.kind for f in findings} == {PostureKind.HANDOVER_STATEMENT_MISSING}


def test_a_policy_that_cannot_be_read_is_unverifiable_never_in_place(aws_env):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")  # the bucket does not exist: NoSuchBucket
        assert [f.kind for f in _scheduled_findings(SPEC, s3=s3)] == [PostureKind.HANDOVER_UNVERIFIABLE]


def test_the_watcher_reads_the_handover_the_stack_sets_and_refuses_a_malformed_one():
    from trail_validators.contract import ConfigurationError, Env, PostureEnv
    from trail_validators.contract.handover import handover_checks
    from trail_validators.handlers.posture import config_from_env
    env = {Env.TABLE_NAME: "t", Env.ALERTS_TOPIC_ARN: "arn:aws:sns:us-east-1:111111111111:a",
           Env.HOME_REGION: "us-east-1", PostureEnv.TRAIL_ARN: SPEC["trail_arn"], PostureEnv.ACCOUNT: "111111111111",
           PostureEnv.CHECK_TRAIL: "false", PostureEnv.AUTO_RESTART_LOGGING: "false",
           PostureEnv.TRAIL_BUCKET: BUCKET, PostureEnv.HANDOVER: json.dumps(SPEC)}
    assert [(p, r, list(s)) for p, r, s in config_from_env(env).handover] == handover_checks(SPEC)
    for bad in ({**SPEC, "bucket": None}, {k: v for k, v in SPEC.items() if k != "trail_arn"},
                {**SPEC, "unknown": "x"}, []):
        with pytest.raises(ConfigurationError, match=PostureEnv.HANDOVER):
            config_from_env({**env, PostureEnv.HANDOVER: json.dumps(bad)})
