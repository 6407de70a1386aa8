"""The failed-calls path of the posture watcher: failed weakening calls are counted and
summarized on a path that can never delay a real alert.

The posture watcher's rules match only calls that succeeded (``errorCode`` absent); beside each,
a rule on the same calls with an ``errorCode`` --> SQS (the validators' state key, TLS-only, a DLQ
after three receives, 14 days' retention) --> its own Lambda (``trail_validators.handlers
.posture_failed_calls``, reserved concurrency 2, partial batch failures) --> one alert per
principal, resource and window on the alerts topic + the ``FailedWeakeningCalls`` metric; an
alarm on the DLQ's first message. A flood of denied calls waits in this queue, never in line
before the posture watcher's function.

The rules have fixed names (``<trail>-posture-failed-calls-...``), so the queue policy and the
state key's policy name them as ``aws:SourceArn`` without a dependency loop. The function, its
rules, its queues and its event source mapping are named as the validators' other parts are
(``<trail>-...``, ``<stack>-...``), so the posture watcher's own rules watch the calls that would
blind it.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from constructs import Construct
from ..contract import POSTURE_FAILED_CALLS as ROLE

from ..names import TrailIdentity
from .access_logs import EVENTS, QueueTarget
from .function import (ValidatorFunction, acknowledge_foreign_alerts_key, consume_statement,
                       publish_alerts_statements)
from .queue import ValidatorQueue
from .state_key import ValidatorStateKey
from .table import item_statements

HANDLER = "trail_validators.handlers.posture_failed_calls.handler"
RESERVED_CONCURRENCY = 2
"""Its own: a flood of failed calls is throttled here, never in the posture watcher's function."""
TIMEOUT = Duration.minutes(1)
VISIBILITY_TIMEOUT = Duration.minutes(6)
"""Six times the function's timeout, as Lambda advises for an SQS event source."""


class PostureFailedCalls(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity, state_key: ValidatorStateKey,
                 table: dynamodb.ITable, alerts_topic: sns.ITopic, alerts_key_arn: str, function_key: kms.IKey,
                 environment: Mapping[str, str], alarm_topic: sns.ITopic | None = None,
                 role_name: str | None = None) -> None:
        """``environment``: what the function watches, in the posture watcher's names
        (``PostureEnv``), with the table and the alerts topic. ``alerts_key_arn``,
        ``alarm_topic``, ``role_name``: as the posture watcher's."""
        super().__init__(scope, construct_id)
        self._identity, self._state_key = identity, state_key
        work = ValidatorQueue(self, "Work", alerts_topic=alarm_topic, key=state_key.key,
                              visibility_timeout=VISIBILITY_TIMEOUT, what="A failed weakening call")
        self.queue, self.dead_letter_queue = work.queue, work.dead_letter_queue
        self.dead_letter_alarm = work.dead_letter_alarm
        self.target = QueueTarget(self.queue)
        self.rule_arns: list[str] = []
        self.validator = ValidatorFunction(
            self, "Summarizer", identity=identity, role=ROLE, handler=HANDLER,
            description="Counts failed calls that would weaken the trail; one alert a principal, resource and window",
            key=function_key, state_key=state_key, dead_letter_queue=self.dead_letter_queue,
            timeout=TIMEOUT, reserved_concurrency=RESERVED_CONCURRENCY, environment=environment,
            statements=[consume_statement(self.queue), *item_statements(table, ROLE),
                        *publish_alerts_statements(alerts_topic, alerts_key_arn)],
            role_name=role_name)
        state_key.grant_receive(self.validator, self.queue)
        state_key.grant_table(self.validator, table)
        acknowledge_foreign_alerts_key(self.validator, alerts_key_arn)
        self.function = self.validator.function
        self.function.add_event_source(event_sources.SqsEventSource(
            self.queue, batch_size=10, report_batch_item_failures=True, max_concurrency=RESERVED_CONCURRENCY))

    def rule_name(self, rule_id: str) -> str:
        """The failed-calls rule beside the posture watcher's rule ``rule_id``."""
        return self._identity.event_rule_name(f"{ROLE}-{rule_id.lower()}")

    def admit(self, rule_names: Sequence[str]) -> None:
        """EventBridge may send to the queue, and use the state key for it, as these rules only."""
        self.rule_arns = [self._identity.event_rule_arn(name) for name in rule_names]
        self.queue.add_to_resource_policy(iam.PolicyStatement(
            sid="EventBridgeSendsAsTheFailedCallsRules", principals=[EVENTS], actions=["sqs:SendMessage"],
            resources=[self.queue.queue_arn], conditions={
                "ArnEquals": {"aws:SourceArn": self.rule_arns},
                "StringEquals": {"aws:SourceAccount": self._identity.account}}))
        self._state_key.allow_event_rule(self.rule_arns, sid="EventBridgeSendsAsTheFailedCallsRules")
