"""The validators' DynamoDB table: dedupe markers and checkpoints, keyed as the contract
says (``trail_validators.contract``), encrypted with the validators' state key."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct
from ..contract import PARTITION_KEY, TABLE_ACCESS, TTL_ATTRIBUTE

from ..compliance import acknowledge_each_pack


class ValidatorsTable(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self, "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            time_to_live_attribute=TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge_each_pack(self.table, "DynamoDBInBackupPlan",
                              "Point-in-time recovery keeps 35 days of this table; it holds dedupe "
                              "markers and validation checkpoints, which a re-run rebuilds from the "
                              "logs themselves, so an AWS Backup plan adds cost and no evidence.",
                              packs=("NIST.800.53.R5", "HIPAA.Security"))


def item_statements(table: dynamodb.ITable, role: str) -> list[iam.PolicyStatement]:
    """The role's item access, one statement per key prefix it owns: ``dynamodb:LeadingKeys``
    keeps every role to its own items; only the digest worker's include checkpoints."""
    return [iam.PolicyStatement(
        actions=list(access.actions), resources=[table.table_arn],
        conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [access.leading_keys]}})
        for access in TABLE_ACCESS.get(role, ())]
