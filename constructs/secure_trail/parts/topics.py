"""KMS-encrypted, TLS-only SNS topics: CloudTrail's delivery topic and the alerts topic
the validators publish to."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..names import TrailIdentity


class TrailTopics(Construct):
    """``delivery``: CloudTrail announces every delivered log file here (noisy by nature).
    ``alerts``: only findings of the validators, so a subscriber hears what matters."""

    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity,
                 key: kms.IKey, delivery: bool = True, alerts: bool = True) -> None:
        """``delivery``/``alerts``: which topics to create. @default both (the single-stack
        shape); the organization shape puts the delivery topic with the trail and the alerts
        topic with the validators in the Log Archive account."""
        super().__init__(scope, construct_id)
        self.delivery: sns.Topic | None = None
        self.alerts: sns.Topic | None = None
        if delivery:
            self.delivery = sns.Topic(self, "Delivery", topic_name=identity.delivery_topic_name,
                                      master_key=key, enforce_ssl=True)
            self.delivery.add_to_resource_policy(iam.PolicyStatement(
                sid="CloudTrailPublishAsThisTrail",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["sns:Publish"], resources=[self.delivery.topic_arn],
                conditions={"StringEquals": {"aws:SourceArn": identity.trail_arn}}))
        if alerts:
            self.alerts = sns.Topic(self, "Alerts", topic_name=identity.alerts_topic_name,
                                    master_key=key, enforce_ssl=True)
