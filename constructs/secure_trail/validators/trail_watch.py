"""Trail-bucket watch: every object created or deleted under the trail's ``AWSLogs/`` is
judged within minutes (backdated behind its chain's checkpoint, a second version of a key,
any deletion).

trail bucket --(EventBridge: Object Created / Object Deleted)--> SQS (state key, TLS-only,
DLQ) --> Lambda (partial batch failures) --> alerts topic + EMF metrics; alarms on any
finding, on anything in the DLQ and on silence (the heartbeat).

Wired as the access-log auditor is (``access_logs``): a rule of fixed name that the queue
policy and the state key's policy name as ``aws:SourceArn``.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct
from ..contract import TRAIL_WATCH as ROLE
from ..contract import HEARTBEATS, Env, TrailWatchMetrics

from ..names import TrailIdentity
from .access_logs import EVENTS, QueueTarget
from .function import ValidatorFunction, consume_statement, publish_alerts_statements
from .queue import ValidatorQueue, count_alarm, heartbeat_alarm
from .state_key import ValidatorStateKey
from .table import item_statements

OBJECT_EVENTS = ("Object Created", "Object Deleted")


def watch_pattern(bucket_name: str, logs_prefix: str) -> events.EventPattern:
    """Every object event of the trail bucket under ``[prefix/]AWSLogs/``."""
    return events.EventPattern(source=["aws.s3"], detail_type=list(OBJECT_EVENTS),
                               detail={"bucket": {"name": [bucket_name]},
                                       "object": {"key": [{"prefix": logs_prefix}]}})


class TrailWatch(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity, trail_bucket: s3.IBucket,
                 key: kms.IKey, state_key: ValidatorStateKey, alerts_topic: sns.ITopic, table: dynamodb.ITable,
                 expiration_days: int) -> None:
        """``trail_bucket`` sends its object events to EventBridge (``parts.trail_bucket``)."""
        super().__init__(scope, construct_id)
        work = ValidatorQueue(self, "Work", alerts_topic=alerts_topic, key=state_key.key,
                              visibility_timeout=Duration.minutes(5), what="A trail bucket object event")
        self.queue, self.dead_letter_queue = work.queue, work.dead_letter_queue

        logs_prefix = identity.aws_logs_prefix
        rule_name = identity.event_rule_name(ROLE)
        rule_arn = identity.event_rule_arn(rule_name)
        self.rule = events.Rule(
            self, "TrailObjectEvent", rule_name=rule_name,
            description="An object created or deleted under the trail bucket's AWSLogs/",
            event_pattern=watch_pattern(trail_bucket.bucket_name, logs_prefix), targets=[QueueTarget(self.queue)])
        self.queue.add_to_resource_policy(iam.PolicyStatement(
            sid="EventBridgeSendsAsTheTrailWatchRule", principals=[EVENTS], actions=["sqs:SendMessage"],
            resources=[self.queue.queue_arn], conditions={
                "ArnEquals": {"aws:SourceArn": rule_arn}, "StringEquals": {"aws:SourceAccount": identity.account}}))
        state_key.allow_event_rule(rule_arn, sid="EventBridgeSendsAsTheTrailWatchRule")

        self.validator = ValidatorFunction(
            self, "Watch", identity=identity, role=ROLE, handler="trail_validators.handlers.trail_watch.handler",
            description="Judges each object event under the trail bucket's AWSLogs/: backdated, overwritten, deleted",
            key=key, state_key=state_key, dead_letter_queue=self.dead_letter_queue,
            environment={Env.TRAIL_BUCKET: trail_bucket.bucket_name, Env.TRAIL_PREFIX: identity.s3_key_prefix or "",
                         Env.ORG_ID: identity.org_id, Env.TRAIL_NAME: identity.trail_name,
                         Env.HOME_REGION: identity.home_region, Env.TABLE_NAME: table.table_name,
                         Env.ALERTS_TOPIC_ARN: alerts_topic.topic_arn, Env.LOG_EXPIRATION_DAYS: str(expiration_days)},
            statements=[
                iam.PolicyStatement(actions=["s3:ListBucketVersions"], resources=[trail_bucket.bucket_arn],
                                    conditions={"StringLike": {"s3:prefix": [f"{logs_prefix}*"]}}),
                consume_statement(self.queue),
                *item_statements(table, ROLE),
                *publish_alerts_statements(alerts_topic, key.key_arn),
            ])
        state_key.grant_receive(self.validator, self.queue)
        state_key.grant_table(self.validator, table)
        self.function = self.validator.function
        self.function.add_event_source(event_sources.SqsEventSource(
            self.queue, batch_size=10, report_batch_item_failures=True))

        self.findings_alarm = count_alarm(
            self, "Findings", description="A log or digest of the trail bucket was backdated, overwritten or deleted",
            metric=TrailWatchMetrics.FINDINGS, alerts_topic=alerts_topic)
        self.heartbeat_alarms = {ROLE: heartbeat_alarm(self, "Heartbeat", heartbeat=HEARTBEATS[ROLE],
                                                       alerts_topic=alerts_topic)}
