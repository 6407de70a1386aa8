"""SNS topics and the CloudWatch Logs delivery."""

import pytest

from conftest import REGION, DEPLOY_ACCOUNT, TRAIL_ARN, policy_statements, resolve_arn_join, statement, trail_key_id

from conftest import MANAGEMENT_ACCOUNT

from shape_fixtures import single_or_trail_full_template, single_or_trail_template  # noqa: F401



def topics(template) -> dict:
    return {v["Properties"]["TopicName"]: (k, v) for k, v in template.find_resources("AWS::SNS::Topic").items()}


def test_delivery_and_alerts_topics_are_kms_encrypted(template, trail_template, log_archive_template):
    # The organization shape: delivery with the trail, alerts with the validators, and an
    # alerts topic with the trail too for the CIS alarms (an alarm notifies its own account).
    homes = [(template, {"org-trail-delivery", "org-trail-alerts"})] if template is not trail_template else [
        (trail_template, {"org-trail-delivery", "org-trail-alerts"}), (log_archive_template, {"org-trail-alerts"})]
    for home, names in homes:
        key_id = trail_key_id(home)
        found = topics(home)
        assert set(found) == names
        for _, topic in found.values():
            assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


@pytest.mark.parametrize("topic_name", ["org-trail-delivery", "org-trail-alerts"])
def test_topic_denies_publish_without_tls(template, topic_name, trail_template, log_archive_template):
    if template is trail_template and topic_name.endswith("alerts"):
        template = log_archive_template
    logical_id, _ = topics(template)[topic_name]
    for policy in template.find_resources("AWS::SNS::TopicPolicy").values():
        if policy["Properties"]["Topics"] == [{"Ref": logical_id}]:
            deny = statement(policy["Properties"]["PolicyDocument"]["Statement"], "AllowPublishThroughSSLOnly")
            assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            return
    pytest.fail(f"no topic policy for {topic_name}")


def test_cloudtrail_publishes_to_delivery_topic_only_as_this_trail(template):
    s = statement(policy_statements(template, "AWS::SNS::TopicPolicy", "PolicyDocument", "Delivery"),
                  "CloudTrailPublishAsThisTrail")
    assert s["Principal"] == {"Service": "cloudtrail.amazonaws.com"} and s["Action"] == "sns:Publish"
    assert s["Condition"] == {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}


def test_log_group_is_encrypted_retained_and_has_retention(template):
    key_id = trail_key_id(template)
    (group,) = [g for k, g in template.find_resources("AWS::Logs::LogGroup").items() if "CloudWatchLogs" in k]
    assert group["DeletionPolicy"] == "Retain"
    assert group["Properties"] == {"LogGroupName": "/aws/cloudtrail/org-trail", "RetentionInDays": 365,
                                   "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}


def test_cloudtrail_role_is_assumed_only_by_this_trail(template):
    (role,) = [r for k, r in template.find_resources("AWS::IAM::Role").items() if "CloudWatchLogs" in k]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert resolve_arn_join(trust["Condition"]["StringEquals"]["aws:SourceArn"]) == TRAIL_ARN
    assert "Policies" not in role["Properties"]  # no inline policy


def test_cloudtrail_role_can_only_write_streams_of_the_trail_log_group(template, trail_template):
    account = MANAGEMENT_ACCOUNT if template is trail_template else DEPLOY_ACCOUNT
    statements = policy_statements(template, "AWS::IAM::ManagedPolicy", "PolicyDocument", "CloudWatchLogs")
    assert statements == [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                           "Resource": f"arn:aws:logs:{REGION}:{account}:log-group:/aws/cloudtrail/org-trail:log-stream:*"}]
