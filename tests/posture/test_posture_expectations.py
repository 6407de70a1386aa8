"""What the stack deploys is what the posture check expects: the trail's destination and the
log buckets' settings in the watcher's environment equal the synthesized trail's and
buckets' properties, the handler reads them, and its role may read those settings."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from conftest import DEPLOY_ACCOUNT, LOG_ARCHIVE_ACCOUNT, MANAGEMENT_ACCOUNT, REGION
from template_tokens import Deployment
from trail_validators.contract import EXPECTED_TRAIL_FIELDS, PostureEnv, lifecycle_rule
from trail_validators.handlers import posture as handler
from trail_validators.posture.judge import api_lifecycle_rule

HANDLER = "trail_validators.handlers.posture.handler"
CFN_NAMES = {"S3BucketName": "S3BucketName", "S3KeyPrefix": "S3KeyPrefix", "KmsKeyId": "KMSKeyId",
             "CloudWatchLogsLogGroupArn": "CloudWatchLogsLogGroupArn",
             "CloudWatchLogsRoleArn": "CloudWatchLogsRoleArn", "SnsTopicARN": "SnsTopicName"}


def deployment(stack_or_template, account: str) -> Deployment:
    template = stack_or_template if isinstance(stack_or_template, Template) else Template.from_stack(stack_or_template)
    return Deployment(template.to_json()["Resources"], account, REGION)


@pytest.fixture(scope="module")
def single(template) -> Deployment:
    return deployment(template, DEPLOY_ACCOUNT)


@pytest.fixture(scope="module")
def org(org_stacks) -> tuple[Deployment, Deployment]:
    return deployment(org_stacks[0], LOG_ARCHIVE_ACCOUNT), deployment(org_stacks[1], MANAGEMENT_ACCOUNT)


def trail_properties(d: Deployment) -> dict[str, str]:
    (trail,) = d.of_type("AWS::CloudTrail::Trail").values()
    props = trail["Properties"]
    return {api: d.resolve(props[cfn]) if cfn in props else "" for api, cfn in CFN_NAMES.items()}


@pytest.mark.parametrize("shape", ["single", "trail stack"])
def test_the_expected_destination_is_the_synthesized_trails(shape, single, org):
    d = single if shape == "single" else org[1]
    config = handler.config_from_env(d.environment(HANDLER))
    assert set(config.expected_trail) == set(EXPECTED_TRAIL_FIELDS)
    assert config.expected_trail == trail_properties(d)
    assert config.expected_trail["CloudWatchLogsLogGroupArn"] and config.expected_trail["S3BucketName"]


def test_the_log_archive_watcher_expects_no_trail(org):
    env = org[0].environment(HANDLER)
    assert PostureEnv.EXPECTED_TRAIL not in env and handler.config_from_env(env).expected_trail is None


@pytest.mark.parametrize("shape", ["single", "log archive"])
def test_the_expected_bucket_settings_are_the_synthesized_buckets(shape, single, org):
    d = single if shape == "single" else org[0]
    env = d.environment(HANDLER)
    config = handler.config_from_env(env)
    by_name = {d.name(k): r["Properties"] for k, r in d.of_type("AWS::S3::Bucket").items()}
    assert set(config.expected_buckets) == {env[PostureEnv.TRAIL_BUCKET], env[PostureEnv.ACCESS_LOG_BUCKET]}
    for bucket, expected in config.expected_buckets.items():
        props = by_name[bucket]
        assert expected.versioning == props["VersioningConfiguration"]["Status"] == "Enabled"
        assert expected.object_ownership == props["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
        assert expected.event_bridge is props["NotificationConfiguration"]["EventBridgeConfiguration"][
            "EventBridgeEnabled"] is True
        assert expected.replication is ("ReplicationConfiguration" in props) is False
        # The template's rules, read as S3 would return them, are the expected ones.
        as_s3_returns = [api_lifecycle_rule({
            "Status": r["Status"], "Filter": {"Prefix": r.get("Prefix", "")},
            **({"Expiration": {"Days": r["ExpirationInDays"]}} if "ExpirationInDays" in r else {}),
            **({"NoncurrentVersionExpiration": {"NoncurrentDays": r["NoncurrentVersionExpiration"]["NoncurrentDays"]}}
               if "NoncurrentVersionExpiration" in r else {}),
            "Transitions": [{"Days": t["TransitionInDays"], "StorageClass": t["StorageClass"]}
                            for t in r.get("Transitions", [])],
            **({"AbortIncompleteMultipartUpload": r["AbortIncompleteMultipartUpload"]}
               if "AbortIncompleteMultipartUpload" in r else {})})
            for r in props["LifecycleConfiguration"]["Rules"]]
        assert list(expected.lifecycle) == as_s3_returns and as_s3_returns[0] != lifecycle_rule()


def test_the_object_lock_retention_is_expected_where_it_is_deployed(full_stack):
    d = deployment(full_stack, DEPLOY_ACCOUNT)
    config = handler.config_from_env(d.environment(HANDLER))
    trail_bucket = d.environment(HANDLER)[PostureEnv.TRAIL_BUCKET]
    assert config.expected_buckets[trail_bucket].object_lock == {"Mode": "COMPLIANCE", "Days": 400}
    access = d.environment(HANDLER)[PostureEnv.ACCESS_LOG_BUCKET]
    assert config.expected_buckets[access].object_lock is None


def test_the_watcher_may_read_the_settings_it_compares(single):
    statements = single.role_statements(HANDLER)
    env = single.environment(HANDLER)
    wanted = {"s3:GetBucketVersioning", "s3:GetBucketOwnershipControls", "s3:GetBucketObjectLockConfiguration",
              "s3:GetReplicationConfiguration", "s3:GetBucketNotification", "s3:GetLifecycleConfiguration"}
    granted = [s for s in statements if wanted <= set(s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    assert len(granted) == 1
    resources = {single.resolve(r) for r in granted[0]["Resource"]}
    assert resources == {f"arn:aws:s3:::{env[PostureEnv.TRAIL_BUCKET]}", f"arn:aws:s3:::{env[PostureEnv.ACCESS_LOG_BUCKET]}"}


def test_the_expected_alert_subscriptions_are_the_synthesized_ones():
    from conftest import build_stack, default_props
    d = deployment(build_stack(default_props(alert_subscriptions=("soc@example.com",))), DEPLOY_ACCOUNT)
    env = d.environment(HANDLER)
    topic, subscriptions = handler.config_from_env(env).expected_subscriptions
    synthesized = [(r["Properties"]["Protocol"], d.resolve(r["Properties"]["Endpoint"]))
                   for r in d.of_type("AWS::SNS::Subscription").values()
                   if d.resolve(r["Properties"]["TopicArn"]) == topic]
    assert list(subscriptions) == synthesized == [("email", "soc@example.com")]
    (granted,) = [s for s in d.role_statements(HANDLER) if "sns:ListSubscriptionsByTopic" in s["Action"]]
    assert d.resolve(granted["Resource"]) == topic


@pytest.mark.parametrize("shape", ["single", "log_archive", "trail"])
def test_the_expected_rules_and_alarms_are_every_named_rule_and_alarm_the_stack_makes(shape, single, org):
    """Each rule's targets (ids and deployed ARNs) and the digest of its deployed pattern or
    schedule, and each alarm's logical id and action ARNs, as the handler reads them from the
    environment, are the synthesized template's."""
    import json

    from trail_validators.contract.drift import alarm_key, parse_pattern, rule_digest
    d = {"single": single, "log_archive": org[0], "trail": org[1]}[shape]
    env = d.environment(HANDLER)
    config = handler.config_from_env(env)
    rules = {r["Properties"]["Name"]: r["Properties"] for r in d.of_type("AWS::Events::Rule").values()}
    assert all(isinstance(name, str) for name in rules)  # every rule named: the check reads each
    assert set(config.expected_rules) == set(rules)
    partition = env[PostureEnv.TRAIL_ARN].split(":")[1]
    for name, props in rules.items():
        want = config.expected_rules[name]
        assert list(want.targets) == sorted((t["Id"], d.resolve(t["Arn"])) for t in props["Targets"]), name
        deployed = json.dumps(d.resolve_within(props["EventPattern"])) if "EventPattern" in props else None
        assert want.digest == rule_digest(parse_pattern(deployed), props.get("ScheduleExpression"),
                                          config.rule_values, partition), name
    alarms = d.of_type("AWS::CloudWatch::Alarm")
    assert len(config.expected_alarms) == len(alarms) > 0
    prefix = f"{config.watched.stack_name}-"
    for logical_id, alarm in alarms.items():
        assert "AlarmName" not in alarm["Properties"] and alarm["Properties"]["AlarmActions"]
        key = alarm_key(f"{prefix}{logical_id}-1A2B3C4D5E6F", prefix, config.expected_alarms)
        assert key is not None, logical_id
        assert config.expected_alarms[key] == {field: tuple(sorted(d.resolve(alarm["Properties"].get(field, []))))
                                               for field in ("AlarmActions", "OKActions", "InsufficientDataActions")}
    for variable in (PostureEnv.EXPECTED_RULES, PostureEnv.EXPECTED_ALARMS):  # each ARN written once
        table = env[variable].split("|")[0].split(" ")
        assert len(set(table)) == len(table), variable
    assert config.watched.stack_name and env[PostureEnv.STACK_NAME] == config.watched.stack_name
    statements = d.role_statements(HANDLER)
    assert any(s["Action"] == "cloudwatch:DescribeAlarms" for s in statements)
    assert any(s["Action"] == ["events:DescribeRule", "events:ListTargetsByRule"] for s in statements)


def test_a_changed_pattern_of_a_synthesized_rule_no_longer_has_its_digest(single):
    """The digest pins the pattern itself: one bucket name more in a deployed pattern is drift."""
    import json

    from trail_validators.contract.drift import parse_pattern, rule_digest
    config = handler.config_from_env(single.environment(HANDLER))
    (props,) = [r["Properties"] for r in single.of_type("AWS::Events::Rule").values()
                if r["Properties"]["Name"].endswith("-trail-watch")]
    pattern = single.resolve_within(props["EventPattern"])
    assert rule_digest(pattern, None, config.rule_values, "aws") == config.expected_rules[props["Name"]].digest
    pattern["detail"]["bucket"]["name"].append("another-bucket")
    assert rule_digest(parse_pattern(json.dumps(pattern)), None, config.rule_values, "aws") != \
        config.expected_rules[props["Name"]].digest


def test_the_rules_and_alarms_encodings_round_trip_and_refuse_what_they_cannot_read():
    from trail_validators.contract.drift import (ArnContext, RuleExpectation, decode_alarms, decode_rules,
                                                 encode_alarms, encode_rules)
    context = ArnContext(trail_name="t", partition="aws", region="eu-west-1", account="1", alerts_topic="arn:topic")
    queue = "arn:aws:sqs:eu-west-1:1:q"
    rules = {"t-digest-planner": ([("Target0", "~digest-planner")], "abc"),
             "t-posture-watcher-x": ([("Target0", "~posture-watcher"), ("Target1", queue)], None),
             "t-posture-watcher-y": ([("Target0", "~posture-watcher")], "d-_"), "other-rule": ([("Target0", "fn")], "e"),
             "t-posture-failed-calls-y": ([("Target0", queue)], "f")}
    text = encode_rules(rules, "t")
    assert text == ("arn:aws:sqs:eu-west-1:1:q ~posture-watcher fn ~digest-planner|other-rule=@2#e,"
                    "~digest-planner=@3#abc,!y#f,^x=@1+Target1@0,^y=@1#d-_")
    function = "arn:aws:lambda:eu-west-1:1:function:"
    assert decode_rules(text, context) == {
        "t-digest-planner": RuleExpectation((("Target0", f"{function}t-digest-planner"),), "abc"),
        "t-posture-watcher-x": RuleExpectation((("Target0", f"{function}t-posture-watcher"), ("Target1", queue))),
        "t-posture-watcher-y": RuleExpectation((("Target0", f"{function}t-posture-watcher"),), "d-_"),
        "other-rule": RuleExpectation((("Target0", f"{function}fn"),), "e"),
        "t-posture-failed-calls-y": RuleExpectation((("Target0", queue),), "f")}
    for bad in ("", "~", "x|a=Target0", "x|a,a", "x|a=", "x|a=Target0@", "x|a=Target0@1", "x|a=Target0@0+", "x|a#", "x|~",
                "x|^", "x|!", "x|a=@", "x|^y,^y"):
        with pytest.raises(ValueError):
            decode_rules(bad, context)
    alarms = {"0072B4C7": [["$"], [], []], "F09697FC": [["$", queue], ["$"], []]}
    text = encode_alarms(alarms)
    assert text == "$ arn:aws:sqs:eu-west-1:1:q|0072B4C7,F09697FC=0+1/0/"
    assert decode_alarms(text, context) == {
        "0072B4C7": {"AlarmActions": ("arn:topic",), "OKActions": (), "InsufficientDataActions": ()},
        "F09697FC": {"AlarmActions": ("arn:aws:sqs:eu-west-1:1:q", "arn:topic"), "OKActions": ("arn:topic",),
                     "InsufficientDataActions": ()}}
    for bad in ("", "$|", "$|a,a", "$|a=0", "$|a=2//", "$|a-b", "$|a=x//"):
        with pytest.raises(ValueError):
            decode_alarms(bad, context)


@pytest.mark.parametrize("props", ["full", "long_name"])
def test_the_watchers_environment_fits_lambdas_4_kb(props, full_stack):
    import json
    from conftest import build_stack, default_props
    stack = full_stack if props == "full" else build_stack(default_props(trail_name="a" * 100 + "-org-trail"))
    d = deployment(stack, DEPLOY_ACCOUNT)
    handler.config_from_env(d.environment(HANDLER))  # what it holds, the handler reads
    # each reference stands for a value of at most about 100 characters once deployed
    env = {k: v if isinstance(v, str) else "x" * 100 for k, v in d.environment(HANDLER).items()}
    assert len(json.dumps(env, separators=(",", ":"))) < 4096
