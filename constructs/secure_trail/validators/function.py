"""One validator Lambda: arm64 / Python 3.14, its own encrypted log group, a role that
holds exactly the statements it is given, bounded concurrency, a DLQ, and an environment
encrypted with the validators' state key."""

from __future__ import annotations

from typing import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..compliance import acknowledge, acknowledge_control, acknowledge_each_pack, nag_resource
from ..names import TrailIdentity
from .code import ARCHITECTURE, RUNTIME, validator_code
from .state_key import ValidatorStateKey


class ValidatorFunction(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity, role: str, handler: str,
                 description: str, key: kms.IKey, state_key: ValidatorStateKey,
                 statements: Sequence[iam.PolicyStatement], environment: Mapping[str, str],
                 dead_letter_queue: sqs.IQueue,
                 timeout: Duration = Duration.minutes(5), memory_size: int = 512,
                 reserved_concurrency: int = 5, log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
                 role_name: str | None = None) -> None:
        """``role_name``: @default generated; give one when another account's policy must name
        the role by ARN before it exists."""
        super().__init__(scope, construct_id)
        # The key policy lets CloudWatch Logs use the key for exactly this group name.
        function_name = identity.function_name(role)
        self.log_group = logs.LogGroup(self, "Logs", log_group_name=identity.function_log_group_name(role),
                                       encryption_key=key, retention=log_retention,
                                       removal_policy=RemovalPolicy.RETAIN)
        self.service = role
        self.named_function_arn = identity.function_arn(role)
        """The function's ARN built from names (no token): policies can name it without
        depending on the function."""
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             role_name=role_name, description=f"{function_name}: {description}")
        self.policy = iam.ManagedPolicy(self, "Permissions", roles=[self.role], statements=[
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                resources=[f"{self.log_group.log_group_arn}"]),
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[dead_letter_queue.queue_arn]),
            *statements])
        # Every permission is in the managed policy above: CDK's grants must not add an
        # inline default policy beside it. An immutable reference by name (this account)
        # rather than role.without_policy_updates(): that one also makes the function
        # DependsOn the role its Role property refers to already (cfn-lint W3005).
        self.function = lambda_.Function(
            self, "Function", function_name=function_name, description=description,
            runtime=RUNTIME, architecture=ARCHITECTURE, handler=handler, code=validator_code(),
            role=iam.Role.from_role_name(self, "FunctionRole", self.role.role_name, mutable=False),
            environment=dict(environment), environment_encryption=state_key.key,
            timeout=timeout, memory_size=memory_size, reserved_concurrent_executions=reserved_concurrency,
            dead_letter_queue=dead_letter_queue, log_group=self.log_group)
        self.function.node.add_dependency(self.policy)
        state_key.grant_environment(self)
        state_key.grant_send(self, dead_letter_queue)
        outside_vpc = ("The validator calls only AWS APIs (S3, SQS, SNS, DynamoDB, CloudWatch) "
                       "over TLS and accepts no inbound traffic; a VPC would add NAT or five "
                       "interface endpoints and no isolation that IAM does not already give.")
        acknowledge_each_pack(self.function, "LambdaInsideVPC", outside_vpc)
        acknowledge_control(self.function, "CT.LAMBDA.PR.3", outside_vpc)


def consume_statement(queue: sqs.IQueue) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                                        "sqs:GetQueueAttributes"], resources=[queue.queue_arn])


def publish_alerts_statements(alerts_topic: sns.ITopic, key_arn: str) -> list[iam.PolicyStatement]:
    """Publish to the encrypted alerts topic: the key only through that topic's context."""
    return [iam.PolicyStatement(actions=["sns:Publish"], resources=[alerts_topic.topic_arn]),
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key_arn],
                                conditions={"StringEquals": {
                                    "kms:EncryptionContext:aws:sns:topicArn": alerts_topic.topic_arn}})]


def acknowledge_foreign_alerts_key(validator: "ValidatorFunction", key_arn: str) -> None:
    """The ack a publisher needs when the alerts topic's key is the Log Archive's (``key/*``)."""
    if key_arn.endswith("/*"):
        acknowledge(validator.policy, f"AwsSolutions-IAM5[Resource::{nag_resource(validator, key_arn)}]",
                    "The alerts topic and its key live in the Log Archive account, whose key id no "
                    "template here can know; the statement holds only when KMS is used as the "
                    "encryption of that one topic (kms:EncryptionContext:aws:sns:topicArn).")
