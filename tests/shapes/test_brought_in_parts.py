"""An existing bucket, another account's key, an existing topic and log group: the trail
uses exactly those, creates none of them, and hands over what their owners must add."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template

from conftest import DEPLOY_ACCOUNT, MANAGEMENT_ACCOUNT, ORG_ID, REGION, TRAIL_ARN, TRAIL_NAME, cdk_json_context, resolve_arn_join
from secure_trail import NAG_PACKS, SecureTrail, SecureTrailConfigError, SecureTrailProps
from shape_fixtures import BROUGHT_BUCKET as BUCKET
from shape_fixtures import BROUGHT_KEY_ARN as KEY_ARN
from shape_fixtures import BROUGHT_LOG_GROUP as LOG_GROUP
from shape_fixtures import BROUGHT_TOPIC_ARN as TOPIC_ARN


@pytest.fixture(scope="module")
def brought(brought_parts):
    stack, outdir = brought_parts
    return stack, Template.from_stack(stack), outdir


def trail_properties(template: Template) -> dict:
    (trail,) = template.find_resources("AWS::CloudTrail::Trail").values()
    return trail["Properties"]


def test_the_trail_writes_publishes_delivers_and_encrypts_with_exactly_the_brought_parts(brought):
    stack, template, _ = brought
    props = trail_properties(template)
    assert props["S3BucketName"] == BUCKET
    assert props["SnsTopicName"] == TOPIC_ARN
    assert props["KMSKeyId"] == KEY_ARN
    assert json.dumps(stack.resolve(props["CloudWatchLogsLogGroupArn"])).count(f"log-group:{LOG_GROUP}:*") == 1


def test_no_bucket_topic_or_log_group_of_the_trail_is_created(brought):
    _, template, _ = brought
    # The only bucket: the digest backfill's work bucket, none of the trail's.
    assert [k for k in template.find_resources("AWS::S3::Bucket") if "DigestValidatorBackfillBucket" not in k] == []
    template.resource_count_is("AWS::Logs::LogGroup", len(template.find_resources(
        "AWS::Logs::LogGroup", {"Properties": {"LogGroupName": Match.string_like_regexp(
            "^/aws/(lambda|vendedlogs/states)/")}})))
    assert not [t for t in template.find_resources("AWS::SNS::Topic").values()
                if "delivery" in json.dumps(t["Properties"].get("TopicName", ""))]


def test_the_bucket_key_and_topic_statements_are_handed_over_as_warning_output_and_file(brought):
    stack, template, outdir = brought
    for part, output in (("bucket", "SecureTrailHandoverBucket"), ("key", "SecureTrailHandoverKey"),
                         ("topic", "SecureTrailHandoverTopic")):
        Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp(f"handover-{part}"))
        assert output in template.find_outputs("*")
    handover = json.loads((outdir / "Brought.secure-trail-handover.json").read_text())
    bucket = handover["parts"]["bucket"]["statements"]
    write = next(s for s in bucket if s["Sid"] == "SecureTrailCloudTrailWrite")
    assert resolve_arn_join(write["Condition"]["StringEquals"]["aws:SourceArn"]) == TRAIL_ARN
    assert f"arn:aws:s3:::{BUCKET}/AWSLogs/{ORG_ID}/*" in [resolve_arn_join(r) for r in write["Resource"]]
    assert handover["parts"]["topic"]["statements"][0]["Resource"] == TOPIC_ARN
    assert {s["Sid"] for s in handover["parts"]["key"]["statements"]} >= {"SecureTrailCloudTrailEncrypt"}


@pytest.mark.parametrize("pack", NAG_PACKS, ids=lambda p: p.__name__)
def test_no_unacknowledged_findings_with_brought_parts(pack, brought):
    stack, _, _ = brought
    report = pack().validate_scope(stack)
    assert [(v.rule_name, [r.resource_logical_id for r in v.violating_resources])
            for v in report.violations] == []


def test_an_existing_bucket_requires_the_access_log_audit_off():
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account=DEPLOY_ACCOUNT, region=REGION))
    with pytest.raises(SecureTrailConfigError, match="audit_access_logs=False"):
        SecureTrail(stack, "T", org_id=ORG_ID, bucket=s3.Bucket.from_bucket_name(stack, "B", BUCKET))


@pytest.mark.parametrize("prop", ["bucket", "sns_topic", "cloud_watch_log_group", "cloud_watch_logs_role"])
def test_the_organization_shape_refuses_brought_parts(prop):
    stack = cdk.Stack(cdk.App(), "S")
    part = {"bucket": lambda: s3.Bucket.from_bucket_name(stack, "P", BUCKET),
            "sns_topic": lambda: sns.Topic.from_topic_arn(stack, "P", TOPIC_ARN),
            "cloud_watch_log_group": lambda: logs.LogGroup.from_log_group_name(stack, "P", LOG_GROUP),
            "cloud_watch_logs_role": lambda: __import__("aws_cdk.aws_iam").aws_iam.Role.from_role_name(
                stack, "P", "r")}[prop]()
    props = SecureTrailProps(org_id=ORG_ID, management_account_id=MANAGEMENT_ACCOUNT,
                             log_archive_account_id=DEPLOY_ACCOUNT, **{prop: part})
    with pytest.raises(SecureTrailConfigError, match=f"^{prop}: .*organization shape"):
        props.validate()


def _single_stack_with(bucket_of) -> tuple[cdk.Stack, Template]:
    app = cdk.App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "S", env=cdk.Environment(account=DEPLOY_ACCOUNT, region=REGION))
    SecureTrail(stack, "Trail", org_id=ORG_ID, trail_name=TRAIL_NAME, management_account_id=MANAGEMENT_ACCOUNT,
                bucket=bucket_of(stack), audit_access_logs=False)
    return stack, Template.from_stack(stack)


def test_the_posture_watcher_checks_the_statements_handed_over_for_parts_of_its_account(brought):
    from trail_validators.contract import Env, PostureEnv
    from trail_validators.contract.handover import handover_checks
    from trail_validators.handlers.posture import config_from_env
    stack, template, outdir = brought
    (watcher,) = [f for f in template.find_resources("AWS::Lambda::Function").values()
                  if f["Properties"]["Handler"].endswith("posture.handler")]
    env = {k: resolve_arn_join(v) for k, v in watcher["Properties"]["Environment"]["Variables"].items()}
    spec = json.loads(env[PostureEnv.HANDOVER])
    # the key is of account 333333333333: GetKeyPolicy answers there only
    assert (spec["bucket"], spec.get("key"), spec["topic"]) == (BUCKET, None, TOPIC_ARN)
    handed = json.loads((outdir / f"{stack.artifact_id}.secure-trail-handover.json").read_text())["parts"]
    checked = {part: statements for part, _, statements in handover_checks(spec)}
    assert {part: json.dumps(s, sort_keys=True) for part, s in checked.items()} == {
        part: json.dumps(handed[part]["statements"], sort_keys=True) for part in checked}
    read = config_from_env({k: env[k] for k in (Env.TABLE_NAME, Env.ALERTS_TOPIC_ARN, Env.HOME_REGION,
                                                PostureEnv.TRAIL_ARN, PostureEnv.ACCOUNT, PostureEnv.HANDOVER)}
                           | {PostureEnv.CHECK_TRAIL: "false", PostureEnv.AUTO_RESTART_LOGGING: "false"})
    assert {part: list(statements) for part, _, statements in read.handover} == checked
    policies = [s for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
                for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert {"Action": "sns:GetTopicAttributes", "Effect": "Allow", "Resource": TOPIC_ARN} in policies
    assert not [s for s in policies if "kms:GetKeyPolicy" in json.dumps(s)]


@pytest.fixture(scope="module")
def bucket_of_another_account():
    return _single_stack_with(lambda stack: s3.Bucket.from_bucket_attributes(
        stack, "Bucket", bucket_name=BUCKET, account="333333333333", region=REGION))


def test_a_bucket_of_the_stack_s_account_is_watched_and_its_owner_told_to_send_its_events(brought):
    stack, template, _ = brought
    assert template.find_resources("AWS::Events::Rule", {"Properties": {"EventPattern": {
        "source": ["aws.s3"], "detail": {"bucket": {"name": [BUCKET]}}}}})
    Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp("secure-trail:brought-bucket-events"))


def test_a_bucket_of_another_account_gets_no_trail_watch_nor_posture_bucket_check_and_says_so(
        bucket_of_another_account):
    stack, template = bucket_of_another_account
    assert not template.find_resources("AWS::Events::Rule", {"Properties": {"EventPattern": {"source": ["aws.s3"]}}})
    assert not [f for f in template.find_resources("AWS::Lambda::Function").values()
                if "trail_watch" in f["Properties"]["Handler"]]
    policies = json.dumps(template.find_resources("AWS::IAM::Policy"))
    assert "s3:GetBucketPolicy" not in policies and "s3:ListBucketVersions" not in policies
    assert f"arn:aws:s3:::{BUCKET}/AWSLogs/" in json.dumps(stack.resolve(template.to_json()))  # digests still read it
    Annotations.from_stack(stack).has_warning(
        "*", Match.string_like_regexp("333333333333.*secure-trail:brought-bucket-other-account"))
    assert not Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("secure-trail:brought-bucket-events"))


@pytest.mark.parametrize("pack", NAG_PACKS, ids=lambda p: p.__name__)
def test_no_unacknowledged_findings_with_a_bucket_of_another_account(pack, bucket_of_another_account):
    stack, _ = bucket_of_another_account
    assert [v.rule_name for v in pack().validate_scope(stack).violations] == []
