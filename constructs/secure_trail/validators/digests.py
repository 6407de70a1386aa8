"""Continuous digest validation: an hourly planner queues one message per account and
region; workers validate each chain from its checkpoint to now. A daily schedule has the
planner queue a re-validation of the last ``revalidation_days`` of every chain, from
scratch, so that whatever the hourly runs and the trail watch missed is still found.

schedule (hourly) --> planner Lambda --> SQS (SSE, TLS-only, DLQ) --> worker Lambda
(partial batch failures) --> alerts topic + EMF metrics; checkpoints in the validators'
table (only the worker may read or write them); queues, table and environments under the
validators' state key; alarms on any tampering finding and on anything in the DLQ. The
backfill (``backfill``): a Step Functions Distributed Map over the same planner and worker.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct
from ..contract import DIGEST_PLANNER as PLANNER
from ..contract import DIGEST_VALIDATOR as WORKER
from ..contract import (DEFAULT_BACKFILL_CONCURRENCY, DEFAULT_REVALIDATION_DAYS, DIGEST_PLAN_MINUTE,
                        DIGEST_WORKER_CONCURRENCY, HEARTBEATS, REVALIDATE_FIELD, REVALIDATION_HOUR, REVALIDATION_MINUTE,
                        DigestMetrics, Env, encode_flag)

from ..compliance import acknowledge, nag_resource
from ..names import TrailIdentity
from ..parts.key import reader_decrypt_conditions
from .backfill import DigestBackfill
from .function import ValidatorFunction, consume_statement, publish_alerts_statements
from .queue import ValidatorQueue, count_alarm, heartbeat_alarm
from .state_key import ValidatorStateKey
from .table import item_statements

HANDLERS = "trail_validators.handlers.digest_validation"
WORKER_TIMEOUT = Duration.minutes(10)


class DigestValidator(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity, trail_bucket: s3.IBucket,
                 key: kms.IKey, state_key: ValidatorStateKey, alerts_topic: sns.ITopic,
                 table: dynamodb.ITable, strict: bool = False,
                 revalidation_days: int = DEFAULT_REVALIDATION_DAYS,
                 backfill_concurrency: int = DEFAULT_BACKFILL_CONCURRENCY) -> None:
        super().__init__(scope, construct_id)
        work = ValidatorQueue(self, "Work", alerts_topic=alerts_topic, key=state_key.key,
                              visibility_timeout=Duration.minutes(60), what="A chain's validation")
        self.queue, self.dead_letter_queue = work.queue, work.dead_letter_queue
        logs_prefix = identity.aws_logs_prefix
        environment = {Env.TRAIL_BUCKET: trail_bucket.bucket_name, Env.TRAIL_PREFIX: identity.s3_key_prefix or "",
                       Env.ORG_ID: identity.org_id, Env.TRAIL_NAME: identity.trail_name,
                       Env.HOME_REGION: identity.home_region}
        list_logs = iam.PolicyStatement(actions=["s3:ListBucket"], resources=[trail_bucket.bucket_arn],
                                        conditions={"StringLike": {"s3:prefix": [f"{logs_prefix}*"]}})

        self.planner = ValidatorFunction(
            self, "Planner", identity=identity, role=PLANNER, handler=f"{HANDLERS}.planner",
            description="Queues one digest-chain validation per account and region, hourly", key=key,
            state_key=state_key, dead_letter_queue=self.dead_letter_queue, timeout=Duration.minutes(5),
            environment={**environment, Env.QUEUE_URL: self.queue.queue_url,
                         Env.REVALIDATION_DAYS: str(revalidation_days)}, reserved_concurrency=1,
            statements=[list_logs, iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.queue.queue_arn])])
        state_key.grant_send(self.planner, self.queue)
        self.schedule = events.Rule(self, "Hourly", description="Start the hourly digest-chain validation",
                                    rule_name=identity.event_rule_name(PLANNER),
                                    schedule=events.Schedule.cron(minute=str(DIGEST_PLAN_MINUTE)),
                                    targets=[targets.LambdaFunction(self.planner.function)])
        self.daily_revalidation = events.Rule(
            self, "DailyRevalidation",
            description=f"Re-validate the last {revalidation_days} days of every digest chain",
            rule_name=identity.event_rule_name(f"{PLANNER}-revalidation"),
            schedule=events.Schedule.cron(minute=str(REVALIDATION_MINUTE), hour=str(REVALIDATION_HOUR)),
            targets=[targets.LambdaFunction(self.planner.function, event=events.RuleTargetInput.from_object(
                {REVALIDATE_FIELD: True}))])

        log_objects = trail_bucket.arn_for_objects(f"{logs_prefix}*")
        self.worker = ValidatorFunction(
            self, "Worker", identity=identity, role=WORKER, handler=f"{HANDLERS}.worker",
            description="Validates one digest chain from its checkpoint: signatures, links, logs", key=key,
            state_key=state_key, dead_letter_queue=self.dead_letter_queue, timeout=WORKER_TIMEOUT, memory_size=1024,
            reserved_concurrency=DIGEST_WORKER_CONCURRENCY,
            environment={**environment, Env.TABLE_NAME: table.table_name,
                         Env.ALERTS_TOPIC_ARN: alerts_topic.topic_arn, Env.STRICT_VALIDATION: encode_flag(strict)},
            statements=[
                list_logs,
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[log_objects]),
                *(iam.PolicyStatement(actions=["kms:Decrypt"], resources=[key.key_arn], conditions=condition)
                  for condition in reader_decrypt_conditions(region=identity.home_region,
                                                             bucket_arn=trail_bucket.bucket_arn,
                                                             logs_prefix=logs_prefix)),
                iam.PolicyStatement(actions=["cloudtrail:ListPublicKeys"], resources=["*"]),
                consume_statement(self.queue),
                *item_statements(table, WORKER),
                *publish_alerts_statements(alerts_topic, key.key_arn),
            ])
        state_key.grant_receive(self.worker, self.queue)
        state_key.grant_table(self.worker, table)
        acknowledge(self.worker.policy, f"AwsSolutions-IAM5[Resource::{nag_resource(self, log_objects)}]",
                    "Digest and log file names are chosen by CloudTrail per account, region and hour; the "
                    "worker reads only objects under the trail's AWSLogs/ prefix.")
        acknowledge(self.worker.policy, "AwsSolutions-IAM5[Resource::*]",
                    "cloudtrail:ListPublicKeys supports no resource-level permissions; it is the only "
                    "action granted on '*' and it only reads CloudTrail's public signing keys.")
        self.worker.function.add_event_source(event_sources.SqsEventSource(
            self.queue, batch_size=5, report_batch_item_failures=True))
        self.backfill = DigestBackfill(self, "Backfill", identity=identity, planner=self.planner, worker=self.worker,
                                       state_key=state_key, alerts_topic=alerts_topic,
                                       max_concurrency=backfill_concurrency)
        self.tampering_alarm = count_alarm(
            self, "Tampering", description="The digest validator found a tampered, missing or injected object",
            metric=DigestMetrics.TAMPERING_FINDINGS, alerts_topic=alerts_topic)
        self.heartbeat_alarms = {
            role: heartbeat_alarm(self, construct_id, heartbeat=HEARTBEATS[role], alerts_topic=alerts_topic)
            for role, construct_id in ((PLANNER, "PlannerHeartbeat"), (WORKER, "WorkerHeartbeat"))}
