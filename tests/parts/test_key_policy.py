"""The trail's KMS key: symmetric, rotated, retained, and every grant scoped to this trail.
(The validators' state key has its own tests: test_validator_state.py.)"""

import pytest

from conftest import (DENY_GRANTS_NOT_FOR_AWS_RESOURCES, MANAGEMENT_ACCOUNT, ORG_TRAIL_BUCKET, READER_ARN, REGION,
                      SHAPES, SINGLE_STACK_TRAIL_BUCKET, TRAIL_ARN, DEPLOY_ACCOUNT, policy_statements,
                      reader_decrypt_conditions, statement)

CONTEXT_KEY = "kms:EncryptionContext:aws:cloudtrail:arn"
# Logical id prefix of the key that encrypts the logs: the single stack's, or the Log Archive's.
LOG_KEY = {"single": "SecureTrailKey", "organization": "SecureTrailKey"}
TRAIL_KEY = LOG_KEY["single"]


@pytest.fixture(scope="module", params=SHAPES)
def shape(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def key_statements(shape, full_template, full_log_archive_template):
    """The log key's statements, with every option on, in both shapes."""
    template = full_template if shape == "single" else full_log_archive_template
    return policy_statements(template, "AWS::KMS::Key", "KeyPolicy", LOG_KEY[shape])


@pytest.fixture(scope="module")
def delivery_key_statements(shape, full_template, full_trail_template):
    """The key of the delivery topic and the trail's log group: the log key in the single
    stack, the Trail stack's own key in the organization shape."""
    if shape == "single":
        return policy_statements(full_template, "AWS::KMS::Key", "KeyPolicy", TRAIL_KEY)
    return policy_statements(full_trail_template, "AWS::KMS::Key", "KeyPolicy", "SecureTrailKey")


def test_key_is_symmetric_rotated_aliased_and_retained(shape, template, log_archive_template):
    template = template if shape == "single" else log_archive_template
    (key,) = [k for logical_id, k in template.find_resources("AWS::KMS::Key").items()
              if logical_id.startswith(LOG_KEY[shape])]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert "KeySpec" not in key["Properties"] and "KeyUsage" not in key["Properties"]
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("Retain", "Retain")
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/org-trail"})


def test_cloudtrail_encrypts_only_in_its_context_and_as_this_trail(key_statements):
    s = statement(key_statements, "CloudTrailEncryptLogs")
    assert s["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert s["Action"] == "kms:GenerateDataKey*"
    assert s["Condition"] == {
        "StringLike": {CONTEXT_KEY: f"arn:aws:cloudtrail:*:{MANAGEMENT_ACCOUNT}:trail/*"},
        "StringEquals": {"aws:SourceArn": TRAIL_ARN}}


def test_trail_arn_is_built_from_name_region_and_management_account(key_statements):
    assert TRAIL_ARN == f"arn:aws:cloudtrail:{REGION}:{MANAGEMENT_ACCOUNT}:trail/org-trail"
    for sid in ("CloudTrailDescribeKey", "CloudTrailDecryptForBucketKey"):
        assert statement(key_statements, sid)["Condition"] == {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}


def test_cloudtrail_describe_and_bucket_key_decrypt_are_granted(key_statements):
    assert statement(key_statements, "CloudTrailDescribeKey")["Action"] == "kms:DescribeKey"
    assert statement(key_statements, "CloudTrailDecryptForBucketKey")["Action"] == "kms:Decrypt"


def test_readers_decrypt_only_through_the_cloudtrail_context(key_statements):
    s = statement(key_statements, "LogReadersDecryptCloudTrailLogsOnly")
    assert s["Principal"] == {"AWS": READER_ARN}
    assert s["Action"] == "kms:Decrypt"
    assert s["Condition"] == {"Null": {CONTEXT_KEY: "false"}}


def test_readers_decrypt_through_s3_only_for_the_trail_bucket_and_its_logs(shape, key_statements):
    """The S3 Bucket Key form: S3 asks KMS with the bucket's ARN as context, not CloudTrail's."""
    bucket = SINGLE_STACK_TRAIL_BUCKET if shape == "single" else ORG_TRAIL_BUCKET
    s = statement(key_statements, "LogReadersDecryptTrailBucketThroughS3")
    assert (s["Principal"], s["Action"]) == ({"AWS": READER_ARN}, "kms:Decrypt")
    assert s["Condition"] == reader_decrypt_conditions(bucket, "org/trail/AWSLogs/")[1]
    assert s["Condition"]["StringEquals"] == {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    assert s["Condition"]["ArnLike"]["kms:EncryptionContext:aws:s3:arn"] == [
        f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/org/trail/AWSLogs/*"]


def test_readers_get_nothing_else(key_statements):
    readers = [s for s in key_statements if s["Principal"] == {"AWS": READER_ARN}]
    assert sorted(s["Sid"] for s in readers) == ["LogReadersDecryptCloudTrailLogsOnly",
                                                 "LogReadersDecryptTrailBucketThroughS3"]
    assert all(s["Action"] == "kms:Decrypt" for s in readers)


def test_no_reader_statement_without_readers(template, log_archive_template):
    for found, prefix in ((template, LOG_KEY["single"]), (log_archive_template, LOG_KEY["organization"])):
        sids = {s.get("Sid") for s in policy_statements(found, "AWS::KMS::Key", "KeyPolicy", prefix)}
        assert not {"LogReadersDecryptCloudTrailLogsOnly", "LogReadersDecryptTrailBucketThroughS3"} & sids


def test_cloudtrail_uses_key_for_topics_only_with_their_context(shape, delivery_key_statements):
    s = statement(delivery_key_statements, "CloudTrailPublishToEncryptedTopics")
    assert s["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert s["Condition"]["StringEquals"]["aws:SourceArn"] == TRAIL_ARN
    if shape == "single":
        assert s["Condition"]["StringEquals"]["kms:EncryptionContext:aws:sns:topicArn"] == [
            f"arn:aws:sns:{REGION}:{DEPLOY_ACCOUNT}:org-trail-delivery",
            f"arn:aws:sns:{REGION}:{DEPLOY_ACCOUNT}:org-trail-alerts"]
    else:  # the delivery topic is the Trail stack's, in the management account
        assert s["Condition"]["StringEquals"]["kms:EncryptionContext:aws:sns:topicArn"] == [
            f"arn:aws:sns:{REGION}:{MANAGEMENT_ACCOUNT}:org-trail-delivery"]


def test_in_the_organization_shape_cloudtrail_never_publishes_with_the_log_key(full_log_archive_template):
    sids = {s.get("Sid") for s in policy_statements(full_log_archive_template, "AWS::KMS::Key", "KeyPolicy",
                                                     LOG_KEY["organization"])}
    assert "CloudTrailPublishToEncryptedTopics" not in sids


def test_the_trail_accounts_key_never_encrypts_logs_or_lets_anyone_read(full_trail_template):
    found = policy_statements(full_trail_template, "AWS::KMS::Key", "KeyPolicy", "SecureTrailKey")
    assert {s.get("Sid") for s in found} == {"AccountAdministersKeyOnly", "AccountGrantsForAwsResourcesOnly",
                                              "DenyGrantsNotForAwsResources", "CloudTrailPublishToEncryptedTopics",
                                              "CloudWatchLogsEncryptOwnLogGroups", "CloudWatchAlarmsPublishToAlerts"}
    # the CIS alarms notify this account's alerts topic, and only it
    alarms = statement(found, "CloudWatchAlarmsPublishToAlerts")
    assert alarms["Condition"]["StringEquals"] == {
        "aws:SourceAccount": MANAGEMENT_ACCOUNT,
        "kms:EncryptionContext:aws:sns:topicArn": f"arn:aws:sns:{REGION}:{MANAGEMENT_ACCOUNT}:org-trail-alerts"}
    admin = statement(found, "AccountAdministersKeyOnly")
    assert admin["Principal"] == {"AWS": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:root"}
    assert CONTEXT_KEY not in str(found)


def test_cloudwatch_logs_uses_key_only_for_this_stacks_log_groups(shape, key_statements, delivery_key_statements):
    prefix = f"arn:aws:logs:{REGION}:{DEPLOY_ACCOUNT}:log-group:"
    functions = [f"{prefix}/aws/lambda/org-trail-access-log-auditor",
                 f"{prefix}/aws/lambda/org-trail-digest-planner", f"{prefix}/aws/lambda/org-trail-digest-validator",
                 f"{prefix}/aws/lambda/org-trail-trail-watch", f"{prefix}/aws/lambda/org-trail-posture-watcher",
                 f"{prefix}/aws/lambda/org-trail-posture-failed-calls"]
    s = statement(key_statements, "CloudWatchLogsEncryptOwnLogGroups")
    assert s["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    if shape == "single":
        assert s["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": [
            f"{prefix}/aws/cloudtrail/org-trail", *functions]}}
    else:  # the validators' groups here; the trail's group with the Trail stack's key
        assert s["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": functions}}
        s = statement(delivery_key_statements, "CloudWatchLogsEncryptOwnLogGroups")
        assert s["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": [
            f"arn:aws:logs:{REGION}:{MANAGEMENT_ACCOUNT}:log-group:/aws/cloudtrail/org-trail",
            f"arn:aws:logs:{REGION}:{MANAGEMENT_ACCOUNT}:log-group:/aws/lambda/org-trail-posture-watcher",
            f"arn:aws:logs:{REGION}:{MANAGEMENT_ACCOUNT}:log-group:/aws/lambda/org-trail-posture-failed-calls"]}}


def test_cloudwatch_alarms_use_key_only_for_the_alerts_topic(key_statements):
    s = statement(key_statements, "CloudWatchAlarmsPublishToAlerts")
    assert s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert s["Condition"] == {"StringEquals": {"aws:SourceAccount": DEPLOY_ACCOUNT,
        "kms:EncryptionContext:aws:sns:topicArn": f"arn:aws:sns:{REGION}:{DEPLOY_ACCOUNT}:org-trail-alerts"}}


def test_no_service_principal_gets_kms_star(key_statements):
    for s in key_statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        if "Service" in s["Principal"]:
            assert "kms:*" not in actions, s


def test_every_service_grant_carries_a_condition(shape, key_statements, delivery_key_statements):
    service_grants = [s for s in key_statements if "Service" in s["Principal"]]
    assert len(service_grants) == (6 if shape == "single" else 5)
    assert all(s.get("Condition") for s in service_grants)
    service_grants = [s for s in delivery_key_statements if "Service" in s["Principal"]]
    assert all(s.get("Condition") for s in service_grants)


def _root_statements(statements) -> list[dict]:
    return [s for s in statements if "root" in str(s.get("Principal", {}).get("AWS", ""))]


def test_account_root_only_administers_the_trail_key(key_statements, delivery_key_statements):
    from secure_trail.validators.state_key import KEY_ADMINISTRATION
    for statements in (key_statements, delivery_key_statements):
        administration = [s for s in statements if s.get("Sid") == "AccountAdministersKeyOnly"]
        assert len(administration) == 1 and sorted(administration[0]["Action"]) == sorted(KEY_ADMINISTRATION)
        assert "Condition" not in administration[0]
        for s in _root_statements(statements):
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            assert "kms:*" not in actions
            if s.get("Sid") != "AccountAdministersKeyOnly":
                assert "Condition" in s, s


def test_create_grant_is_limited_to_aws_resources(key_statements, delivery_key_statements):
    """Allowed only for AWS resources, and denied to everyone otherwise (CT.KMS.PR.3; the rule
    itself runs on the synthesized keys in tests/compliance/test_control_tower.py)."""
    for statements in (key_statements, delivery_key_statements):
        grants = [s for s in statements if "kms:CreateGrant" in str(s["Action"]) and s["Effect"] == "Allow"]
        assert grants and all(s["Condition"]["Bool"]["kms:GrantIsForAWSResource"] == "true" for s in grants)
        assert [s for s in statements if s["Effect"] != "Allow"] == [DENY_GRANTS_NOT_FOR_AWS_RESOURCES]
