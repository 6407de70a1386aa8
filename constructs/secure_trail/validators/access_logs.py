"""Access-log auditor pipeline: every new server-access-log object of the trail bucket is
audited for requests without TLS or below the minimum.

access-log bucket --(EventBridge: Object Created)--> SQS (state key, TLS-only, DLQ) -->
Lambda (partial batch failures) --> alerts topic + EMF metrics; alarms on any non-TLS
success and on anything in the DLQ.

EventBridge rather than an S3 notification configuration: CDK writes the latter with a
custom-resource Lambda of its own, and a direct one would make the bucket and the queue
policy depend on each other. The rule has a fixed name, so the queue policy and the state
key's policy can name it as ``aws:SourceArn`` (a token of the rule would make the key
depend on the rule, the rule on the queue and the queue on the key).
"""

from __future__ import annotations

from typing import Sequence

import jsii
from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from ..contract import ACCESS_LOG_AUDITOR as ROLE
from ..contract import HEARTBEATS, AccessLogMetrics, Env, encode_list

from ..compliance import acknowledge, nag_resource
from ..names import TrailIdentity
from ..parts.trail_bucket import ACCESS_LOG_PREFIX
from .function import ValidatorFunction, consume_statement, publish_alerts_statements
from .queue import ValidatorQueue, count_alarm, heartbeat_alarm
from .state_key import ValidatorStateKey
from .table import item_statements

EVENTS = iam.ServicePrincipal("events.amazonaws.com")


class AccessLogAuditor(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity,
                 access_log_bucket: s3.Bucket, audited_bucket: s3.IBucket, key: kms.IKey,
                 state_key: ValidatorStateKey, alerts_topic: sns.ITopic, table: dynamodb.ITable,
                 min_tls_version: str, expected_principals: Sequence[str]) -> None:
        super().__init__(scope, construct_id)
        work = ValidatorQueue(self, "Work", alerts_topic=alerts_topic, key=state_key.key,
                              visibility_timeout=Duration.minutes(30), what="An access-log object")
        self.queue, self.dead_letter_queue = work.queue, work.dead_letter_queue

        send_events_to_event_bridge(access_log_bucket)
        rule_name = identity.event_rule_name(ROLE)
        rule_arn = identity.event_rule_arn(rule_name)
        self.rule = events.Rule(
            self, "NewAccessLogObject", rule_name=rule_name,
            description="A new server access log object of the trail bucket",
            event_pattern=events.EventPattern(
                source=["aws.s3"], detail_type=["Object Created"],
                detail={"bucket": {"name": [access_log_bucket.bucket_name]},
                        "object": {"key": [{"prefix": ACCESS_LOG_PREFIX}]}}),
            targets=[QueueTarget(self.queue)])
        self.queue.add_to_resource_policy(iam.PolicyStatement(
            sid="EventBridgeSendsAsTheAuditorRule", principals=[EVENTS], actions=["sqs:SendMessage"],
            resources=[self.queue.queue_arn], conditions={
                "ArnEquals": {"aws:SourceArn": rule_arn}, "StringEquals": {"aws:SourceAccount": identity.account}}))
        state_key.allow_event_rule(rule_arn)

        logs_arn = access_log_bucket.arn_for_objects(f"{ACCESS_LOG_PREFIX}*")
        self.validator = ValidatorFunction(
            self, "Auditor", identity=identity, role=ROLE,
            handler="trail_validators.handlers.access_log_auditor.handler",
            description="Audits the trail bucket's access logs for requests without TLS or below the minimum",
            key=key, state_key=state_key, dead_letter_queue=self.dead_letter_queue,
            environment={Env.ALERTS_TOPIC_ARN: alerts_topic.topic_arn, Env.TABLE_NAME: table.table_name,
                         Env.MIN_TLS: min_tls_version, Env.EXPECTED_PRINCIPALS: encode_list(expected_principals),
                         Env.AUDITED_BUCKET: audited_bucket.bucket_name},
            statements=[
                iam.PolicyStatement(actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[logs_arn]),
                consume_statement(self.queue),
                *item_statements(table, ROLE),
                *publish_alerts_statements(alerts_topic, key.key_arn),
            ])
        state_key.grant_receive(self.validator, self.queue)
        state_key.grant_table(self.validator, table)
        acknowledge(self.validator.policy, f"AwsSolutions-IAM5[Resource::{nag_resource(self, logs_arn)}]",
                    "Server access log object names are chosen by S3 at delivery; the function may read "
                    "only objects under the trail bucket's access-log prefix, nothing else.")
        self.function = self.validator.function
        self.function.add_event_source(event_sources.SqsEventSource(
            self.queue, batch_size=10, report_batch_item_failures=True))

        self.non_tls_success_alarm = count_alarm(
            self, "NonTlsSuccess", description="A request reached the trail bucket without TLS and succeeded",
            metric=AccessLogMetrics.NON_TLS_SUCCESS, alerts_topic=alerts_topic)
        self.heartbeat_alarms = {ROLE: heartbeat_alarm(self, "Heartbeat", heartbeat=HEARTBEATS[ROLE],
                                                       alerts_topic=alerts_topic)}


@jsii.implements(events.IRuleTarget)
class QueueTarget:
    """The queue as a rule target, and nothing else: CDK's ``SqsQueue`` target would also
    grant EventBridge the queue's key without ``aws:SourceArn`` (it cannot name the rule
    without a dependency loop); the queue and key policies above name it."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(self, _rule: events.IRule, _id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._queue.queue_arn)


def send_events_to_event_bridge(bucket: s3.Bucket) -> None:
    """On the L1 bucket: CDK's ``enable_event_bridge_notification`` deploys a custom-resource
    Lambda (with a managed policy and an inline one) just to set this one property."""
    cfn_bucket = bucket.node.default_child
    assert isinstance(cfn_bucket, s3.CfnBucket)
    cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True))
