"""What the stack deploys is what the posture check expects: the trail's destination and the
log buckets' settings in the watcher's environment equal the synthesized trail's and
buckets' properties, the handler reads them, and its role may read those settings."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from conftest import DEPLOY_ACCOUNT, LOG_ARCHIVE_ACCOUNT, MANAGEMENT_ACCOUNT, REGION
from template_tokens import Deployment, as_list
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
    """Each rule's targets (ids, deployed ARNs and the digest of their settings) and the digest
    of its deployed pattern or schedule, and each alarm's logical id, action ARNs and the
    digest of its definition, as the handler reads them from the environment, are the
    synthesized template's (read as ListTargetsByRule and DescribeAlarms return them: their
    names are CloudFormation's)."""
    import json

    from trail_validators.contract.drift import (DEFAULT_TARGET_DIGEST, GENERATED_DIMENSIONS, alarm_digest,
                                                 alarm_key, alarms_digest, mirrored_pattern, parse_pattern, rule_digest,
                                                 target_digest)
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
        deployed = parse_pattern(json.dumps(d.resolve_within(props["EventPattern"]))) if "EventPattern" in props \
            else None
        if want.mirrored:  # a failed-calls rule: its real-alert twin's pattern, errorCode present
            assert deployed == {**deployed, "detail": {**deployed["detail"], "errorCode": [{"exists": True}]}}, name
            deployed = mirrored_pattern(deployed)
        assert want.digest == rule_digest(deployed, props.get("ScheduleExpression"),
                                          config.rule_values, partition), name
        assert dict(want.settings) == {t["Id"]: target_digest(d.resolve_within(t), config.rule_values, partition)
                                       for t in props["Targets"]}, name
        assert all(want.settings) and None not in dict(want.settings).values(), name
        if any(k in t for t in props["Targets"] for k in ("Input", "RetryPolicy")):
            assert DEFAULT_TARGET_DIGEST not in dict(want.settings).values(), name  # an input or retries set: pinned
    alarms = d.of_type("AWS::CloudWatch::Alarm")
    assert len(config.expected_alarms) == len(alarms) > 0
    prefix = f"{config.watched.stack_name}-"
    definitions = {}
    for logical_id, alarm in alarms.items():
        assert "AlarmName" not in alarm["Properties"] and alarm["Properties"]["AlarmActions"]
        key = alarm_key(f"{prefix}{logical_id}-1A2B3C4D5E6F", prefix, config.expected_alarms)
        assert key is not None, logical_id
        want = config.expected_alarms[key]
        assert want.actions == {field: tuple(sorted(d.resolve(alarm["Properties"].get(field, []))))
                                for field in ("AlarmActions", "OKActions", "InsufficientDataActions")}
        # only a dimension whose value is a reference to a generated name goes uncompared
        generated = generated_dimensions(alarm["Properties"])
        assert generated <= set(GENERATED_DIMENSIONS) and want.wildcards == (GENERATED_DIMENSIONS if generated else ())
        described = d.resolve_within(with_generated_values(alarm["Properties"], want.wildcards))
        definitions[key] = alarm_digest(described, config.rule_values, partition, want.wildcards)
        assert want.locator and definitions[key].startswith(want.locator), logical_id
    assert config.expected_alarms.digest == alarms_digest(definitions)
    for variable in (PostureEnv.EXPECTED_RULES, PostureEnv.EXPECTED_ALARMS):  # each ARN written once
        table = env[variable].split("|")[0].split(" ")
        assert len(set(table)) == len(table), variable
    assert config.watched.stack_name and env[PostureEnv.STACK_NAME] == config.watched.stack_name
    statements = d.role_statements(HANDLER)
    assert any(s["Action"] == "cloudwatch:DescribeAlarms" for s in statements)
    assert any(s["Action"] == ["events:DescribeRule", "events:ListTargetsByRule"] for s in statements)


def _dimensions(props: dict) -> list[dict]:
    return [*props.get("Dimensions", []), *(d for q in props.get("Metrics", [])
                                            for d in q.get("MetricStat", {}).get("Metric", {}).get("Dimensions", []))]


def generated_dimensions(props: dict) -> set[str]:
    """The dimensions of an alarm whose value is a reference to a name CloudFormation generates
    (a queue's, a state machine's ARN), not one of the watcher's variables."""
    return {d["Name"] for d in _dimensions(props) if isinstance(d["Value"], dict)}


def with_generated_values(props: dict, names) -> dict:
    """The alarm's properties with those dimensions' values as CloudFormation might name them."""
    import copy
    props = copy.deepcopy(props)
    for d in _dimensions(props):
        if d["Name"] in names:
            d["Value"] = "SecureTrail-GeneratedName-1A2B3C"
    return props


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
    from trail_validators.contract.drift import (DEFAULT_TARGET_DIGEST, GENERATED_DIMENSIONS, AlarmExpectation,
                                                 ArnContext, RuleExpectation, alarms_digest, decode_alarms,
                                                 decode_rules, encode_alarms, encode_rules)
    context = ArnContext(trail_name="t", partition="aws", region="eu-west-1", account="1", alerts_topic="arn:topic")
    queue = "arn:aws:sqs:eu-west-1:1:q"
    rules = {"t-digest-planner": ([("Target0", "~digest-planner")], "abc"),
             "t-digest-planner-revalidation": ([("Target0", "~digest-planner", "in-put")], "abd"),
             "t-posture-watcher-x": ([("Target0", "~posture-watcher"), ("Target1", queue, None)], None),
             "t-posture-watcher-y": ([("Target0", "~posture-watcher")], "d-_"), "other-rule": ([("Target0", "fn")], "e"),
             "t-posture-failed-calls-y": ([("Target0", queue)], "f")}
    text = encode_rules(rules, "t")
    assert text == ("~posture-watcher fn ~digest-planner @2!in-put arn:aws:sqs:eu-west-1:1:q @4!|other-rule=@1#e,"
                    "~digest-planner=@2#abc,~digest-planner-revalidation=@3#abd,%y=@4#f,^x=@0+Target1@5,^y#d-_")
    function, default = "arn:aws:lambda:eu-west-1:1:function:", DEFAULT_TARGET_DIGEST
    assert decode_rules(text, context) == {
        "t-digest-planner": RuleExpectation((("Target0", f"{function}t-digest-planner"),), "abc",
                                            (("Target0", default),)),
        "t-digest-planner-revalidation": RuleExpectation((("Target0", f"{function}t-digest-planner"),), "abd",
                                                         (("Target0", "in-put"),)),
        "t-posture-watcher-x": RuleExpectation((("Target0", f"{function}t-posture-watcher"), ("Target1", queue)),
                                               None, (("Target0", default), ("Target1", None))),
        "t-posture-watcher-y": RuleExpectation((("Target0", f"{function}t-posture-watcher"),), "d-_",
                                               (("Target0", default),)),
        "other-rule": RuleExpectation((("Target0", f"{function}fn"),), "e", (("Target0", default),)),
        "t-posture-failed-calls-y": RuleExpectation((("Target0", queue),), "f", (("Target0", default),))}
    for bad in ("", "~", "x|a=Target0", "x|a,a", "x|a=", "x|a=Target0@", "x|a=Target0@1", "x|a=Target0@0+", "x|a#", "x|~",
                "@0|a", "x @1|a", "x @0 @1|a", "x @y|a", "x|^", "x|%", "x|a=@", "x|^y,^y"):
        with pytest.raises(ValueError):
            decode_rules(bad, context)
    with pytest.raises(ValueError):
        encode_rules({"t-x": ([("Target0", "fn!x")], None)}, "t")  # a spec never holds the separators
    alarms = {"0072B4C7": [["$"], [], []], "F09697FC": [["$", queue], ["$"], []], "DeadLett": [["$"], [], []]}
    definitions = {"0072B4C7": ("h-bcdefghijkl", ()), "DeadLett": ("q_1234567890", ("QueueName",))}
    text = encode_alarms(alarms, definitions)
    combined = alarms_digest({key: digest for key, (digest, _) in definitions.items()})
    assert text == f"$ arn:aws:sqs:eu-west-1:1:q|0072B4C7,DeadLett!,F09697FC=0+1/0/|{combined}h-q_.."
    only_topic = {"AlarmActions": ("arn:topic",), "OKActions": (), "InsufficientDataActions": ()}
    decoded = decode_alarms(text, context)
    assert decoded == {
        "0072B4C7": AlarmExpectation(only_topic, "h-"),
        "DeadLett": AlarmExpectation(only_topic, "q_", GENERATED_DIMENSIONS),
        "F09697FC": AlarmExpectation({"AlarmActions": ("arn:aws:sqs:eu-west-1:1:q", "arn:topic"),
                                      "OKActions": ("arn:topic",), "InsufficientDataActions": ()})}
    assert decoded.digest == combined and decode_alarms("$|a", context).digest is None
    for bad in ("", "$|", "$|a,a", "$|a=0", "$|a=2//", "$|a-b", "$|a=x//", "$|a#", "$|a!", "$|a!b", f"$|a|{combined}",
                f"$|a|{combined}x", f"$|a|{combined}xyz", f"$|a|{combined}..", f"$|a,b|{combined}x.", f"$|a|{combined[1:]}xy"):
        with pytest.raises(ValueError):
            decode_alarms(bad, context)
    with pytest.raises(ValueError):
        encode_alarms(alarms, {"0072B4C7": ("h-bcdefghijkl", ("ServiceName",))})  # not a generated name


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


def test_with_a_60_character_trail_name_the_drift_check_iam_and_self_watch_cover_every_rule():
    """Rule names keep a prefix the watcher knows however long the trail's name: the check
    expects every rule, may read each (``rule/<prefix>*``), and the self-watch rule matches
    calls on each by name and by ARN."""
    from conftest import build_stack, default_props
    from template_tokens import string_like
    from trail_validators.contract import rule_prefix
    trail_name = "org-trail-" + "x" * 50
    assert len(trail_name) == 60
    d = deployment(build_stack(default_props(trail_name=trail_name)), DEPLOY_ACCOUNT)
    config = handler.config_from_env(d.environment(HANDLER))
    rules = {r["Properties"]["Name"]: logical_id for logical_id, r in d.of_type("AWS::Events::Rule").items()}
    assert len(rules) > 10 and all(len(name) <= 64 for name in rules)
    assert all(name.startswith(rule_prefix(trail_name)) for name in rules)
    assert set(config.expected_rules) == set(rules)
    (granted,) = [s for s in d.role_statements(HANDLER) if s["Action"] == ["events:DescribeRule",
                                                                             "events:ListTargetsByRule"]]
    patterns = [d.resolve(r) for r in as_list(granted["Resource"])]
    (self_watch,) = [r["Properties"] for r in d.of_type("AWS::Events::Rule").values()
                     if r["Properties"]["Name"].endswith("-posture-watcher-rulecalls")]
    pattern = d.resolve_within(self_watch["EventPattern"])
    prefixes = list(_prefixes(pattern))
    for name in rules:
        arn = f"arn:aws:events:{REGION}:{DEPLOY_ACCOUNT}:rule/{name}"
        assert any(string_like(p, arn) for p in patterns), (name, patterns)
        assert any(name.startswith(p) for p in prefixes) and any(arn.startswith(p) for p in prefixes), name


def _prefixes(node):
    if isinstance(node, dict):
        if set(node) == {"prefix"}:
            yield node["prefix"]
        for value in node.values():
            yield from _prefixes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _prefixes(value)


def test_rule_names_keep_their_prefix_and_are_unchanged_where_they_fit():
    from trail_validators.contract import RULE_NAME_LIMIT, rule_name, rule_prefix
    assert rule_name("org-trail", "posture-watcher-schedule") == "org-trail-posture-watcher-schedule"
    for length in (10, 40, 54, 55, 60, 128):
        trail = "t" * length
        names = {rule_name(trail, f"posture-watcher-{part}calls") for part in ("trail", "key", "statemachine")}
        assert len(names) == 3 and all(len(n) <= RULE_NAME_LIMIT and n.startswith(rule_prefix(trail)) for n in names)
        assert rule_prefix(trail) == f"{trail}-" if length <= 54 else rule_prefix(trail) != rule_prefix(trail + "u")



def test_an_expectation_that_names_a_watched_variable_reads_its_value_and_refuses_an_unset_one():
    from trail_validators.contract import ConfigurationError, dereference, env_reference
    environ = {PostureEnv.TRAIL_BUCKET: "org-trail-logs"}
    assert dereference(environ, env_reference(PostureEnv.TRAIL_BUCKET)) == "org-trail-logs"
    assert dereference(environ, "arn:aws:sns:eu-west-1:1:t") == "arn:aws:sns:eu-west-1:1:t"
    with pytest.raises(ConfigurationError, match=PostureEnv.KEY_ARN):
        dereference(environ, env_reference(PostureEnv.KEY_ARN))


def test_the_expected_trail_buckets_and_topic_are_written_once_where_a_watched_variable_holds_them(single):
    env = single.environment(HANDLER)
    assert json.loads(env[PostureEnv.EXPECTED_TRAIL])["S3BucketName"] == f"${PostureEnv.TRAIL_BUCKET}"
    assert json.loads(env[PostureEnv.EXPECTED_SUBSCRIPTIONS])["topic"] == "$ALERTS_TOPIC_ARN"
    assert {b["bucket"] for b in json.loads(env[PostureEnv.EXPECTED_BUCKETS])} == {
        f"${PostureEnv.TRAIL_BUCKET}", f"${PostureEnv.ACCESS_LOG_BUCKET}"}
