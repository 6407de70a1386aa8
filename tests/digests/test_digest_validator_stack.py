"""The continuous digest validation in the template."""

from aws_cdk.assertions import Template

from conftest import build_stack, default_props, policy_statements
from template_tokens import one


from shape_fixtures import single_or_log_archive_full_template, single_or_log_archive_template  # noqa: F401


def test_hourly_schedule_starts_the_planner_at_the_contract_minute(template):
    from trail_validators.contract import DIGEST_PLAN_MINUTE
    _, rule = one(template, "AWS::Events::Rule", "DigestValidatorHourly")
    assert rule["Properties"]["ScheduleExpression"] == f"cron({DIGEST_PLAN_MINUTE} * * * ? *)" == "cron(15 * * * ? *)"
    assert rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0].startswith("SecureTrailDigestValidatorPlanner")


def test_planner_and_worker_are_python_3_14_arm64(template):
    for name, handler in (("Planner", "planner"), ("Worker", "worker")):
        _, function = one(template, "AWS::Lambda::Function", f"DigestValidator{name}")
        props = function["Properties"]
        assert (props["Runtime"], props["Architectures"]) == ("python3.14", ["arm64"])
        assert props["Handler"] == f"trail_validators.handlers.digest_validation.{handler}"
        assert props["Environment"]["Variables"]["ORG_ID"] == "o-a1b2c3d4e5"


def test_worker_consumes_with_partial_batch_failures_and_a_dlq(template):
    _, mapping = one(template, "AWS::Lambda::EventSourceMapping", "DigestValidator")
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    _, queue = one(template, "AWS::SQS::Queue", "DigestValidatorWorkQueue")
    assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3
    assert queue["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("SecureTrailValidatorStateKey")


def test_worker_reads_only_awslogs_and_decrypts_only_cloudtrail_logs_or_the_trail_bucket_through_s3(template):
    statements = policy_statements(template, "AWS::IAM::ManagedPolicy", "PolicyDocument", "DigestValidatorWorker")
    by_action = {tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],): s for s in statements}
    assert by_action[("s3:GetObject",)]["Resource"] == "<SecureTrailTrailLogsBucket3FF63E8C.Arn>/AWSLogs/*"
    assert by_action[("s3:ListBucket",)]["Condition"] == {"StringLike": {"s3:prefix": ["AWSLogs/*"]}}
    decrypt = [s for s in statements if s["Action"] == "kms:Decrypt" and s["Resource"] == "<SecureTrailKey7D49E834.Arn>"]
    bucket = "<SecureTrailTrailLogsBucket3FF63E8C.Arn>"
    assert [(s["Resource"], s["Condition"]) for s in decrypt] == [
        ("<SecureTrailKey7D49E834.Arn>", {"Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"}}),
        ("<SecureTrailKey7D49E834.Arn>", {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"},
                                          "ArnLike": {"kms:EncryptionContext:aws:s3:arn": [bucket, f"{bucket}/AWSLogs/*"]}})]
    assert by_action[("cloudtrail:ListPublicKeys",)]["Resource"] == "*"
    wildcard_resources = [s for s in statements if s["Resource"] == "*"]
    assert [s["Action"] for s in wildcard_resources] == ["cloudtrail:ListPublicKeys"]
    for actions in (("dynamodb:GetItem", "dynamodb:PutItem"), ("dynamodb:DeleteItem", "dynamodb:PutItem")):
        assert by_action[actions]["Resource"].startswith("<SecureTrailValidatorsTable")


def test_planner_can_only_list_awslogs_and_queue(template):
    statements = policy_statements(template, "AWS::IAM::ManagedPolicy", "PolicyDocument", "DigestValidatorPlanner")
    state = [s for s in statements if str(s["Resource"]).startswith("<SecureTrailValidatorState")]
    actions = sorted(str(s["Action"]) for s in statements if s not in state)
    assert actions == ["['logs:CreateLogStream', 'logs:PutLogEvents']", "s3:ListBucket", "s3:PutObject",
                       "sqs:SendMessage"]
    (put,) = [s for s in statements if s["Action"] == "s3:PutObject"]
    assert "/items/*" in str(put["Resource"]) and "Backfill" in str(put["Resource"])  # the backfill's item lists
    # The state key: only to send (the queue, its DLQ), read its own environment, write item lists.
    assert sorted(str(s["Action"]) for s in state) == \
        ["['kms:Decrypt', 'kms:GenerateDataKey']"] * 2 + ["kms:Decrypt", "kms:GenerateDataKey"]
    (send,) = [s for s in statements if s["Action"] == "sqs:SendMessage"]
    assert [r.split("Work")[1][:5] for r in sorted(send["Resource"])] == ["DeadL", "Queue"]


def test_tampering_alarm_notifies_the_alerts_topic(template):
    _, alarm = one(template, "AWS::CloudWatch::Alarm", "DigestValidatorTampering")
    props = alarm["Properties"]
    assert (props["MetricName"], props["Namespace"], props["Threshold"]) == ("TamperingFindings", "SecureTrail", 1)
    assert props["Dimensions"] == [{"Name": "service", "Value": "digest-validator"}]
    assert props["AlarmActions"] == [{"Ref": "SecureTrailTopicsAlertsDE2AE7F0"}]


def test_key_prefix_reaches_the_worker(full_template):
    statements = policy_statements(full_template, "AWS::IAM::ManagedPolicy", "PolicyDocument", "DigestValidatorWorker")
    (get,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert get["Resource"].endswith("/org/trail/AWSLogs/*")


def test_digest_validation_can_be_turned_off():
    template = Template.from_stack(build_stack(default_props(validate_digests=False)))
    assert not [k for k in template.find_resources("AWS::Lambda::Function") if "DigestValidator" in k]


def test_strict_digest_validation_reaches_the_worker():
    from trail_validators.handlers.digest_validation import worker_config_from_env
    for strict in (False, True):
        template = Template.from_stack(build_stack(default_props(strict_digest_validation=strict)))
        _, worker = one(template, "AWS::Lambda::Function", "DigestValidatorWorker")
        variables = worker["Properties"]["Environment"]["Variables"]
        environ = {name: value if isinstance(value, str) else "x" for name, value in variables.items()}
        assert worker_config_from_env(environ).strict is strict
