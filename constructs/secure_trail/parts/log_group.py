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
    """``existing_log_group``/``existing_role``: brought in (``cloud_watch_log_group``,
    ``cloud_watch_logs_role``); a role is created for a brought log group without one."""

    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity,
                 key: kms.IKey, retention: logs.RetentionDays, existing_log_group: logs.ILogGroup | None = None,
                 existing_role: iam.IRole | None = None) -> None:
        super().__init__(scope, construct_id)
        self.policy: iam.ManagedPolicy | None = None
        self.log_group: logs.ILogGroup = existing_log_group or logs.LogGroup(
            self, "LogGroup", log_group_name=identity.log_group_name, encryption_key=key,
            retention=retention, removal_policy=RemovalPolicy.RETAIN)
        if existing_role is not None:
            self.role: iam.IRole = existing_role
            return
        group_name = identity.log_group_name if existing_log_group is None else existing_log_group.log_group_name
        self.role = iam.Role(
            self, "CloudTrailRole",
            description=f"CloudTrail {identity.trail_name} writes to {group_name}",
            assumed_by=iam.ServicePrincipal("cloudtrail.amazonaws.com", conditions={
                "StringEquals": {"aws:SourceArn": identity.trail_arn}}))
        streams = f"{identity.log_group_arn(group_name)}:log-stream:*"
        self.policy = iam.ManagedPolicy(
            self, "WriteTrailLogGroup", roles=[self.role],
            statements=[iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                            resources=[streams])])
        acknowledge(self.policy, f"AwsSolutions-IAM5[Resource::{nag_resource(self, streams)}]",
                    "CloudTrail names one log stream per account and region of the organization "
                    "(<account>_CloudTrail_<region>), unknown at deploy time; the wildcard stays "
                    "inside this one log group.")
