"""The access-log auditor pipeline in the template."""

import pytest

from conftest import build_stack, default_props, policy_statements
from aws_cdk.assertions import Template
from trail_validators.contract import PARTITION_KEY, TTL_ATTRIBUTE

from shape_fixtures import single_or_log_archive_full_template, single_or_log_archive_template  # noqa: F401
from template_tokens import one




def test_access_log_bucket_sends_object_created_to_event_bridge(template):
    _, bucket = one(template, "AWS::S3::Bucket", "AccessLogs")
    assert bucket["Properties"]["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    template.resource_count_is("Custom::S3BucketNotifications", 0)


def test_rule_sends_new_access_log_objects_to_the_queue(template):
    _, rule = one(template, "AWS::Events::Rule", "AccessLogAuditor")
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["Object Created"] and pattern["source"] == ["aws.s3"]
    assert pattern["detail"]["object"] == {"key": [{"prefix": "trail-bucket/"}]}
    assert rule["Properties"]["Name"] == "org-trail-access-log-auditor"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("SecureTrailAccessLogAuditorWorkQueue")


def test_queue_admits_event_bridge_only_as_the_auditor_rule(template):
    statements = policy_statements(template, "AWS::SQS::QueuePolicy", "PolicyDocument", "AccessLogAuditorWorkQueue")
    (events,) = [s for s in statements if s["Effect"] == "Allow"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"} and events["Action"] == "sqs:SendMessage"
    assert events["Condition"] == {
        "ArnEquals": {"aws:SourceArn": "arn:aws:events:eu-west-1:222222222222:rule/org-trail-access-log-auditor"},
        "StringEquals": {"aws:SourceAccount": "222222222222"}}


def test_queues_are_encrypted_tls_only_with_a_dlq(template):
    queues = {k: q for k, q in template.find_resources("AWS::SQS::Queue").items() if "AccessLogAuditor" in k}
    assert len(queues) == 2
    assert all(q["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("SecureTrailValidatorStateKey")
               for q in queues.values())
    _, queue = one(template, "AWS::SQS::Queue", "AccessLogAuditorWorkQueue")
    assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3
    for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
        assert {"Bool": {"aws:SecureTransport": "false"}} in [s.get("Condition") for s in
                                                             policy["Properties"]["PolicyDocument"]["Statement"]]


def test_auditor_is_python_3_14_arm64_with_partial_batch_failures(template):
    _, function = one(template, "AWS::Lambda::Function", "AccessLogAuditor")
    props = function["Properties"]
    assert (props["Runtime"], props["Architectures"]) == ("python3.14", ["arm64"])
    assert props["Handler"] == "trail_validators.handlers.access_log_auditor.handler"
    assert props["ReservedConcurrentExecutions"] > 0 and "DeadLetterConfig" in props
    assert props["Environment"]["Variables"]["MIN_TLS"] == "TLSv1.2"
    _, mapping = one(template, "AWS::Lambda::EventSourceMapping", "AccessLogAuditor")
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_auditor_role_is_least_privilege(template):
    statements = policy_statements(template, "AWS::IAM::ManagedPolicy", "PolicyDocument", "AccessLogAuditor")
    by_action = {tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],): s for s in statements}
    assert by_action[("s3:GetObject", "s3:GetObjectVersion")]["Resource"] == "<SecureTrailAccessLogsBucketFE163877.Arn>/trail-bucket/*"
    assert by_action[("sns:Publish",)]["Resource"] == "<SecureTrailTopicsAlertsDE2AE7F0>"
    assert by_action[("dynamodb:DeleteItem", "dynamodb:PutItem")]["Resource"].startswith("<SecureTrailValidatorsTable")
    (sns_kms,) = [s for s in statements if "kms:EncryptionContext:aws:sns:topicArn" in str(s.get("Condition"))]
    assert sns_kms["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert sns_kms["Resource"].startswith("<SecureTrailKey")
    assert sns_kms["Condition"] == {
        "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": "<SecureTrailTopicsAlertsDE2AE7F0>"}}
    for s in statements:
        assert s["Resource"] != "*" and "*" not in str(s["Action"]), s
    template.resource_count_is("AWS::IAM::Policy", 0)  # no inline policies anywhere


def test_table_is_on_demand_with_pitr_and_ttl(template):
    _, table = one(template, "AWS::DynamoDB::Table")
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["KeySchema"] == [{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True


@pytest.mark.parametrize(("alarm", "metric"), [("NonTlsSuccess", "NonTlsSuccess"),
                                               ("WorkDeadLetter", "ApproximateNumberOfMessagesVisible")])
def test_alarms_notify_the_alerts_topic(template, alarm, metric):
    _, found = one(template, "AWS::CloudWatch::Alarm", f"AccessLogAuditor{alarm}")
    assert found["Properties"]["MetricName"] == metric and found["Properties"]["Threshold"] == 1
    assert found["Properties"]["AlarmActions"] == [{"Ref": "SecureTrailTopicsAlertsDE2AE7F0"}]


def test_function_log_group_is_encrypted_with_the_key_it_may_use(template):
    _, group = one(template, "AWS::Logs::LogGroup", "AccessLogAuditor")
    assert group["Properties"]["LogGroupName"] == "/aws/lambda/org-trail-access-log-auditor"
    statements = policy_statements(template, "AWS::KMS::Key", "KeyPolicy")
    (logs,) = [s for s in statements if s.get("Sid") == "CloudWatchLogsEncryptOwnLogGroups"]
    assert [arn for arn in logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
            if arn.endswith(":log-group:/aws/lambda/org-trail-access-log-auditor")]


def test_auditor_can_be_turned_off():
    template = Template.from_stack(build_stack(default_props(audit_access_logs=False)))
    for resource_type in ("AWS::Lambda::Function", "AWS::SQS::Queue", "AWS::Events::Rule"):
        assert not [k for k in template.find_resources(resource_type) if "AccessLogAuditor" in k]
