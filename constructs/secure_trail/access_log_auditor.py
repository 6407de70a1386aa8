"""Access-log auditor pipeline: every new server-access-log object of the trail bucket is
audited for requests without TLS or below the minimum.

access-log bucket --(EventBridge: Object Created)--> SQS (SSE, TLS-only, DLQ) --> Lambda
(partial batch failures) --> alerts topic + EMF metrics; alarms on any non-TLS success
and on anything in the DLQ.

EventBridge rather than an S3 notification configuration: CDK writes the latter with a
custom-resource Lambda of its own, and a direct one would make the bucket and the queue
policy depend on each other.
"""

from __future__ import annotations

from typing import Sequence

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

from .compliance import acknowledge, nag_resource
from .identity import TrailIdentity
from .trail_bucket import ACCESS_LOG_PREFIX
from .validator_function import ValidatorFunction, consume_statement, publish_alerts_statements
from .validator_queue import ValidatorQueue, count_alarm

ROLE = "access-log-auditor"


class AccessLogAuditor(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity,
                 access_log_bucket: s3.Bucket, audited_bucket: s3.IBucket, key: kms.IKey,
                 alerts_topic: sns.ITopic, table: dynamodb.ITable, min_tls_version: str,
                 expected_principals: Sequence[str]) -> None:
        super().__init__(scope, construct_id)
        work = ValidatorQueue(self, "Work", alerts_topic=alerts_topic, visibility_timeout=Duration.minutes(30),
                              what="An access-log object")
        self.queue, self.dead_letter_queue = work.queue, work.dead_letter_queue

        _send_events_to_event_bridge(access_log_bucket)
        self.rule = events.Rule(
            self, "NewAccessLogObject",
            description="A new server access log object of the trail bucket",
            event_pattern=events.EventPattern(
                source=["aws.s3"], detail_type=["Object Created"],
                detail={"bucket": {"name": [access_log_bucket.bucket_name]},
                        "object": {"key": [{"prefix": ACCESS_LOG_PREFIX}]}}),
            targets=[targets.SqsQueue(self.queue)])

        logs_arn = access_log_bucket.arn_for_objects(f"{ACCESS_LOG_PREFIX}*")
        self.validator = ValidatorFunction(
            self, "Auditor", identity=identity, role=ROLE,
            handler="trail_validators.handlers.access_log_auditor.handler",
            description="Audits the trail bucket's access logs for requests without TLS or below the minimum",
            key=key, dead_letter_queue=self.dead_letter_queue,
            environment={"ALERTS_TOPIC_ARN": alerts_topic.topic_arn, "TABLE_NAME": table.table_name,
                         "MIN_TLS": min_tls_version, "EXPECTED_PRINCIPALS": ",".join(expected_principals),
                         "AUDITED_BUCKET": audited_bucket.bucket_name},
            statements=[
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[logs_arn]),
                consume_statement(self.queue),
                iam.PolicyStatement(actions=["dynamodb:PutItem", "dynamodb:DeleteItem"],
                                    resources=[table.table_arn]),
                *publish_alerts_statements(alerts_topic, key),
            ])
        acknowledge(self.validator.policy, f"AwsSolutions-IAM5[Resource::{nag_resource(self, logs_arn)}]",
                    "Server access log object names are chosen by S3 at delivery; the function may read "
                    "only objects under the trail bucket's access-log prefix, nothing else.")
        self.function = self.validator.function
        self.function.add_event_source(event_sources.SqsEventSource(
            self.queue, batch_size=10, report_batch_item_failures=True))

        self.non_tls_success_alarm = count_alarm(
            self, "NonTlsSuccess", description="A request reached the trail bucket without TLS and succeeded",
            service=ROLE, metric_name="NonTlsSuccess", alerts_topic=alerts_topic)


def _send_events_to_event_bridge(bucket: s3.Bucket) -> None:
    """On the L1 bucket: CDK's ``enable_event_bridge_notification`` deploys a custom-resource
    Lambda (with a managed policy and an inline one) just to set this one property."""
    cfn_bucket = bucket.node.default_child
    assert isinstance(cfn_bucket, s3.CfnBucket)
    cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True))
