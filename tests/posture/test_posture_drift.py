"""The scheduled check compares what S3 says of each log bucket (versioning, ownership,
Object Lock, replication, notifications, lifecycle) with what was deployed, on moto: the
deployed settings are no finding, each change made without its call being seen is one, a
setting that cannot be read keeps only that bucket's conditions open."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from trail_validators.contract import BucketExpectation, PostureKind, lifecycle_rule
from trail_validators.posture.aws import observe
from trail_validators.posture.judge import judge_status, state_changes

REGION = "eu-west-1"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:111111111111:trail/org-trail"
BUCKET = "org-trail-logs"
DEPLOYED = BucketExpectation(lifecycle=(lifecycle_rule(expiration_days=2557, noncurrent_days=365,
                                                       transitions=[(90, "GLACIER_IR")], abort_days=7),))
RULE = {"ID": "TransitionThenExpireTrailLogs", "Status": "Enabled", "Filter": {"Prefix": ""},
        "Transitions": [{"Days": 90, "StorageClass": "GLACIER_IR"}], "Expiration": {"Days": 2557},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 365},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}


class S3WithEventBridge:
    """moto's S3 with one gap filled: its GetBucketNotificationConfiguration drops the
    ``EventBridgeConfiguration`` that S3 returns; here the last one put comes back."""

    def __init__(self, client) -> None:
        self.client, self.notifications = client, {}

    def __getattr__(self, name):
        return getattr(self.client, name)

    def put_bucket_notification_configuration(self, *, Bucket, NotificationConfiguration):
        self.client.put_bucket_notification_configuration(Bucket=Bucket,
                                                          NotificationConfiguration=NotificationConfiguration)
        self.notifications[Bucket] = NotificationConfiguration

    def get_bucket_notification_configuration(self, *, Bucket):
        answer = self.client.get_bucket_notification_configuration(Bucket=Bucket)
        if "EventBridgeConfiguration" in self.notifications.get(Bucket, {}):
            answer["EventBridgeConfiguration"] = {}
        return answer


@pytest.fixture
def s3(aws_env):
    with mock_aws():
        client = S3WithEventBridge(boto3.client("s3", region_name=REGION))
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        client.put_bucket_ownership_controls(Bucket=BUCKET, OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        client.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [RULE]})
        client.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
            "EventBridgeConfiguration": {}})
        yield client


def drift(s3, expected=DEPLOYED):
    observation = observe(s3=s3, trail_arn=TRAIL_ARN, buckets=[BUCKET], settings_of=[BUCKET])
    return judge_status(observation, expected_selectors=None, trail_arn=TRAIL_ARN,
                        expected_buckets={BUCKET: expected})


def changed(s3, expected=DEPLOYED):
    return sorted(f.details["setting"] for f in drift(s3, expected) if f.kind == PostureKind.BUCKET_SETTING_CHANGED)


def test_the_deployed_settings_are_no_drift(s3):
    assert changed(s3) == []


def test_suspended_versioning_is_drift(s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    assert changed(s3) == ["versioning"]


def test_deleted_ownership_controls_are_drift(s3):
    s3.delete_bucket_ownership_controls(Bucket=BUCKET)
    assert changed(s3) == ["object_ownership"]


def test_replication_to_another_bucket_is_drift(s3):
    s3.put_bucket_replication(Bucket=BUCKET, ReplicationConfiguration={
        "Role": "arn:aws:iam::111111111111:role/replicate", "Rules": [{
            "ID": "copy", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": {"Bucket": "arn:aws:s3:::attacker-bucket"}}]})
    assert changed(s3) == ["replication"]


@pytest.mark.parametrize("rules", [
    [{**RULE, "Expiration": {"Days": 1}}],
    [RULE, {"ID": "quick", "Status": "Enabled", "Filter": {"Prefix": "AWSLogs/"}, "Expiration": {"Days": 2}}],
    [{**RULE, "Transitions": [{"Days": 1, "StorageClass": "DEEP_ARCHIVE"}]}],
    [{**RULE, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}],
])
def test_a_lifecycle_that_deletes_or_moves_sooner_is_drift(s3, rules):
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": rules})
    assert changed(s3) == ["lifecycle"]


def test_a_deleted_lifecycle_is_drift_and_a_disabled_rule_is_no_rule(s3):
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [
        RULE, {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]})
    assert changed(s3) == []
    s3.delete_bucket_lifecycle(Bucket=BUCKET)
    assert changed(s3) == ["lifecycle"]


def test_notifications_that_no_longer_reach_eventbridge_are_drift(s3):
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={})
    assert changed(s3) == ["notifications"]


def test_object_lock_differs_from_the_deployed_retention(aws_env):
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION},
                         ObjectLockEnabledForBucket=True, ObjectOwnership="BucketOwnerEnforced")
        s3.put_object_lock_configuration(Bucket=BUCKET, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
        locked = BucketExpectation(object_lock={"Mode": "COMPLIANCE", "Days": 400}, event_bridge=False,
                                   object_ownership="BucketOwnerEnforced")
        assert "object_lock" in changed(s3, locked)
        s3.put_object_lock_configuration(Bucket=BUCKET, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 400}}})
        assert "object_lock" not in changed(s3, locked)


def test_a_bucket_whose_settings_cannot_be_read_keeps_only_its_own_conditions_open(s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    first = state_changes([], drift(s3))
    assert [f.details["setting"] for f in first.appeared if f.kind == PostureKind.BUCKET_SETTING_CHANGED] == [
        "versioning"]
    s3.delete_bucket_ownership_controls(Bucket=BUCKET)

    class Denied:
        """GetBucketVersioning denied; the rest as S3 says."""

        def __getattr__(self, name):
            return getattr(s3, name)

        def get_bucket_versioning(self, **_):
            from botocore.exceptions import ClientError
            raise ClientError({"Error": {"Code": "AccessDenied"}}, "GetBucketVersioning")

    observation = observe(s3=Denied(), trail_arn=TRAIL_ARN, buckets=[BUCKET], settings_of=[BUCKET])
    second = state_changes(first.open_kinds, judge_status(observation, expected_selectors=None, trail_arn=TRAIL_ARN,
                                                          expected_buckets={BUCKET: DEPLOYED}))
    assert second.cleared == []  # versioning unknown: still open, neither cleared nor alerted again
    assert sorted((f.kind, f.details.get("setting")) for f in second.appeared) == [
        (PostureKind.BUCKET_SETTING_CHANGED, "object_ownership"), (PostureKind.CHECK_FAILED, None)]


# -- the alerts topic's subscriptions ---------------------------------------------------------
def test_a_removed_or_added_alert_subscription_is_drift(aws_env):
    with mock_aws():
        sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
        topic = sns.create_topic(Name="org-trail-alerts")["TopicArn"]
        queue = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName="soc")["QueueUrl"],
                                         AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        deployed = (topic, (("sqs", queue),))

        def drift():
            observation = observe(sns=sns, trail_arn=TRAIL_ARN, topic_arn=topic)
            return [f.kind for f in judge_status(observation, expected_selectors=None, trail_arn=TRAIL_ARN,
                                                 expected_subscriptions=deployed)]
        assert drift() == [PostureKind.SUBSCRIPTIONS_CHANGED]  # deployed, but unsubscribed
        subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)["SubscriptionArn"]
        assert drift() == []
        other = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue.replace("soc", "eavesdropper"))
        assert drift() == [PostureKind.SUBSCRIPTIONS_CHANGED]
        sns.unsubscribe(SubscriptionArn=other["SubscriptionArn"])
        sns.unsubscribe(SubscriptionArn=subscription)
        assert drift() == [PostureKind.SUBSCRIPTIONS_CHANGED]


PLANNER = f"arn:aws:lambda:{REGION}:111111111111:function:org-trail-digest-planner"
SCHEDULE = "rate(1 hour)"
PATTERN = {"source": ["aws.s3"], "detail": {"bucket": {"name": ["org-trail-logs"]}}}


def _rule_drift(events, expected):
    from trail_validators.posture.aws import observe
    observation = observe(events=events, rules=sorted(expected), trail_arn=TRAIL_ARN)
    return {(f.kind, f.keys[0]) for f in judge_status(observation, expected_selectors=None, trail_arn=TRAIL_ARN,
                                                      expected_rules=expected, rule_values={"org-trail-logs": "B"})
            if f.kind != PostureKind.TRAIL_MISSING}


@pytest.fixture
def events(aws_env):
    with mock_aws():
        client = boto3.client("events", region_name=REGION)
        client.put_rule(Name="org-trail-digest-planner", ScheduleExpression=SCHEDULE)
        client.put_rule(Name="org-trail-trail-watch", EventPattern=json.dumps(PATTERN))
        for name in ("org-trail-digest-planner", "org-trail-trail-watch"):
            client.put_targets(Rule=name, Targets=[{"Id": "Target0", "Arn": PLANNER}])
        yield client


def deployed_rules() -> dict:
    from trail_validators.contract.drift import Placeholder, RuleExpectation, rule_digest
    # the construct's side: the bucket name is a placeholder of the watcher's variable B
    watch = {"source": ["aws.s3"], "detail": {"bucket": {"name": [Placeholder("B")]}}}
    return {"org-trail-digest-planner": RuleExpectation((("Target0", PLANNER),), rule_digest(None, SCHEDULE)),
            "org-trail-trail-watch": RuleExpectation((("Target0", PLANNER),), rule_digest(watch, None)),
            "org-trail-posture-watcher-schedule": RuleExpectation((("Target0", PLANNER),))}


def test_a_disabled_deleted_or_retargeted_validator_rule_is_drift(events):
    expected = deployed_rules()
    assert _rule_drift(events, expected) == {(PostureKind.RULE_CHANGED, "org-trail-posture-watcher-schedule")}  # gone
    events.disable_rule(Name="org-trail-digest-planner")
    events.remove_targets(Rule="org-trail-trail-watch", Ids=["Target0"])
    assert _rule_drift(events, expected) == {(PostureKind.RULE_CHANGED, name) for name in expected}


def test_a_target_repointed_to_another_arn_under_the_same_id_is_drift(events):
    expected = {k: v for k, v in deployed_rules().items() if k != "org-trail-posture-watcher-schedule"}
    assert _rule_drift(events, expected) == set()
    events.put_targets(Rule="org-trail-digest-planner", Targets=[{"Id": "Target0", "Arn": PLANNER + "-decoy"}])
    assert _rule_drift(events, expected) == {(PostureKind.RULE_CHANGED, "org-trail-digest-planner")}


@pytest.mark.parametrize("change", [
    {"Name": "org-trail-digest-planner", "ScheduleExpression": "rate(7 days)"},
    {"Name": "org-trail-trail-watch", "EventPattern": json.dumps({**PATTERN, "source": ["aws.nothing"]})},
    {"Name": "org-trail-trail-watch", "EventPattern": json.dumps(
        {**PATTERN, "detail": {"bucket": {"name": ["another-bucket"]}}})},
    # the placeholder's own spelling is a literal, never the deployed value
    {"Name": "org-trail-trail-watch", "EventPattern": json.dumps({**PATTERN, "detail": {"bucket": {"name": ["B"]}}})},
])
def test_a_pattern_or_schedule_changed_by_put_rule_while_enabled_is_drift(events, change):
    expected = {k: v for k, v in deployed_rules().items() if k != "org-trail-posture-watcher-schedule"}
    assert _rule_drift(events, expected) == set()
    events.put_rule(State="ENABLED", **change)
    assert events.describe_rule(Name=change["Name"])["State"] == "ENABLED"
    assert _rule_drift(events, expected) == {(PostureKind.RULE_CHANGED, change["Name"])}


CALLS = {"source": ["aws.s3"], "detail": {"eventName": ["PutBucketPolicy"], "errorCode": [{"exists": False}]}}
FAILED_CALLS = {**CALLS, "detail": {**CALLS["detail"], "errorCode": [{"exists": True}]}}


@pytest.mark.parametrize("change", [
    None,
    {"detail": {**CALLS["detail"]}},  # the failed-calls rule turned into its twin: failed calls reach nothing
    {"detail": {"eventName": ["PutBucketPolicy"]}},  # errorCode dropped: every call goes to the queue
    {"detail": {**FAILED_CALLS["detail"], "eventName": ["GetBucketPolicy"]}},
])
def test_a_failed_calls_rule_is_held_to_its_real_alert_twin_with_errorcode_present(aws_env, change):
    """Its expected digest is the twin's (``MIRRORED`` in the environment), so only the very
    pattern of the twin with ``errorCode`` present matches it."""
    from trail_validators.contract.drift import RuleExpectation, rule_digest
    twin, failed = "org-trail-posture-watcher-bucketcalls", "org-trail-posture-failed-calls-bucketcalls"
    with mock_aws():
        client = boto3.client("events", region_name=REGION)
        for name, pattern in ((twin, CALLS), (failed, FAILED_CALLS if change is None else {**CALLS, **change})):
            client.put_rule(Name=name, EventPattern=json.dumps(pattern))
            client.put_targets(Rule=name, Targets=[{"Id": "Target0", "Arn": PLANNER}])
        digest = rule_digest(CALLS, None)
        expected = {twin: RuleExpectation((("Target0", PLANNER),), digest),
                    failed: RuleExpectation((("Target0", PLANNER),), digest, mirrored=True)}
        assert _rule_drift(client, expected) == (set() if change is None else {(PostureKind.RULE_CHANGED, failed)})


REVALIDATION = "org-trail-digest-planner-revalidation"
REVALIDATE = {"Id": "Target0", "Arn": PLANNER, "Input": json.dumps({"revalidate": True})}
WATCHER = f"arn:aws:lambda:{REGION}:111111111111:function:org-trail-posture-watcher"
WATCHED = {"Id": "Target0", "Arn": WATCHER, "RetryPolicy": {"MaximumRetryAttempts": 2}}
QUEUE = f"arn:aws:sqs:{REGION}:111111111111:org-trail-dead-letters"


@pytest.fixture
def targets(aws_env):
    """The daily re-validation rule (its target sends ``{"revalidate": true}``) and a posture
    rule (its target retries twice), with the expectation the construct writes of them."""
    from trail_validators.contract.drift import RuleExpectation, target_digest
    with mock_aws():
        client = boto3.client("events", region_name=REGION)
        client.put_rule(Name=REVALIDATION, ScheduleExpression="cron(45 3 * * ? *)")
        client.put_targets(Rule=REVALIDATION, Targets=[REVALIDATE])
        client.put_rule(Name="org-trail-posture-watcher-keycalls", EventPattern=json.dumps(PATTERN))
        client.put_targets(Rule="org-trail-posture-watcher-keycalls", Targets=[WATCHED])
        # the construct's side: CloudFormation's {"revalidate":true}, no spaces
        expected = {
            REVALIDATION: RuleExpectation((("Target0", PLANNER),), None,
                                          (("Target0", target_digest({"Input": '{"revalidate":true}'})),)),
            "org-trail-posture-watcher-keycalls": RuleExpectation(
                (("Target0", WATCHER),), None, (("Target0", target_digest({"RetryPolicy": {"MaximumRetryAttempts": 2}})),))}
        yield client, expected


@pytest.mark.parametrize("rule, change", [
    (REVALIDATION, {k: v for k, v in REVALIDATE.items() if k != "Input"}),  # a plain hourly run now
    (REVALIDATION, {**REVALIDATE, "Input": json.dumps({"revalidate": False})}),
    (REVALIDATION, {**REVALIDATE, "InputPath": "$.detail"}),
    (REVALIDATION, {"Id": "Target0", "Arn": PLANNER, "InputTransformer": {
        "InputPathsMap": {"r": "$.detail.revalidate"}, "InputTemplate": '{"revalidate": <r>}'}}),
    ("org-trail-posture-watcher-keycalls", {**WATCHED, "RetryPolicy": {"MaximumRetryAttempts": 0}}),
    ("org-trail-posture-watcher-keycalls", {**WATCHED, "RetryPolicy": {"MaximumRetryAttempts": 2,
                                                                        "MaximumEventAgeInSeconds": 60}}),
    ("org-trail-posture-watcher-keycalls", {**WATCHED, "DeadLetterConfig": {"Arn": QUEUE}}),
])
def test_a_target_sending_another_input_or_retrying_otherwise_under_the_same_id_and_arn_is_drift(targets, rule, change):
    client, expected = targets
    assert _rule_drift(client, expected) == set()
    client.put_targets(Rule=rule, Targets=[change])
    assert [(t["Id"], t["Arn"]) for t in client.list_targets_by_rule(Rule=rule)["Targets"]] == [("Target0", change["Arn"])]
    assert _rule_drift(client, expected) == {(PostureKind.RULE_CHANGED, rule)}


def test_the_same_target_settings_spelled_otherwise_are_no_drift(targets):
    """Input in other spacing, the retry policy's default age written out: the same delivery."""
    client, expected = targets
    client.put_targets(Rule=REVALIDATION, Targets=[{**REVALIDATE, "Input": '{ "revalidate" : true }'}])
    client.put_targets(Rule="org-trail-posture-watcher-keycalls", Targets=[
        {**WATCHED, "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 86400}}])
    assert _rule_drift(client, expected) == set()


def test_the_same_pattern_in_another_key_order_or_spacing_is_no_drift(events):
    expected = {k: v for k, v in deployed_rules().items() if k != "org-trail-posture-watcher-schedule"}
    events.put_rule(Name="org-trail-trail-watch", EventPattern=json.dumps(
        {"detail": {"bucket": {"name": ["org-trail-logs"]}}, "source": ["aws.s3"]}, indent=2))
    assert _rule_drift(events, expected) == set()


TOPIC = f"arn:aws:sns:{REGION}:111111111111:org-trail-alerts"
OURS = {"Heartbeat0072B4C7": "0072B4C7", "FindingsF09697FC": "F09697FC"}


@pytest.fixture
def cloudwatch(aws_env):
    with mock_aws():
        client = boto3.client("cloudwatch", region_name=REGION)
        # ours, another stack's whose name starts with ours and has the same logical ids, and one by hand
        for name in ("SecureTrail-Heartbeat0072B4C7-1AB2C3", "SecureTrail-FindingsF09697FC-2BC3D4",
                     "SecureTrail-Staging-Heartbeat0072B4C7-3CD4E5", "SecureTrail-Staging-FindingsF09697FC-4DE5F6",
                     "Other-Alarm-3C"):
            put_alarm(client, name, [TOPIC])
        yield client


DEFINITION = {"MetricName": "m", "Namespace": "n", "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1,
              "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold"}
"""Each alarm's definition as the construct deploys it (CloudFormation's integer threshold)."""


def put_alarm(client, name, actions, **definition):
    client.put_metric_alarm(AlarmName=name, **{**DEFINITION, **definition}, AlarmActions=actions)


def expected_alarms(definitions=None):
    """What the construct writes of the alarms (``OURS``), read back as the handler reads it."""
    from trail_validators.contract.drift import ArnContext, alarm_digest, decode_alarms, encode_alarms
    definitions = definitions or {key: DEFINITION for key in OURS.values()}
    text = encode_alarms({key: [[TOPIC], [], []] for key in OURS.values()},
                         {key: (alarm_digest(definition), ()) for key, definition in definitions.items()})
    return decode_alarms(text, ArnContext(trail_name="org-trail", partition="aws", region=REGION,
                                          account="111111111111"))


def alarm_drift(cloudwatch, expected=None):
    from trail_validators.posture.aws import observe
    expected = expected_alarms() if expected is None else expected
    observation = observe(cloudwatch=cloudwatch, alarm_prefix="SecureTrail-", trail_arn=TRAIL_ARN)
    return sorted(f.keys[-1] for f in judge_status(observation, expected_selectors=None, trail_arn=TRAIL_ARN,
                                                  expected_alarms=expected, alarm_prefix="SecureTrail-")
                  if f.kind == PostureKind.ALARM_CHANGED)


def test_a_deleted_or_silenced_alarm_of_the_stack_is_drift(cloudwatch):
    assert alarm_drift(cloudwatch) == []
    cloudwatch.disable_alarm_actions(AlarmNames=["SecureTrail-FindingsF09697FC-2BC3D4"])
    assert alarm_drift(cloudwatch) == ["SecureTrail-FindingsF09697FC-2BC3D4"]
    cloudwatch.delete_alarms(AlarmNames=["SecureTrail-Heartbeat0072B4C7-1AB2C3"])
    assert alarm_drift(cloudwatch) == ["SecureTrail-*", "SecureTrail-FindingsF09697FC-2BC3D4"]


def test_an_alarm_redirected_to_another_topic_with_as_many_actions_is_drift(cloudwatch):
    put_alarm(cloudwatch, "SecureTrail-FindingsF09697FC-2BC3D4", [TOPIC.replace("alerts", "attacker")])
    assert alarm_drift(cloudwatch) == ["SecureTrail-FindingsF09697FC-2BC3D4"]
    put_alarm(cloudwatch, "SecureTrail-FindingsF09697FC-2BC3D4", [TOPIC])
    cloudwatch.put_metric_alarm(AlarmName="SecureTrail-Heartbeat0072B4C7-1AB2C3", MetricName="m", Namespace="n",
                                Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold", AlarmActions=[TOPIC],
                                OKActions=[TOPIC.replace("alerts", "attacker")])
    assert alarm_drift(cloudwatch) == ["SecureTrail-Heartbeat0072B4C7-1AB2C3"]


HEARTBEAT = "SecureTrail-Heartbeat0072B4C7-1AB2C3"


@pytest.mark.parametrize("definition", [
    {"MetricName": "quiet"}, {"Namespace": "Elsewhere"}, {"Dimensions": [{"Name": "service", "Value": "x"}]},
    {"Statistic": "Minimum"}, {"Period": 86400}, {"Threshold": 1000000}, {"ComparisonOperator": "LessThanThreshold"},
    {"EvaluationPeriods": 100}, {"EvaluationPeriods": 3, "DatapointsToAlarm": 3}, {"DatapointsToAlarm": 1,
                                                                                 "EvaluationPeriods": 2},
    {"TreatMissingData": "notBreaching"},
])
def test_an_alarm_recreated_under_its_name_and_actions_watching_something_else_is_drift(cloudwatch, definition):
    """Deleting an alarm and putting one of the same name and actions that watches another
    metric or fires on another condition: the actions still match, the definition does not."""
    assert alarm_drift(cloudwatch) == []
    cloudwatch.delete_alarms(AlarmNames=[HEARTBEAT])
    put_alarm(cloudwatch, HEARTBEAT, [TOPIC], **definition)
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[HEARTBEAT])["MetricAlarms"]
    assert alarm["AlarmActions"] == [TOPIC] and alarm["ActionsEnabled"] is True
    assert alarm_drift(cloudwatch) == [HEARTBEAT]


def test_the_deployed_definition_spelled_as_described_is_no_drift(cloudwatch):
    """DescribeAlarms' float threshold, its datapoints left out (all of the evaluation
    periods) and missing data left out (``missing``) are what was deployed."""
    deployed = {**DEFINITION, "DatapointsToAlarm": 1, "TreatMissingData": "missing", "Threshold": 1.0,
                "Dimensions": [{"Name": "b", "Value": "2"}, {"Name": "a", "Value": "1"}]}
    put_alarm(cloudwatch, HEARTBEAT, [TOPIC], Dimensions=[{"Name": "a", "Value": "1"}, {"Name": "b", "Value": "2"}])
    assert alarm_drift(cloudwatch, expected_alarms({"0072B4C7": deployed, "F09697FC": DEFINITION})) == []


def test_a_generated_dimension_is_a_wildcard_and_every_other_field_still_counts():
    from trail_validators.contract.drift import GENERATED_DIMENSIONS, alarm_digest
    queue = {**DEFINITION, "Dimensions": [{"Name": "QueueName", "Value": "SecureTrail-DeadLetters-1A2B"}]}
    other_queue = {**queue, "Dimensions": [{"Name": "QueueName", "Value": "another-queue"}]}
    assert alarm_digest(queue, wildcards=GENERATED_DIMENSIONS) == alarm_digest(other_queue, wildcards=GENERATED_DIMENSIONS)
    assert alarm_digest(queue) != alarm_digest(other_queue)
    assert alarm_digest({**queue, "TreatMissingData": "notBreaching"}, wildcards=GENERATED_DIMENSIONS) != \
        alarm_digest(queue, wildcards=GENERATED_DIMENSIONS)
    assert alarm_digest({**queue, "Dimensions": [{"Name": "ServiceName", "Value": "x"}]},
                        wildcards=GENERATED_DIMENSIONS) != alarm_digest(queue, wildcards=GENERATED_DIMENSIONS)


def test_the_definitions_together_are_pinned_though_each_locator_matches(cloudwatch):
    """The environment holds a short locator per alarm and one full digest of them all: a
    change whose locator matches by chance is still drift, of which alarm not known."""
    from trail_validators.contract.drift import AlarmExpectation, ExpectedAlarms, alarm_digest
    changed = {**DEFINITION, "Threshold": 7}
    put_alarm(cloudwatch, HEARTBEAT, [TOPIC], Threshold=7)
    expected = ExpectedAlarms({key: AlarmExpectation(want.actions, alarm_digest(
        changed if key == "0072B4C7" else DEFINITION)[:2]) for key, want in expected_alarms().items()})
    expected.digest = expected_alarms().digest
    assert alarm_drift(cloudwatch, expected) == ["definitions"]


def test_an_alarm_of_a_stack_whose_name_starts_with_ours_is_never_judged_as_ours(cloudwatch):
    """DescribeAlarms by ``SecureTrail-`` also returns the alarms of ``SecureTrail-Staging``
    (same construct, same logical ids): they neither stand in for ours nor raise findings."""
    cloudwatch.disable_alarm_actions(AlarmNames=["SecureTrail-Staging-FindingsF09697FC-4DE5F6"])
    put_alarm(cloudwatch, "SecureTrail-Staging-Heartbeat0072B4C7-3CD4E5", [TOPIC.replace("alerts", "staging")])
    assert alarm_drift(cloudwatch) == []
    cloudwatch.delete_alarms(AlarmNames=["SecureTrail-Heartbeat0072B4C7-1AB2C3"])
    assert alarm_drift(cloudwatch) == ["SecureTrail-*"]  # ours is missing, though as many alarms match the prefix


