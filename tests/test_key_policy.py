"""The trail's KMS key: symmetric, rotated, retained, and every grant scoped to this trail.
(The validators' state key has its own tests: test_validator_state.py.)"""

import pytest

from conftest import MANAGEMENT_ACCOUNT, READER_ARN, REGION, TRAIL_ARN, DEPLOY_ACCOUNT, policy_statements, statement

CONTEXT_KEY = "kms:EncryptionContext:aws:cloudtrail:arn"
TRAIL_KEY = "SecureTrailKey"  # logical id prefix of the trail key


@pytest.fixture(scope="module")
def key_statements(full_template):
    return policy_statements(full_template, "AWS::KMS::Key", "KeyPolicy", TRAIL_KEY)


def test_key_is_symmetric_rotated_aliased_and_retained(template):
    (key,) = [k for logical_id, k in template.find_resources("AWS::KMS::Key").items()
              if logical_id.startswith(TRAIL_KEY)]
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


def test_no_reader_statement_without_readers(template):
    sids = {s.get("Sid") for s in policy_statements(template, "AWS::KMS::Key", "KeyPolicy", TRAIL_KEY)}
    assert "LogReadersDecryptCloudTrailLogsOnly" not in sids


def test_cloudtrail_uses_key_for_topics_only_with_their_context(key_statements):
    s = statement(key_statements, "CloudTrailPublishToEncryptedTopics")
    assert s["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert s["Condition"]["StringEquals"]["aws:SourceArn"] == TRAIL_ARN
    assert s["Condition"]["StringEquals"]["kms:EncryptionContext:aws:sns:topicArn"] == [
        f"arn:aws:sns:{REGION}:{DEPLOY_ACCOUNT}:org-trail-delivery",
        f"arn:aws:sns:{REGION}:{DEPLOY_ACCOUNT}:org-trail-alerts"]


def test_cloudwatch_logs_uses_key_only_for_this_stacks_log_groups(key_statements):
    s = statement(key_statements, "CloudWatchLogsEncryptOwnLogGroups")
    assert s["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    prefix = f"arn:aws:logs:{REGION}:{DEPLOY_ACCOUNT}:log-group:"
    assert s["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": [
        f"{prefix}/aws/cloudtrail/org-trail", f"{prefix}/aws/lambda/org-trail-access-log-auditor",
        f"{prefix}/aws/lambda/org-trail-digest-planner", f"{prefix}/aws/lambda/org-trail-digest-validator"]}}


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


def test_every_service_grant_carries_a_condition(key_statements):
    service_grants = [s for s in key_statements if "Service" in s["Principal"]]
    assert len(service_grants) == 6
    assert all(s.get("Condition") for s in service_grants)
