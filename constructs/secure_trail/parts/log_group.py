"""CloudWatch Logs delivery of the trail: an encrypted group and the one role CloudTrail
assumes to write into it."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..compliance import acknowledge, nag_resource
from ..names import TrailIdentity


class TrailLogGroup(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity,
                 key: kms.IKey, retention: logs.RetentionDays) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "LogGroup", log_group_name=identity.log_group_name, encryption_key=key,
            retention=retention, removal_policy=RemovalPolicy.RETAIN)
        self.role = iam.Role(
            self, "CloudTrailRole",
            description=f"CloudTrail {identity.trail_name} writes to {identity.log_group_name}",
            assumed_by=iam.ServicePrincipal("cloudtrail.amazonaws.com", conditions={
                "StringEquals": {"aws:SourceArn": identity.trail_arn}}))
        streams = f"{identity.log_group_arn(identity.log_group_name)}:log-stream:*"
        self.policy = iam.ManagedPolicy(
            self, "WriteTrailLogGroup", roles=[self.role],
            statements=[iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                            resources=[streams])])
        acknowledge(self.policy, f"AwsSolutions-IAM5[Resource::{nag_resource(self, streams)}]",
                    "CloudTrail names one log stream per account and region of the organization "
                    "(<account>_CloudTrail_<region>), unknown at deploy time; the wildcard stays "
                    "inside this one log group.")
