"""Names and ARNs every policy of the trail refers to, built from props alone.

Policies name the trail by the ARN CloudTrail presents as ``aws:SourceArn``, built from
the trail name, the home region and the management account. A token of the trail itself
would make the key, bucket and topic policies depend on the trail, and the trail on them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aws_cdk import Aws, Stack

from .props import SecureTrailProps


@dataclass(frozen=True)
class TrailIdentity:
    partition: str
    home_region: str
    account: str
    """The stack's (deploying) account: topics and the log group live here."""
    management_account_id: str
    org_id: str
    trail_name: str
    s3_key_prefix: str | None

    @classmethod
    def of(cls, stack: Stack, props: SecureTrailProps) -> "TrailIdentity":
        return cls(
            partition=Aws.PARTITION,
            home_region=stack.region,
            account=stack.account,
            management_account_id=props.management_account_id or stack.account,
            org_id=props.org_id,
            trail_name=props.trail_name,
            s3_key_prefix=props.s3_key_prefix,
        )

    @property
    def trail_arn(self) -> str:
        return (f"arn:{self.partition}:cloudtrail:{self.home_region}:"
                f"{self.management_account_id}:trail/{self.trail_name}")

    @property
    def any_trail_of_management_account(self) -> str:
        """The form of ``kms:EncryptionContext:aws:cloudtrail:arn`` CloudTrail may use."""
        return f"arn:{self.partition}:cloudtrail:*:{self.management_account_id}:trail/*"

    @property
    def delivery_topic_name(self) -> str:
        return f"{self.trail_name}-delivery"

    @property
    def alerts_topic_name(self) -> str:
        return f"{self.trail_name}-alerts"

    def topic_arn(self, topic_name: str) -> str:
        return f"arn:{self.partition}:sns:{self.home_region}:{self.account}:{topic_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/cloudtrail/{self.trail_name}"

    def log_group_arn(self, log_group_name: str) -> str:
        """The form CloudWatch Logs uses as ``kms:EncryptionContext:aws:logs:arn``."""
        return (f"arn:{self.partition}:logs:{self.home_region}:{self.account}:"
                f"log-group:{log_group_name}")

    def function_name(self, role: str) -> str:
        """``<trail>-<role>``, shortened with a hash when over Lambda's 64 characters."""
        return _bounded(f"{self.trail_name}-{role}", 64)

    def function_arn(self, role: str) -> str:
        """The form Lambda uses as ``kms:EncryptionContext:aws:lambda:FunctionArn``."""
        return f"arn:{self.partition}:lambda:{self.home_region}:{self.account}:function:{self.function_name(role)}"

    def function_log_group_name(self, role: str) -> str:
        return f"/aws/lambda/{self.function_name(role)}"

    def event_rule_name(self, role: str) -> str:
        """``<trail>-<role>``, shortened with a hash when over EventBridge's 64 characters."""
        return _bounded(f"{self.trail_name}-{role}", 64)

    def event_rule_arn(self, rule_name: str) -> str:
        """A rule of the default event bus: what EventBridge presents as ``aws:SourceArn``."""
        return f"arn:{self.partition}:events:{self.home_region}:{self.account}:rule/{rule_name}"

    @property
    def validator_state_key_alias(self) -> str:
        return f"alias/{self.trail_name}-validator-state"

    @property
    def aws_logs_prefix(self) -> str:
        """``[prefix/]AWSLogs/``: everything CloudTrail writes is below it."""
        return f"{self.s3_key_prefix}/AWSLogs/" if self.s3_key_prefix else "AWSLogs/"

    def log_object_prefixes(self) -> list[str]:
        """Where CloudTrail writes: ``[prefix/]AWSLogs/<management-account>/`` and
        ``[prefix/]AWSLogs/<org-id>/``."""
        return [f"{self.aws_logs_prefix}{self.management_account_id}/", f"{self.aws_logs_prefix}{self.org_id}/"]


def _bounded(name: str, limit: int) -> str:
    """``name``, or its head and a hash of the whole when longer than ``limit``: still
    unique per trail, and stable from one synth to the next."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:limit - len(digest) - 1].rstrip('.-_')}-{digest}"
