"""KMS-encrypted, TLS-only SNS topics: CloudTrail's delivery topic and the alerts topic
the validators publish to."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from .identity import TrailIdentity


class TrailTopics(Construct):
    """``delivery``: CloudTrail announces every delivered log file here (noisy by nature).
    ``alerts``: only findings of the validators, so a subscriber hears what matters."""

    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity,
                 key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.delivery = sns.Topic(self, "Delivery", topic_name=identity.delivery_topic_name,
                                  master_key=key, enforce_ssl=True)
        self.delivery.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudTrailPublishAsThisTrail",
            principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
            actions=["sns:Publish"], resources=[self.delivery.topic_arn],
            conditions={"StringEquals": {"aws:SourceArn": identity.trail_arn}}))
        self.alerts = sns.Topic(self, "Alerts", topic_name=identity.alerts_topic_name,
                                master_key=key, enforce_ssl=True)

    @property
    def names(self) -> list[str]:
        return [self.delivery.topic_name, self.alerts.topic_name]
