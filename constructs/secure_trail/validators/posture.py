"""The posture watcher: notices, as it happens, every call that can weaken the trail, its
buckets, its key or its log group, and checks the trail's status on a schedule.

EventBridge rules (default bus, the account and region where the calls happen; they match
only calls naming this trail's own resources, and only calls that succeeded) and a schedule -->
one Lambda (``trail_validators.handlers.posture``) --> alerts topic + EMF metrics; beside each
rule, one on the same calls that failed --> the failed-calls path (``posture_failed_calls``:
its own queue and function, so a flood of denied calls never delays a real alert); the open conditions
of the last check in the validators' table (``posture#`` items only); an alarm on any
posture finding and on the function's dead-letter queue.

Which resources one watcher owns depends on the shape: all of them in the single stack;
the buckets and the key in the Log Archive account, the trail and its log group in the
trail's account, each with its own watcher (``watch_trail``, ``buckets``, ``key``).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import jsii
from aws_cdk import Duration, IStableStringProducer, Lazy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from ..contract import POSTURE_WATCHER as ROLE
from ..contract import (EXPECTED_TRAIL_FIELDS, HEARTBEATS, BucketExpectation, Env, PostureEnv, PostureMetrics,
                        encode_flag, env_reference, lifecycle_rule, rule_prefix)
from ..contract.drift import (ALARM_DEFINITION, ALERTS_TOPIC_SPEC, GENERATED_DIMENSIONS, KEY_ID, MIRRORED,
                              PATTERN_VARIABLES, ArnTail, Placeholder, alarm_digest, alarm_keys, encode_alarms,
                              encode_rules, mirror_twin, mirrored_pattern, rule_digest, target_digest)
from ..contract.weakening_calls import (ANY_VALUE_FIELDS, API_CALL, CLOUDTRAIL, CLOUDWATCH, DYNAMODB,
                                        EVENTBRIDGE_SOURCES, EVENTS, FAILED, KMS, LAMBDA, LOGS, RESOURCE_FIELDS,
                                        RESPONSE_FIELDS, S3, SNS, SQS, STATES, SUCCEEDED, WEAKENING_CALLS,
                                        own_prefixes)

from ..compliance import acknowledge, acknowledge_control, nag_resource
from ..names import TrailIdentity
from .function import ValidatorFunction, acknowledge_foreign_alerts_key, publish_alerts_statements
from .posture_failed_calls import PostureFailedCalls
from .queue import count_alarm, heartbeat_alarm
from .state_key import ValidatorStateKey
from .table import item_statements

HANDLER = "trail_validators.handlers.posture"


class PostureWatcher(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity, state_key: ValidatorStateKey,
                 table: dynamodb.ITable, alerts_topic: sns.ITopic, alerts_key_arn: str, function_key: kms.IKey,
                 check_interval: Duration, auto_restart_logging: bool = False, watch_trail: bool = True,
                 expected_selectors: Sequence[dict[str, Any]] = (), log_group_name: str | None = None,
                 buckets: Sequence[s3.IBucket] = (), key: kms.IKey | None = None, key_alias: str | None = None,
                 alarm_topic: sns.ITopic | None = None, role_name: str | None = None,
                 expected_trail: Mapping[str, Any] | None = None,
                 handover: Mapping[str, Any] | None = None, failed_calls_role_name: str | None = None) -> None:
        """``watch_trail``: this account holds the trail (its calls, status and selectors;
        ``expected_selectors`` as GetEventSelectors returns them). ``log_group_name``,
        ``buckets``, ``key``: the trail's parts this account holds (``key_alias``: the key's
        alias, when known: in two accounts the trail names its key by it). ``alerts_key_arn``: the
        key of the alerts topic (of another account: a ``key/*`` pattern, narrowed by the
        topic's encryption context); ``function_key``: the key of the function's log group.
        ``alarm_topic``: where the findings and DLQ alarms notify, @default none: no alarms
        (the function publishes each finding to ``alerts_topic`` itself). ``role_name``:
        @default generated; named when another account's policies must name the role.
        ``expected_trail``: the trail's deployed destination (``trail_destination``), compared
        by the scheduled check with GetTrail's; the settings of the buckets this stack made are
        compared with their template's (``bucket_expectation``). ``handover``: the brought parts
        of this account whose policies it reads for the statements handed over to their owners
        (``contract.handover.handover_checks``), @default none. ``failed_calls_role_name``: the
        failed-calls function's role, as ``role_name``."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._identity = identity
        trail_arn = identity.trail_arn
        self.dead_letter_queue = sqs.Queue(self, "DeadLetters", encryption=sqs.QueueEncryption.KMS,
                                           encryption_master_key=state_key.key, enforce_ssl=True,
                                           retention_period=Duration.days(14))
        last_stop = ("This queue is the dead-letter queue of the posture watcher's function (events it "
                     "failed to handle)" + ("; an alarm fires on its first message." if alarm_topic else
                                            "; its depth is a CloudWatch metric of this account."))
        acknowledge(self.dead_letter_queue, "AwsSolutions-SQS3", last_stop)
        acknowledge_control(self.dead_letter_queue, "CT.SQS.PR.1", last_stop)
        trail_reads = [iam.PolicyStatement(
            actions=["cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"],
            resources=[trail_arn])] if watch_trail else []
        restart = [iam.PolicyStatement(actions=["cloudtrail:StartLogging"], resources=[trail_arn])] \
            if watch_trail and auto_restart_logging else []
        key_reads = [iam.PolicyStatement(actions=["kms:DescribeKey"], resources=[key.key_arn])] if key else []
        bucket_reads = [iam.PolicyStatement(actions=["s3:GetBucketPolicy"], resources=[b.bucket_arn for b in buckets])] \
            if buckets else []
        bucket_names = [b.bucket_name for b in buckets]
        owned = [b for b in buckets if isinstance(b.node.default_child, s3.CfnBucket)]
        bucket_reads += [iam.PolicyStatement(actions=BUCKET_SETTING_ACTIONS, resources=[b.bucket_arn for b in owned])] \
            if owned else []
        handover = handover or {}
        # A brought bucket of this account is one of ``buckets``: its policy is read already.
        handover_reads = [iam.PolicyStatement(actions=[action], resources=[handover[part]])
                          for part, action in (("key", "kms:GetKeyPolicy"), ("topic", "sns:GetTopicAttributes"))
                          if handover.get(part)]
        own_rules = (f"arn:{identity.partition}:events:{identity.home_region}:{identity.account}:"
                     f"rule/{rule_prefix(identity.trail_name)}*")
        # What both functions watch (``posture.judge.watched_from_env``); only what this account
        # holds: an unset variable is a part watched elsewhere.
        watched = {
            Env.TABLE_NAME: table.table_name, Env.ALERTS_TOPIC_ARN: alerts_topic.topic_arn,
            Env.HOME_REGION: identity.home_region, PostureEnv.TRAIL_ARN: trail_arn,
            PostureEnv.ACCOUNT: identity.account, PostureEnv.STACK_NAME: stack.stack_name,
            PostureEnv.CHECK_TRAIL: encode_flag(watch_trail)}
        for name, value in ((PostureEnv.TRAIL_BUCKET, bucket_names[0] if bucket_names else None),
                            (PostureEnv.ACCESS_LOG_BUCKET, bucket_names[1] if len(bucket_names) > 1 else None),
                            (PostureEnv.KEY_ARN, key.key_arn if key else None),
                            (PostureEnv.KEY_ALIAS, key_alias if key else None),
                            (PostureEnv.LOG_GROUP, log_group_name)):
            if value:
                watched[name] = value
        environment = {**watched, PostureEnv.AUTO_RESTART_LOGGING: encode_flag(watch_trail and auto_restart_logging)}
        for name, value in ((PostureEnv.EXPECTED_SELECTORS,
                             stack.to_json_string(list(expected_selectors)) if watch_trail else None),
                            (PostureEnv.EXPECTED_TRAIL, stack.to_json_string(
                                {f: (expected_trail or {}).get(f) or "" if f == "S3KeyPrefix"
                                 else _written_once(stack, (expected_trail or {}).get(f) or "", watched)
                                 for f in EXPECTED_TRAIL_FIELDS}) if watch_trail else None),
                            (PostureEnv.HANDOVER, stack.to_json_string(handover) if handover else None),
                            (PostureEnv.EXPECTED_BUCKETS,
                             Lazy.string(_BucketExpectations(owned, watched)) if owned else None),
                            (PostureEnv.EXPECTED_SUBSCRIPTIONS,
                             Lazy.string(_SubscriptionExpectations(alarm_topic, watched)) if alarm_topic else None)):
            if value:
                environment[name] = value
        # What a rule's pattern may hold that is only known once deployed: the watcher's own variables.
        pattern_values = {name: environment[name] for name in PATTERN_VARIABLES if name in environment}
        if key is not None:
            pattern_values[KEY_ID] = key.key_id
        environment[PostureEnv.EXPECTED_RULES] = Lazy.string(_RuleExpectations(
            stack, identity.trail_name, alerts_topic, pattern_values, identity.partition))
        if alarm_topic:
            environment[PostureEnv.EXPECTED_ALARMS] = Lazy.string(_AlarmExpectations(
                stack, identity.trail_name, alerts_topic, pattern_values, identity.partition))
        self.validator = ValidatorFunction(
            self, "Watcher", identity=identity, role=ROLE, handler=f"{HANDLER}.handler",
            description="Alerts on calls that weaken the trail and on its status, settings and key state",
            key=function_key, state_key=state_key, dead_letter_queue=self.dead_letter_queue,
            timeout=Duration.minutes(1), reserved_concurrency=2, environment=environment,
            statements=[*trail_reads, *restart, *key_reads, *bucket_reads, *handover_reads,
                        iam.PolicyStatement(actions=["events:DescribeRule", "events:ListTargetsByRule"],
                                            resources=[own_rules]),
                        *([iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=["*"])]
                          if alarm_topic else []),
                        *item_statements(table, ROLE),
                        *([iam.PolicyStatement(actions=["sns:ListSubscriptionsByTopic"],
                                               resources=[alarm_topic.topic_arn])] if alarm_topic else []),
                        *publish_alerts_statements(alerts_topic, alerts_key_arn)],
            role_name=role_name)
        state_key.grant_table(self.validator, table)
        acknowledge(self.validator.policy, f"AwsSolutions-IAM5[Resource::{nag_resource(self, own_rules)}]",
                    "The scheduled check reads the state and targets of the validators' rules, all named "
                    f"{rule_prefix(identity.trail_name)}..., and nothing else (DescribeRule, ListTargetsByRule).")
        if alarm_topic:
            acknowledge(self.validator.policy, "AwsSolutions-IAM5[Resource::*]",
                        "cloudwatch:DescribeAlarms has no resource-level permission; the scheduled check reads "
                        "only the alarms named after this stack, to find one deleted or silenced.")
        acknowledge_foreign_alerts_key(self.validator, alerts_key_arn)
        self.function = self.validator.function
        target = targets.LambdaFunction(self.function, retry_attempts=2)
        self.failed_calls = PostureFailedCalls(
            self, "FailedCalls", identity=identity, state_key=state_key, table=table, alerts_topic=alerts_topic,
            alerts_key_arn=alerts_key_arn, function_key=function_key, environment=watched, alarm_topic=alarm_topic,
            role_name=failed_calls_role_name)

        self.rules: dict[str, events.Rule] = {}
        """The rules of calls that succeeded: each a real alert, by the posture watcher's function."""
        self.failed_call_rules: dict[str, events.Rule] = {}
        """The same calls that failed (``errorCode`` set): to the failed-calls queue."""
        # Each part's spellings, by the fields the table names for its service.
        if watch_trail:
            trail_names = _any_case([identity.trail_name, trail_arn])  # CloudTrail's calls take either
            self._rule("TrailCalls", CLOUDTRAIL, target, {field: trail_names for field in RESOURCE_FIELDS[CLOUDTRAIL]},
                       also=[{"requestParameters": {field: [{"exists": True}]}} for field in ANY_VALUE_FIELDS[CLOUDTRAIL]])
        if log_group_name:
            group_arn = identity.log_group_arn(log_group_name)
            spellings = [log_group_name, group_arn, f"{group_arn}:*"]
            self._rule("LogGroupCalls", LOGS, target, {field: spellings for field in RESOURCE_FIELDS[LOGS]})
        if buckets:
            self._rule("BucketCalls", S3, target, {field: bucket_names for field in RESOURCE_FIELDS[S3]})
        if key is not None:
            self._rule("KeyCalls", KMS, target, {"keyId": _any_case([key.key_arn, key.key_id]),
                                                 "aliasName": [key_alias] if key_alias else []},
                       also=[{"resources": {"ARN": [key.key_arn]}}])
        # The validators' own parts, named <trail>-... (or <stack>-... by CloudFormation) in this account.
        for construct_id, source in (("FunctionCalls", LAMBDA), ("RuleCalls", EVENTS), ("TopicCalls", SNS),
                                     ("StateMachineCalls", STATES), ("AlarmCalls", CLOUDWATCH),
                                     ("QueueCalls", SQS), ("TableCalls", DYNAMODB)):
            spellings = [{"prefix": prefix} for prefix in own_prefixes(
                source, trail_name=identity.trail_name, stack_name=stack.stack_name, partition=identity.partition,
                region=identity.home_region, account=identity.account)]
            self._rule(construct_id, source, target, {field: spellings for field in RESOURCE_FIELDS[source]},
                       also=[{"responseElements": {field: spellings}} for field in RESPONSE_FIELDS.get(source, ())])
        # By the names the rules are given (a token of a rule would make the key depend on it).
        self.failed_calls.admit([self.failed_calls.rule_name(rule_id) for rule_id in self.failed_call_rules])
        self.schedule = events.Rule(
            self, "Schedule", description=f"Check the posture of {identity.trail_name}",
            rule_name=identity.event_rule_name(f"{ROLE}-schedule"),
            schedule=events.Schedule.rate(check_interval), targets=[target])

        self.findings_alarm: cloudwatch.Alarm | None = None
        self.dead_letter_alarm: cloudwatch.Alarm | None = None
        self.heartbeat_alarms: dict[str, cloudwatch.Alarm] = {}
        if alarm_topic is not None:
            self._alarms(alarm_topic, check_interval)

    def _alarms(self, alerts_topic: sns.ITopic, check_interval: Duration) -> None:
        self.heartbeat_alarms[ROLE] = heartbeat_alarm(self, "Heartbeat", heartbeat=HEARTBEATS[ROLE],
                                                      alerts_topic=alerts_topic, schedule=check_interval)
        self.findings_alarm = count_alarm(
            self, "Findings", description="The posture watcher found the trail, its buckets, key or log group "
                                          "weakened (see the alert for who and what)",
            metric=PostureMetrics.FINDINGS, alerts_topic=alerts_topic)
        self.dead_letter_alarm = cloudwatch.Alarm(
            self, "DeadLetter", alarm_description="The posture watcher failed to handle an event: it sits in its DLQ",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"),
            threshold=1, evaluation_periods=1, treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
        self.dead_letter_alarm.add_alarm_action(cloudwatch_actions.SnsAction(alerts_topic))

    def _rule(self, construct_id: str, event_source: str, target: events.IRuleTarget,
              spellings: dict[str, list[Any]], also: Sequence[dict[str, Any]] = ()) -> None:
        """Two rules on every weakening call of ``event_source`` whose resource field (the
        table's, in ``spellings``) names one of ours: the calls that succeeded to ``target``,
        the same calls that failed to the failed-calls queue."""
        branches = [{"requestParameters": {field: values}} for field, values in spellings.items() if values]
        branches += list(also)
        names = [{"prefix": name} if call.versioned else name for name, call in WEAKENING_CALLS[event_source].items()]
        what = construct_id[:-5].lower()
        for rules, rule_id, outcome, rule_name, description, rule_target in (
                (self.rules, construct_id, SUCCEEDED, self._identity.event_rule_name(f"{ROLE}-{construct_id.lower()}"),
                 f"Calls that can weaken the trail's {what}", target),
                (self.failed_call_rules, f"Failed{construct_id}", FAILED, self.failed_calls.rule_name(construct_id),
                 f"Failed calls that would weaken the trail's {what}: counted, summarized", self.failed_calls.target)):
            rules[construct_id] = events.Rule(
                self, rule_id, description=description, rule_name=rule_name,
                event_pattern=events.EventPattern(
                    source=[EVENTBRIDGE_SOURCES[event_source]], detail_type=[API_CALL],
                    detail={"eventSource": [event_source], "eventName": names, **outcome,
                            **(branches[0] if len(branches) == 1 else {"$or": branches})}),
                targets=[rule_target])


BUCKET_SETTING_ACTIONS = ["s3:GetBucketVersioning", "s3:GetBucketOwnershipControls",
                          "s3:GetBucketObjectLockConfiguration", "s3:GetReplicationConfiguration",
                          "s3:GetBucketNotification", "s3:GetLifecycleConfiguration"]
"""What the scheduled check reads of each bucket the stack made (``posture.aws.SETTING_READS``)."""


def trail_destination(trail: Any) -> dict[str, Any]:
    """A ``CfnTrail``'s destination, by the names GetTrail gives it (``EXPECTED_TRAIL_FIELDS``)."""
    return {"S3BucketName": trail.s3_bucket_name, "S3KeyPrefix": trail.s3_key_prefix, "KmsKeyId": trail.kms_key_id,
            "CloudWatchLogsLogGroupArn": trail.cloud_watch_logs_log_group_arn,
            "CloudWatchLogsRoleArn": trail.cloud_watch_logs_role_arn, "SnsTopicARN": trail.sns_topic_name}


def bucket_expectation(properties: Mapping[str, Any]) -> BucketExpectation:
    """A bucket's settings from its resolved ``CfnBucket`` properties (CloudFormation's
    camel case, as ``Stack.resolve`` gives them)."""
    lock = properties.get("objectLockConfiguration") or {}
    retention = (lock.get("rule") or {}).get("defaultRetention") or {}
    notifications = properties.get("notificationConfiguration") or {}
    targets = [c.get(arn) for name, arn in (("queueConfigurations", "queue"), ("topicConfigurations", "topic"),
                                            ("lambdaConfigurations", "function"))
               for c in notifications.get(name) or ()]
    rules = [lifecycle_rule(
        expiration_days=r.get("expirationInDays"),
        noncurrent_days=(r.get("noncurrentVersionExpiration") or {}).get("noncurrentDays",
                                                                         r.get("noncurrentVersionExpirationInDays")),
        transitions=[(t.get("transitionInDays"), t.get("storageClass")) for t in r.get("transitions") or ()],
        abort_days=(r.get("abortIncompleteMultipartUpload") or {}).get("daysAfterInitiation"), prefix=r.get("prefix"))
        for r in (properties.get("lifecycleConfiguration") or {}).get("rules") or () if r.get("status") != "Disabled"]
    return BucketExpectation(
        versioning=(properties.get("versioningConfiguration") or {}).get("status", ""),
        object_ownership=next((r.get("objectOwnership", "") for r in
                               (properties.get("ownershipControls") or {}).get("rules") or ()), ""),
        object_lock={k.capitalize(): v for k, v in retention.items()} if properties.get("objectLockEnabled") else None,
        replication="replicationConfiguration" in properties,
        event_bridge=(notifications.get("eventBridgeConfiguration") or {}).get("eventBridgeEnabled") is True,
        notification_targets=tuple(targets), lifecycle=tuple(rules))


@jsii.implements(IStableStringProducer)
class _BucketExpectations:
    """Produced at synth time, after every part has set its bucket's notifications."""

    def __init__(self, buckets: Sequence[s3.IBucket], environment: Mapping[str, Any]) -> None:
        self.buckets, self.environment = list(buckets), environment

    def produce(self) -> str:
        stack = Stack.of(self.buckets[0])
        expectations = [{"bucket": _written_once(stack, b.bucket_name, self.environment), **bucket_expectation(
            stack.resolve(b.node.default_child._cfn_properties)).to_json()} for b in self.buckets]
        return stack.to_json_string(expectations)


@jsii.implements(IStableStringProducer)
class _RuleExpectations:
    """The stack's rules named ``<rule prefix>...`` (``contract.rule_prefix``) as deployed:
    each target's id, ARN and the digest of its settings (``drift.target_digest``), and the
    digest of the pattern or schedule (``drift.rule_digest``), where every value only known
    once deployed is one of the watcher's own variables (``drift.PATTERN_VARIABLES``)."""

    def __init__(self, stack: Stack, trail_name: str, alerts_topic: sns.ITopic,
                 pattern_values: Mapping[str, Any], partition: str) -> None:
        self.stack, self.trail_name, self.head = stack, trail_name, rule_prefix(trail_name)
        self.alerts_topic, self.pattern_values, self.partition = alerts_topic, dict(pattern_values), partition

    def produce(self) -> str:
        stack = self.stack
        specs = _ArnSpecs(stack, self.trail_name, self.alerts_topic)
        literals, tokens = _deployed_values(stack, self.pattern_values)
        partition = stack.resolve(self.partition)
        literal_partition = partition if isinstance(partition, str) else None
        rules, mirrors = {}, {}
        for c in stack.node.find_all():
            if isinstance(c, events.CfnRule):
                properties = stack.resolve(c._cfn_properties)
                name = properties.get("name")
                if isinstance(name, str) and name.startswith(self.head):
                    targets = [(t["id"], specs.spec(t["arn"]), _target_digest(t, tokens, partition, literals))
                               for t in properties.get("targets") or ()]
                    try:
                        pattern = _known(properties.get("eventPattern"), tokens, partition)
                        digest = rule_digest(pattern, properties.get("scheduleExpression"), literals,
                                             literal_partition)
                        mirror = mirrored_pattern(pattern)
                        if mirror is not None:
                            mirrors[name] = rule_digest(mirror, properties.get("scheduleExpression"), literals,
                                                        literal_partition)
                    except _Unknown:
                        digest = None  # a value the watcher cannot know: the pattern is not compared
                    rules[name] = (targets, digest)
        for name, digest in mirrors.items():  # a failed-calls rule as its real-alert twin: one digest for both
            twin = rules.get(mirror_twin(name, self.trail_name) or "")
            if twin and twin[1] == digest:
                rules[name] = (rules[name][0], MIRRORED)
        return encode_rules(rules, self.trail_name)


def _deployed_values(stack: Stack, pattern_values: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Placeholder]]:
    """The watcher's variables (``drift.PATTERN_VARIABLES``): literal value -> name, and the
    canonical text of each reference -> its placeholder."""
    literals: dict[str, str] = {}
    tokens: dict[str, Placeholder] = {}
    for name, value in pattern_values.items():
        resolved = stack.resolve(value)
        if isinstance(resolved, str):
            literals[resolved] = name
        else:
            tokens[_canonical(resolved)] = Placeholder(name)
    return literals, tokens


def _target_digest(target: Mapping[str, Any], tokens: Mapping[str, Placeholder], partition: Any,
                   literals: Mapping[str, str]) -> str | None:
    """``drift.target_digest`` of a resolved ``CfnRule`` target (CloudFormation's camel case,
    turned into ListTargetsByRule's names); None where it holds a value the watcher cannot know."""
    transformer = target.get("inputTransformer")
    dead_letter = target.get("deadLetterConfig")
    retry = target.get("retryPolicy")
    settings = {
        **({"Input": target["input"]} if target.get("input") is not None else {}),
        **({"InputPath": target["inputPath"]} if target.get("inputPath") is not None else {}),
        **({"InputTransformer": {"InputPathsMap": transformer.get("inputPathsMap") or {},
                                 "InputTemplate": transformer.get("inputTemplate")}} if transformer else {}),
        **({"DeadLetterConfig": {"Arn": dead_letter.get("arn")}} if dead_letter else {}),
        **({"RetryPolicy": {_pascal(k): v for k, v in retry.items()}} if retry else {})}
    try:
        return target_digest(_known(settings, tokens, partition), literals,
                             partition if isinstance(partition, str) else None)
    except _Unknown:
        return None


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _api_names(node: Any) -> Any:
    """A resolved ``CfnAlarm``'s properties by DescribeAlarms' names (each key's first letter
    upper case: ``metricStat`` is ``MetricStat``); references kept as they are."""
    if isinstance(node, list):
        return [_api_names(v) for v in node]
    if not isinstance(node, dict) or any(k == "Ref" or k.startswith("Fn::") for k in node):
        return node
    return {_pascal(k): _api_names(v) for k, v in node.items()}


def _alarm_definition(properties: Mapping[str, Any], tokens: Mapping[str, Placeholder], partition: Any,
                      literals: Mapping[str, str]) -> tuple[str | None, tuple[str, ...]]:
    """``drift.alarm_digest`` of a resolved alarm and its wildcard dimensions: those whose
    value is a reference none of the watcher's variables holds (a queue's generated name, one
    of ``drift.GENERATED_DIMENSIONS``); None where any other part is such a reference."""
    alarm = _api_names({k: v for k, v in properties.items() if _pascal(k) in ALARM_DEFINITION})
    wildcards: set[str] = set()

    def dimensions(node: Any) -> None:
        for d in node or ():
            value = d.get("Value")
            if isinstance(value, dict) and _canonical(value) not in tokens and isinstance(d.get("Name"), str):
                wildcards.add(d["Name"])
                d["Value"] = None
    dimensions(alarm.get("Dimensions"))
    for query in alarm.get("Metrics") or ():
        dimensions(((query.get("MetricStat") or {}).get("Metric") or {}).get("Dimensions"))
    if not wildcards <= set(GENERATED_DIMENSIONS):
        return None, ()
    try:
        return alarm_digest(_known(alarm, tokens, partition), literals, partition if isinstance(partition, str)
                            else None, GENERATED_DIMENSIONS if wildcards else ()), tuple(sorted(wildcards))
    except _Unknown:
        return None, ()


class _Unknown(Exception):
    """A reference in a rule's pattern that is none of the watcher's variables."""


def _canonical(node: Any) -> str:
    import json
    return json.dumps(node, sort_keys=True, separators=(",", ":"))


def _known(node: Any, tokens: Mapping[str, Placeholder], partition: Any) -> Any:
    """A resolved pattern with each reference the placeholder of the variable holding it, or
    ``arn:<partition>:...`` an ``ArnTail``; ``_Unknown`` for any other reference."""
    if isinstance(node, list):
        return [_known(v, tokens, partition) for v in node]
    if not isinstance(node, dict):
        return node
    if _canonical(node) in tokens:
        return tokens[_canonical(node)]
    if any(k == "Ref" or k.startswith("Fn::") for k in node):
        join = node.get("Fn::Join")
        if isinstance(join, list) and len(join) == 2 and join[0] == "" and not isinstance(partition, str):
            parts = join[1]
            if len(parts) >= 3 and parts[0] == "arn:" and parts[1] == partition \
                    and all(isinstance(p, str) for p in parts[2:]) and parts[2].startswith(":"):
                return ArnTail("".join(parts[2:])[1:])
        raise _Unknown(_canonical(node)[:200])
    return {k: _known(v, tokens, partition) for k, v in node.items()}


class _ArnSpecs:
    """A resolved ARN as ``drift`` writes it: ``$`` for the alerts topic, a function of this
    stack by its name (``~x`` for ``<trail>-x``), anything else as itself."""

    def __init__(self, stack: Stack, trail_name: str, alerts_topic: sns.ITopic | None) -> None:
        self.stack, self.head = stack, f"{trail_name}-"
        self.alerts = _canonical(stack.resolve(alerts_topic.topic_arn)) if alerts_topic else None
        self.functions, self.tokens = {}, {}
        for c in stack.node.find_all():
            if isinstance(c, lambda_.CfnFunction):
                name = stack.resolve(c.function_name)
                if isinstance(name, str):
                    self.functions[stack.resolve(stack.get_logical_id(c))] = name

    def spec(self, arn: Any) -> str:
        if self.alerts is not None and _canonical(arn) == self.alerts:
            return ALERTS_TOPIC_SPEC
        at = arn.get("Fn::GetAtt") if isinstance(arn, dict) else None
        if isinstance(at, list) and len(at) == 2 and at[1] == "Arn" and at[0] in self.functions:
            name = self.functions[at[0]]
            return f"~{name[len(self.head):]}" if name.startswith(self.head) else name
        if isinstance(arn, str):
            return arn
        # one token per reference, so the table holds each ARN once
        return self.tokens.setdefault(_canonical(arn), Token.as_string(arn))


@jsii.implements(IStableStringProducer)
class _AlarmExpectations:
    """The alarms the stack makes under generated names (``<stack>-<logical id>-...``), each
    with the ARNs of its actions."""

    def __init__(self, stack: Stack, trail_name: str, alerts_topic: sns.ITopic, pattern_values: Mapping[str, Any],
                 partition: str) -> None:
        self.stack, self.trail_name, self.alerts_topic = stack, trail_name, alerts_topic
        self.pattern_values, self.partition = dict(pattern_values), partition

    def produce(self) -> str:
        stack = self.stack
        specs = _ArnSpecs(stack, self.trail_name, self.alerts_topic)
        literals, tokens = _deployed_values(stack, self.pattern_values)
        partition = stack.resolve(self.partition)
        actions, definitions = {}, {}
        for c in stack.node.find_all():
            if isinstance(c, (cloudwatch.CfnAlarm, cloudwatch.CfnCompositeAlarm)):
                properties = stack.resolve(c._cfn_properties)
                if properties.get("alarmName") is None:
                    logical_id = stack.resolve(stack.get_logical_id(c))
                    actions[logical_id] = tuple(
                        tuple(specs.spec(a) for a in properties.get(field) or ()) for field in
                        ("alarmActions", "okActions", "insufficientDataActions"))
                    definitions[logical_id] = _alarm_definition(properties, tokens, partition, literals)
        keys = alarm_keys(sorted(actions))
        return encode_alarms({keys[logical_id]: kinds for logical_id, kinds in actions.items()},
                             {keys[logical_id]: definition for logical_id, definition in definitions.items()})


@jsii.implements(IStableStringProducer)
class _SubscriptionExpectations:
    """The alerts topic's subscriptions as this stack deploys them."""

    def __init__(self, topic: sns.ITopic, environment: Mapping[str, Any]) -> None:
        self.topic, self.environment = topic, environment

    def produce(self) -> str:
        stack = Stack.of(self.topic)
        topic_arn = stack.resolve(self.topic.topic_arn)
        subscriptions = []
        for c in stack.node.find_all():
            if isinstance(c, sns.CfnSubscription):
                properties = stack.resolve(c._cfn_properties)
                if properties.get("topicArn") == topic_arn:
                    subscriptions.append([properties.get("protocol"), properties.get("endpoint")])
        return stack.to_json_string({"topic": _written_once(stack, self.topic.topic_arn, self.environment),
                                     "subscriptions": subscriptions})


def _written_once(stack: Stack, value: Any, watched: Mapping[str, Any]) -> Any:
    """``value``, or ``$NAME`` where the watched variable NAME already holds it (``contract.env_reference``)."""
    resolved = stack.resolve(value)
    for name, held in watched.items():
        if resolved and stack.resolve(held) == resolved:
            return env_reference(name)
    return value


def _any_case(values: list[str]) -> list[dict[str, str]]:
    """Match whatever the case (the handler folds case for the same fields)."""
    return [{"equals-ignore-case": value} for value in values]


_OPERATORS = {"equal_to": "Equals", "not_equals": "NotEquals", "starts_with": "StartsWith",
              "not_starts_with": "NotStartsWith", "ends_with": "EndsWith", "not_ends_with": "NotEndsWith"}


def api_selectors(selectors: Sequence[Any]) -> list[dict[str, Any]]:
    """The trail's ``AdvancedEventSelectorProperty`` list as GetEventSelectors returns it."""
    return [{"Name": selector.name, "FieldSelectors": [
        {"Field": field.field, **{api: list(getattr(field, attr)) for attr, api in _OPERATORS.items()
                                  if getattr(field, attr)}}
        for field in selector.field_selectors]} for selector in selectors]
