"""A validator's work queue: encrypted with the validators' state key, TLS-only, a DLQ
(the same) after a few receives, and an alarm on the DLQ's first message."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from ..contract import Heartbeat, Metric

from ..compliance import acknowledge, acknowledge_control
from ..metrics import contract_metric

MAX_RECEIVES = 3
MAX_EVALUATED_MINUTES = 24 * 60
"""CloudWatch evaluates an alarm over at most one day (periods x evaluation periods)."""


class ValidatorQueue(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, alerts_topic: sns.ITopic | None, key: kms.IKey,
                 visibility_timeout: Duration, what: str) -> None:
        """``alerts_topic``: where the DLQ alarm notifies; None: no alarm (its depth is still a
        metric of this account)."""
        super().__init__(scope, construct_id)
        encryption = {"encryption": sqs.QueueEncryption.KMS, "encryption_master_key": key}
        self.dead_letter_queue = sqs.Queue(
            self, "DeadLetters", **encryption, enforce_ssl=True, retention_period=Duration.days(14))
        last_stop = ("This queue is the dead-letter queue of the work queue and of the validator function"
                     + ("; an alarm fires on its first message." if alerts_topic else
                        "; its depth is a CloudWatch metric of this account."))
        acknowledge(self.dead_letter_queue, "AwsSolutions-SQS3", last_stop)
        acknowledge_control(self.dead_letter_queue, "CT.SQS.PR.1", last_stop)
        self.queue = sqs.Queue(
            self, "Queue", **encryption, enforce_ssl=True,
            visibility_timeout=visibility_timeout, retention_period=Duration.days(14),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVES))
        self.dead_letter_alarm = _first_occurrence_alarm(
            self, "DeadLetter", f"{what} could not be processed and sits in the DLQ",
            self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"), alerts_topic) if alerts_topic else None


def count_alarm(scope: Construct, construct_id: str, *, description: str, metric: Metric,
                alerts_topic: sns.ITopic) -> cloudwatch.Alarm:
    """An alarm on the first occurrence of a validator's EMF count metric (as the contract
    names it: namespace, name and the handler's ``service`` dimension)."""
    return _first_occurrence_alarm(scope, construct_id, description, contract_metric(metric), alerts_topic)


def heartbeat_alarm(scope: Construct, construct_id: str, *, heartbeat: Heartbeat, alerts_topic: sns.ITopic,
                    schedule: Duration | None = None) -> cloudwatch.Alarm:
    """An alarm on a validator's silence: ``heartbeat.evaluation_periods`` periods in a row
    without its liveness metric. Missing data is breaching, so a function that never runs
    (its schedule disabled, its concurrency 0, its event source deleted) raises it.
    ``schedule``: the period when the heartbeat's own is its validator's schedule."""
    period = Duration.minutes(heartbeat.period_minutes) if heartbeat.period_minutes else schedule
    if period is None:
        raise ValueError(f"{heartbeat.metric.name}: a heartbeat on its validator's schedule needs the schedule")
    minutes = int(period.to_minutes())
    periods = max(1, min(heartbeat.evaluation_periods, MAX_EVALUATED_MINUTES // minutes))
    alarm = cloudwatch.Alarm(
        scope, construct_id, metric=contract_metric(heartbeat.metric, period=period),
        alarm_description=f"{heartbeat.what} for {periods} periods of {minutes} minutes: the validator "
                          "may be stopped or blinded",
        threshold=1, evaluation_periods=periods, datapoints_to_alarm=periods,
        comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.BREACHING)
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(alerts_topic))
    return alarm


def _first_occurrence_alarm(scope: Construct, construct_id: str, description: str, metric: cloudwatch.IMetric,
                            alerts_topic: sns.ITopic) -> cloudwatch.Alarm:
    alarm = cloudwatch.Alarm(
        scope, construct_id, alarm_description=description, metric=metric, threshold=1, evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(alerts_topic))
    return alarm

