"""boto3 adapters of the posture watcher: what the APIs say about the trail, its key and
buckets (as a ``posture.PostureObservation``), the open conditions kept between runs, and
StartLogging."""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from ..contract import PARTITION_KEY, posture_state_key
from .judge import PostureObservation

OPEN_ATTRIBUTE = "open_conditions"


TARGET_FIELDS = ("Id", "Arn", "Input", "InputPath", "InputTransformer", "DeadLetterConfig", "RetryPolicy")
"""What the check keeps of a rule's target (``drift.target_digest``)."""

# Each bucket setting the check compares: the S3 call, the error codes that mean "not
# configured" (read as None), and the part of the answer kept.
SETTING_READS: dict[str, tuple[str, frozenset[str], str | None]] = {
    "versioning": ("get_bucket_versioning", frozenset(), None),
    "object_ownership": ("get_bucket_ownership_controls", frozenset({"OwnershipControlsNotFoundError"}), None),
    "object_lock": ("get_object_lock_configuration", frozenset({"ObjectLockConfigurationNotFoundError"}), None),
    "replication": ("get_bucket_replication", frozenset({"ReplicationConfigurationNotFoundError"}), None),
    "notifications": ("get_bucket_notification_configuration", frozenset(), None),
    "lifecycle": ("get_bucket_lifecycle_configuration", frozenset({"NoSuchLifecycleConfiguration"}), "Rules"),
}


def observe(*, cloudtrail=None, kms=None, s3=None, trail_arn: str, key_arn: str | None = None,
            buckets: Sequence[str] = (), settings_of: Sequence[str] = (),
            sns=None, topic_arn: str | None = None, events=None, rules: Sequence[str] = (),
            cloudwatch=None, alarm_prefix: str | None = None) -> PostureObservation:
    """Read what this account can see: the trail (with a CloudTrail client), the key (with
    a KMS client and ``key_arn``), the buckets' policies (with an S3 client) and, of the
    buckets in ``settings_of``, the settings of ``SETTING_READS``; the subscriptions of ``topic_arn`` (with an SNS
    client). A part that cannot be read is an error of the observation (naming the part),
    not an exception."""
    errors: list[tuple[str, str]] = []
    trail = status = selectors = key = None
    trail_found = True
    policies: dict[str, str | None] = {}
    if cloudtrail is not None:
        try:
            trail = cloudtrail.get_trail(Name=trail_arn)["Trail"]
            status = cloudtrail.get_trail_status(Name=trail_arn)
            selectors = cloudtrail.get_event_selectors(TrailName=trail_arn)
        except ClientError as error:
            if _code(error) == "TrailNotFoundException":
                trail_found = False
            else:
                errors.append((trail_arn, f"the trail {trail_arn} ({_code(error)})"))
        except BotoCoreError as error:
            errors.append((trail_arn, f"the trail {trail_arn} ({type(error).__name__})"))
    if kms is not None and key_arn:
        try:
            key = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
        except (ClientError, BotoCoreError) as error:
            errors.append((key_arn, f"the key {key_arn} ({_code(error)})"))
    for bucket in buckets if s3 is not None else ():
        try:
            policies[bucket] = s3.get_bucket_policy(Bucket=bucket)["Policy"]
        except ClientError as error:
            if _code(error) == "NoSuchBucketPolicy":
                policies[bucket] = None
            else:
                errors.append((bucket, f"the policy of bucket {bucket} ({_code(error)})"))
        except BotoCoreError as error:
            errors.append((bucket, f"the policy of bucket {bucket} ({type(error).__name__})"))
    settings: dict[str, dict[str, object]] = {}
    for bucket in settings_of if s3 is not None else ():
        read = settings[bucket] = {}
        for setting, (call, absent, part) in SETTING_READS.items():
            try:
                answer = getattr(s3, call)(Bucket=bucket)
            except ClientError as error:
                if _code(error) in absent:
                    read[setting] = None
                else:
                    errors.append((bucket, f"the {setting} of bucket {bucket} ({_code(error)})"))
                continue
            except BotoCoreError as error:
                errors.append((bucket, f"the {setting} of bucket {bucket} ({type(error).__name__})"))
                continue
            answer = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
            read[setting] = answer.get(part) if part else answer
    subscriptions = None
    if sns is not None and topic_arn:
        try:
            subscriptions = [(s.get("Protocol"), s.get("Endpoint")) for page in
                             sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
                             for s in page.get("Subscriptions", [])]
        except (ClientError, BotoCoreError) as error:
            errors.append((topic_arn, f"the subscriptions of {topic_arn} ({_code(error)})"))
    read_rules: dict[str, dict[str, object] | None] | None = None
    if events is not None and rules:
        read_rules = {}
        for name in rules:
            try:
                rule = events.describe_rule(Name=name)
                targets = [{field: t[field] for field in TARGET_FIELDS if field in t} for page in
                           events.get_paginator("list_targets_by_rule").paginate(Rule=name)
                           for t in page.get("Targets", [])]
                read_rules[name] = {"state": rule.get("State"), "targets": targets,
                                    "pattern": rule.get("EventPattern"), "schedule": rule.get("ScheduleExpression")}
            except ClientError as error:
                if _code(error) == "ResourceNotFoundException":
                    read_rules[name] = None
                else:
                    errors.append((name, f"the rule {name} ({_code(error)})"))
            except BotoCoreError as error:
                errors.append((name, f"the rule {name} ({type(error).__name__})"))
    alarms = None
    if cloudwatch is not None and alarm_prefix:
        try:
            alarms = [a for page in cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=alarm_prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
                for kind in ("MetricAlarms", "CompositeAlarms") for a in page.get(kind, [])]
        except (ClientError, BotoCoreError) as error:
            errors.append((f"{alarm_prefix}*", f"the alarms {alarm_prefix}* ({_code(error)})"))
    return PostureObservation(trail=trail, trail_found=trail_found, status=status, selectors=selectors, key=key,
                              bucket_policies=policies, bucket_settings=settings,
                              subscriptions=subscriptions, rules=read_rules, alarms=alarms, errors=tuple(errors))


NO_POLICY = '{"Statement": []}'
"""A bucket with no policy holds none of the statements handed over."""


def read_handover_policies(checks: Sequence[tuple[str, str, Any]], *, s3=None, kms=None,
                           sns=None) -> dict[str, str | None]:
    """The live policy of each handed-over part (resource → its JSON text; None where it could
    not be read: the check then says unverifiable, never in place)."""
    policies: dict[str, str | None] = {}
    for part, resource, _ in checks:
        try:
            if part == "bucket" and s3 is not None:
                policies[resource] = s3.get_bucket_policy(Bucket=resource)["Policy"]
            elif part == "key" and kms is not None:
                policies[resource] = kms.get_key_policy(KeyId=resource, PolicyName="default")["Policy"]
            elif part == "topic" and sns is not None:
                policies[resource] = sns.get_topic_attributes(TopicArn=resource)["Attributes"].get("Policy")
            else:
                policies[resource] = None
        except ClientError as error:
            policies[resource] = NO_POLICY if _code(error) == "NoSuchBucketPolicy" else None
        except BotoCoreError:
            policies[resource] = None
    return policies


def start_logging(cloudtrail, trail_arn: str) -> str | None:
    """None when CloudTrail accepted StartLogging, else why not."""
    try:
        cloudtrail.start_logging(Name=trail_arn)
    except (ClientError, BotoCoreError) as error:
        return _code(error)
    return None


class PostureState:
    """The open conditions of the last scheduled check, one item per scope."""

    def __init__(self, table_name: str, client) -> None:
        self.table_name, self.client = table_name, client

    def load(self, scope: str) -> list[str]:
        item = self.client.get_item(TableName=self.table_name, Key={PARTITION_KEY: {"S": posture_state_key(scope)}},
                                    ConsistentRead=True).get("Item") or {}
        try:
            kinds = json.loads(item.get(OPEN_ATTRIBUTE, {}).get("S", "[]"))
        except ValueError:
            kinds = []
        return [k for k in kinds if isinstance(k, str)] if isinstance(kinds, list) else []

    def save(self, scope: str, open_kinds: Sequence[str]) -> None:
        self.client.put_item(TableName=self.table_name, Item={
            PARTITION_KEY: {"S": posture_state_key(scope)}, OPEN_ATTRIBUTE: {"S": json.dumps(list(open_kinds))},
            "checked_at": {"N": str(int(time.time()))}})


def _code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "ClientError")
    return type(error).__name__
