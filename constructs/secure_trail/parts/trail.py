"""The organization trail itself.

An L1 ``CfnTrail``: CDK's ``Trail`` L2 writes its own, weaker bucket and topic policy
statements (no ``aws:SourceArn`` on two of them) that would sit beside ours.
"""

from __future__ import annotations

from aws_cdk import CfnTag
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_s3 as s3
from constructs import Construct

from typing import Sequence

from ..names import TrailIdentity
from ..props.event_selectors import AdvancedEventSelector

Selector = cloudtrail.CfnTrail.AdvancedEventSelectorProperty
Field = cloudtrail.CfnTrail.AdvancedFieldSelectorProperty
MANAGED_BY_TAG = "managed-by"


class OrgTrail(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity, bucket: s3.IBucket,
                 key_arn: str, delivery_topic_arn: str, advanced_event_selectors: list[Selector],
                 insight_types: Sequence[str] = (), log_group_arn: str | None = None,
                 log_role_arn: str | None = None) -> None:
        """``advanced_event_selectors``: see ``event_selectors``; ``insight_types``: the
        ``InsightType`` values in force."""
        super().__init__(scope, construct_id)
        self.trail = cloudtrail.CfnTrail(
            self, "Trail",
            trail_name=identity.trail_name,
            is_logging=True,
            is_organization_trail=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            s3_bucket_name=bucket.bucket_name,
            s3_key_prefix=identity.s3_key_prefix,
            kms_key_id=key_arn,
            sns_topic_name=delivery_topic_arn,
            cloud_watch_logs_log_group_arn=log_group_arn,
            cloud_watch_logs_role_arn=log_role_arn,
            advanced_event_selectors=advanced_event_selectors,
            insight_selectors=[cloudtrail.CfnTrail.InsightSelectorProperty(insight_type=kind)
                               for kind in insight_types] or None,
            # Security Hub CloudTrail.9 wants a tag on the trail; yours (Tags.of) join this one.
            tags=[CfnTag(key=MANAGED_BY_TAG, value="secure-trail")],
        )


def event_selectors(*, s3_data_events: bool, lambda_data_events: bool, log_buckets: list[s3.IBucket],
                    custom: Sequence[AdvancedEventSelector] | None = None) -> list[Selector]:
    """Read and write management events (or the ``custom`` selectors, validated in props);
    data events on request. S3 data events leave out the log buckets: logging their writes
    would log itself forever."""
    log_objects = [b.arn_for_objects("") for b in log_buckets]
    selectors = ([_cfn_selector(selector, log_objects) for selector in custom] if custom is not None else [
        Selector(name="All management events",
                 field_selectors=[Field(field="eventCategory", equal_to=["Management"])])])
    if s3_data_events:
        selectors.append(Selector(name="S3 data events except the log buckets", field_selectors=[
            Field(field="eventCategory", equal_to=["Data"]),
            Field(field="resources.type", equal_to=["AWS::S3::Object"]),
            Field(field="resources.ARN", not_starts_with=log_objects),
        ]))
    if lambda_data_events:
        selectors.append(Selector(name="Lambda invoke data events", field_selectors=[
            Field(field="eventCategory", equal_to=["Data"]),
            Field(field="resources.type", equal_to=["AWS::Lambda::Function"]),
        ]))
    return selectors


def _cfn_selector(selector: AdvancedEventSelector, log_objects: list[str]) -> Selector:
    """``selector`` as CloudFormation takes it; an S3 object selector also leaves out the log buckets."""
    fields = [(f.field, f.operators()) for f in selector.field_selectors]
    kinds = selector.field("resources.type")
    if kinds is not None and "AWS::S3::Object" in kinds.equals:
        arn = next((ops for name, ops in fields if name == "resources.ARN"), None)
        if arn is None:
            fields.append(("resources.ARN", {"not_starts_with": tuple(log_objects)}))
        else:
            arn["not_starts_with"] = (*arn.get("not_starts_with", ()), *log_objects)
    return Selector(name=selector.name, field_selectors=[
        Field(field=name, **{("equal_to" if op == "equals" else op): list(values) for op, values in ops.items()})
        for name, ops in fields])
