"""The validators' DynamoDB table: dedupe markers and checkpoints, one ``pk`` string key."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from .compliance import acknowledge_each_pack


class ValidatorsTable(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self, "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute="expires_at",
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge_each_pack(self.table, "DynamoDBInBackupPlan",
                              "Point-in-time recovery keeps 35 days of this table; it holds dedupe "
                              "markers and validation checkpoints, which a re-run rebuilds from the "
                              "logs themselves, so an AWS Backup plan adds cost and no evidence.",
                              packs=("NIST.800.53.R5", "HIPAA.Security"))
