"""The organization shape: a Log Archive stack (222222222222) and a Trail stack (the
management account 111111111111) in one region, joined by no export or reference, only
by names both derive with ``deployment_names``."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

import secure_trail.props as props_module
from conftest import (LOG_ARCHIVE_ACCOUNT, MANAGEMENT_ACCOUNT, ORG_ACCESS_LOG_BUCKET, ORG_ID, ORG_TRAIL_BUCKET,
                      READER_ARN, REGION, SHAPES, TRAIL_ARN, TRAIL_NAME, build_organization, build_stack,
                      cdk_json_context, default_props, organization_props, policy_statements, reader_decrypt_conditions,
                      resolve_arn_join)
from secure_trail import (LogArchiveStack, SecureTrail, SecureTrailConfigError, TrailStack, deployment_names,
                          organization_stacks)


def trail_properties(template: Template) -> dict:
    (found,) = template.find_resources("AWS::CloudTrail::Trail").values()
    return found["Properties"]


def only(template: Template, resource_type: str, contains: str = "") -> dict:
    (found,) = [r for k, r in template.find_resources(resource_type).items() if contains in k]
    return found


# --- the shared function ----------------------------------------------------------------

def test_deployment_names_are_derived_from_props_alone():
    names = deployment_names(org_id=ORG_ID, trail_name=TRAIL_NAME, region=REGION, partition="aws",
                             management_account_id=MANAGEMENT_ACCOUNT, log_archive_account_id=LOG_ARCHIVE_ACCOUNT)
    assert names.trail_arn == TRAIL_ARN
    assert (names.trail_bucket_name, names.access_log_bucket_name) == (ORG_TRAIL_BUCKET, ORG_ACCESS_LOG_BUCKET)
    assert names.trail_bucket_arn == f"arn:aws:s3:::{ORG_TRAIL_BUCKET}"
    assert names.log_key_alias_arn == f"arn:aws:kms:{REGION}:{LOG_ARCHIVE_ACCOUNT}:alias/{TRAIL_NAME}"
    assert names.alerts_topic_arn == f"arn:aws:sns:{REGION}:{LOG_ARCHIVE_ACCOUNT}:{TRAIL_NAME}-alerts"
    assert names.delivery_topic_arn == f"arn:aws:sns:{REGION}:{MANAGEMENT_ACCOUNT}:{TRAIL_NAME}-delivery"


@pytest.mark.parametrize("trail_name", ["A_Very.Long_Trail-Name" * 5, "Org.Trail_1", "x" * 128])
def test_bucket_names_are_valid_s3_names_for_any_trail_name(trail_name):
    import re
    names = deployment_names(org_id=ORG_ID, trail_name=trail_name, region="ap-southeast-4", partition="aws",
                             management_account_id=MANAGEMENT_ACCOUNT, log_archive_account_id=LOG_ARCHIVE_ACCOUNT)
    for name in (names.trail_bucket_name, names.access_log_bucket_name):
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name) and "--" not in name, name
    assert names.trail_bucket_name != names.access_log_bucket_name


# --- cross-account consistency: what one stack names is what the other creates -----------

def test_the_trail_writes_to_the_bucket_the_log_archive_creates(log_archive_template, trail_template):
    created = only(log_archive_template, "AWS::S3::Bucket", "TrailLogs")["Properties"]["BucketName"]
    assert trail_properties(trail_template)["S3BucketName"] == created == ORG_TRAIL_BUCKET


def test_the_trail_names_the_key_the_log_archive_creates_by_its_alias_arn(log_archive_stack_env, log_archive_template,
                                                                           trail_template):
    alias = only(log_archive_template, "AWS::KMS::Alias", "SecureTrailKey")["Properties"]
    assert alias["TargetKeyId"]["Fn::GetAtt"][0].startswith("SecureTrailKey")
    account, region = log_archive_stack_env
    assert resolve_arn_join(trail_properties(trail_template)["KMSKeyId"]) == (
        f"arn:aws:kms:{region}:{account}:{alias['AliasName']}")


def test_s3_data_events_exclude_the_log_buckets_the_log_archive_creates(full_log_archive_template, full_trail_template):
    # The backfill's work bucket keeps its data events: CloudTrail writes nothing there (no loop).
    created = sorted(b["Properties"]["BucketName"] for k, b in full_log_archive_template.find_resources(
        "AWS::S3::Bucket").items() if "DigestValidatorBackfill" not in k)
    selectors = trail_properties(full_trail_template)["AdvancedEventSelectors"]
    excluded = [resolve_arn_join(a) for s in selectors for f in s["FieldSelectors"]
                if f["Field"] == "resources.ARN" for a in f["NotStartsWith"]]
    assert sorted(excluded) == sorted(f"arn:aws:s3:::{name}/" for name in created)


def test_the_log_archive_admits_exactly_the_trail_the_trail_stack_creates(org_stacks, log_archive_template, trail_template):
    _, trail_stack = org_stacks
    created = (f"arn:aws:cloudtrail:{trail_stack.region}:{MANAGEMENT_ACCOUNT}:"
               f"trail/{trail_properties(trail_template)['TrailName']}")
    source_arns = set()
    for resource_type, prop in (("AWS::S3::BucketPolicy", "PolicyDocument"), ("AWS::KMS::Key", "KeyPolicy")):
        for s in policy_statements(log_archive_template, resource_type, prop):
            if s.get("Principal") == {"Service": "cloudtrail.amazonaws.com"}:
                source_arns.add(s["Condition"]["StringEquals"]["aws:SourceArn"])
    assert source_arns == {created}
    # and the trail stack's own policies name the same trail
    role = only(trail_template, "AWS::IAM::Role", "CloudWatchLogs")["Properties"]
    assert resolve_arn_join(role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"][
        "aws:SourceArn"]) == created


def test_the_log_archive_lets_cloudtrail_write_the_management_and_org_prefixes_only(log_archive_template):
    (write,) = [s for s in policy_statements(log_archive_template, "AWS::S3::BucketPolicy", "PolicyDocument", "TrailLogs")
                if s.get("Sid") == "CloudTrailWrite"]
    assert [r.split("/", 1)[1] for r in write["Resource"]] == [f"AWSLogs/{MANAGEMENT_ACCOUNT}/*", f"AWSLogs/{ORG_ID}/*"]


def test_nothing_in_the_management_account_may_read_the_logs(log_archive_template):
    for resource_type, prop in (("AWS::S3::BucketPolicy", "PolicyDocument"), ("AWS::KMS::Key", "KeyPolicy")):
        for s in policy_statements(log_archive_template, resource_type, prop):
            if s["Effect"] == "Allow" and s.get("Sid") == "TrailAccountPostureWatcherEncryptsAlerts":
                # its posture watcher publishes alerts: the key only as the alerts topic's encryption
                assert set(s["Condition"]) == {"ArnEquals", "StringEquals"}
                assert set(s["Condition"]["StringEquals"]) == {"kms:EncryptionContext:aws:sns:topicArn"}
            elif s["Effect"] == "Allow":
                assert MANAGEMENT_ACCOUNT not in json.dumps(s.get("Principal")), s


def test_a_management_account_reader_reads_only_when_named(full_log_archive_template):
    readers = [s for s in policy_statements(full_log_archive_template, "AWS::KMS::Key", "KeyPolicy")
               if s.get("Principal") == {"AWS": READER_ARN}]
    assert [s["Condition"] for s in readers] == reader_decrypt_conditions(ORG_TRAIL_BUCKET, "org/trail/AWSLogs/")


def test_no_export_import_or_reference_between_the_stacks(log_archive_template, trail_template):
    for template in (log_archive_template, trail_template):
        text = json.dumps(template.to_json())
        assert "Fn::ImportValue" not in text and "Export" not in text
        assert not template.to_json().get("Outputs")


def test_each_stack_holds_only_its_half(log_archive_template, trail_template):
    assert not trail_template.find_resources("AWS::S3::Bucket")
    assert [r["Properties"]["Handler"] for r in trail_template.find_resources("AWS::Lambda::Function").values()] == [
        "trail_validators.handlers.posture.handler",  # it watches the trail where the trail is
        "trail_validators.handlers.posture_failed_calls.handler"]
    assert not log_archive_template.find_resources("AWS::CloudTrail::Trail")
    assert not log_archive_template.find_resources("AWS::Logs::LogGroup", {"Properties": {
        "LogGroupName": f"/aws/cloudtrail/{TRAIL_NAME}"}})
    # its validators, its posture watcher and its failed-calls function
    assert len(log_archive_template.find_resources("AWS::Lambda::Function")) == 6


def test_the_stacks_target_two_accounts_of_one_region_and_deploy_log_archive_first(org_stacks):
    log_archive, trail = org_stacks
    assert (log_archive.account, log_archive.region) == (LOG_ARCHIVE_ACCOUNT, REGION)
    assert (trail.account, trail.region) == (MANAGEMENT_ACCOUNT, REGION)
    assert log_archive in trail.dependencies
    manifest = json.loads((__import__("pathlib").Path(cdk.App.of(trail).synth().directory) / "manifest.json").read_text())
    environments = {name: a["environment"] for name, a in manifest["artifacts"].items()
                    if a["type"] == "aws:cloudformation:stack"}
    assert environments == {"SecureTrailLogArchive": f"aws://{LOG_ARCHIVE_ACCOUNT}/{REGION}",
                            "SecureTrailTrail": f"aws://{MANAGEMENT_ACCOUNT}/{REGION}"}


def test_a_delegated_administrator_deploys_the_trail_yet_the_trail_arn_names_the_management_account():
    app = cdk.App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []})
    _, trail = organization_stacks(app, props=organization_props(), region=REGION, trail_account_id="333333333333")
    template = Template.from_stack(trail)
    assert trail.account == "333333333333"
    role = only(template, "AWS::IAM::Role", "CloudWatchLogs")["Properties"]
    assert resolve_arn_join(role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"][
        "aws:SourceArn"]) == TRAIL_ARN


def test_grant_read_logs_of_the_log_archive_gives_both_decrypt_forms():
    log_archive_stack, _ = build_organization(organization_props())
    role = iam.Role(log_archive_stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    log_archive_stack.log_archive.grant_read_logs(role)
    decrypt = [s for s in policy_statements(Template.from_stack(log_archive_stack), "AWS::IAM::Policy",
                                            "PolicyDocument", "Reader") if s["Action"] == "kms:Decrypt"]
    assert [s["Condition"] for s in decrypt] == reader_decrypt_conditions(ORG_TRAIL_BUCKET)


@pytest.fixture(scope="module")
def log_archive_stack_env(org_stacks):
    return org_stacks[0].account, org_stacks[0].region


# --- synth-time validation: each message names the prop and the fix ---------------------

@pytest.mark.parametrize(("overrides", "message"), [
    ({"log_archive_account_id": MANAGEMENT_ACCOUNT}, "log_archive_account_id: '111111111111'.*another account"),
    ({"log_archive_account_id": "22222222222"}, "log_archive_account_id: '22222222222'.*12-digit"),
    ({"log_archive_account_id": LOG_ARCHIVE_ACCOUNT, "management_account_id": None}, "management_account_id"),
])
def test_bad_organization_props_are_refused_naming_the_prop(overrides, message):
    with pytest.raises(SecureTrailConfigError, match=message):
        build_organization(default_props(**overrides))


def test_a_region_mismatch_is_refused():
    with pytest.raises(SecureTrailConfigError, match="log_archive_region: 'us-east-1'.*one region"):
        organization_stacks(cdk.App(), props=organization_props(), region=REGION, log_archive_region="us-east-1")


def test_no_region_is_refused():
    with pytest.raises(SecureTrailConfigError, match="homeRegion"):
        organization_stacks(cdk.App(), props=organization_props(), region=None)


def test_the_log_archive_stack_in_another_account_is_refused():
    with pytest.raises(SecureTrailConfigError, match="log_archive_account_id: '222222222222' is not the account"):
        LogArchiveStack(cdk.App(), "L", props=organization_props(),
                        env=cdk.Environment(account="444444444444", region=REGION))


def test_the_trail_stack_in_the_log_archive_account_is_refused():
    with pytest.raises(SecureTrailConfigError, match="also the Trail stack's account"):
        TrailStack(cdk.App(), "T", props=organization_props(),
                   env=cdk.Environment(account=LOG_ARCHIVE_ACCOUNT, region=REGION))


def test_single_stack_construct_refuses_the_organization_shape():
    with pytest.raises(SecureTrailConfigError, match="LogArchiveStack and TrailStack"):
        SecureTrail(cdk.Stack(cdk.App(), "S"), "T", organization_props())


def test_a_key_of_ones_own_is_refused_in_the_organization_shape():
    from aws_cdk import aws_kms as kms
    stack = cdk.Stack(cdk.App(), "K")
    with pytest.raises(SecureTrailConfigError, match="key: .*log_archive_account_id"):
        organization_props(key=kms.Key(stack, "Mine")).validate()


@pytest.mark.parametrize("shape", SHAPES)
def test_props_are_checked_once_and_the_subscriptions_parsed_once_in_either_shape(shape, monkeypatch):
    checked, parsed = [], []
    check, parse = props_module._check_posture_interval, props_module.parse_alert_subscriptions
    monkeypatch.setattr(props_module, "_check_posture_interval", lambda value: checked.append(value) or check(value))
    monkeypatch.setattr(props_module, "parse_alert_subscriptions", lambda value: parsed.append(value) or parse(value))
    subscribers = ("security@example.com", "https://alerts.example.com/hook")
    if shape == "single":
        stack = build_stack(default_props(alert_subscriptions=subscribers))
        topics = [Template.from_stack(stack)]
    else:
        topics = [Template.from_stack(s) for s in build_organization(organization_props(alert_subscriptions=subscribers))]
    assert len(checked) == 1 and parsed == [subscribers]
    for template in topics:  # each alerts topic has both subscribers all the same
        assert len(template.find_resources("AWS::SNS::Subscription")) == 2


def test_the_trail_stack_names_the_log_archive_alerts_topic_only_for_its_posture_watcher():
    _, watching = build_organization(organization_props())
    _, unwatched = build_organization(organization_props(watch_posture=False))
    assert watching.org_trail.node.try_find_child("LogArchiveAlerts") is not None
    assert unwatched.org_trail.node.try_find_child("LogArchiveAlerts") is None and unwatched.org_trail.posture_watcher is None
