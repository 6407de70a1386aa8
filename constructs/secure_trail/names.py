"""Every name and ARN of a trail's resources, derived from props alone: the one place they
come from.

Policies name the trail by the ARN CloudTrail presents as ``aws:SourceArn``, built from the
trail name, the home region and the management account. A token of the trail itself would
make the key, bucket and topic policies depend on the trail, and the trail on them.

The two stacks of the organization shape are deployed to two accounts: no CloudFormation
export or cross-stack reference can join them. Every name or ARN one of them uses of the
other comes from ``deployment_names``, from the same props, so both sides compute the same
strings. ``TrailIdentity`` holds the names of one stack's own resources.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from aws_cdk import Aws, Stack, Token

from .contract import POSTURE_FAILED_CALLS, POSTURE_WATCHER, rule_name
from .props import SecureTrailProps

NAME_LIMIT = 64
"""Lambda function, EventBridge rule and IAM role names: at most 64 characters."""
BUCKET_NAME_LIMIT = 63
# Longest region name AWS has used so far is 14 characters ("ap-southeast-4"); a token
# region (an environment-agnostic stack) is given this budget.
REGION_BUDGET = 16


def trail_arn(*, partition: str, region: str, management_account_id: str, trail_name: str) -> str:
    """``arn:<partition>:cloudtrail:<region>:<management>:trail/<name>``: what CloudTrail presents."""
    return f"arn:{partition}:cloudtrail:{region}:{management_account_id}:trail/{trail_name}"


def alerts_topic_name(trail_name: str) -> str:
    return f"{trail_name}-alerts"


def delivery_topic_name(trail_name: str) -> str:
    return f"{trail_name}-delivery"


def log_key_alias(trail_name: str) -> str:
    """The alias of the key that encrypts the logs (in two accounts, the trail names its key by it)."""
    return f"alias/{trail_name}"


def delivery_key_alias(trail_name: str) -> str:
    """The alias of the trail account's key (delivery topic, log group) in two accounts."""
    return f"alias/{trail_name}-delivery"


def analytics_key_alias(trail_name: str) -> str:
    return f"alias/{trail_name}-analytics"


def validator_state_key_alias(trail_name: str) -> str:
    return f"alias/{trail_name}-validator-state"


def function_name(trail_name: str, role: str) -> str:
    """``<trail>-<role>``: a validator's function, its rules and (where another account's
    policies name it) its role, shortened with a hash past 64 characters."""
    return bounded(f"{trail_name}-{role}", NAME_LIMIT)


def bounded(name: str, limit: int) -> str:
    """``name``, or its head and a hash of the whole when longer than ``limit``: still
    unique per trail, and stable from one synth to the next."""
    if len(name) <= limit:
        return name
    digest = _short_hash(name)
    return f"{name[:limit - len(digest) - 1].rstrip('.-_')}-{digest}"


def bucket_name(trail_name: str, purpose: str, account: str, region: str) -> str:
    """``<trail>-<purpose>-<account>-<region>``, a valid S3 name of at most 63 characters:
    the trail name lowercased, other characters than letters, digits and '-' turned to '-',
    and shortened with a hash of the trail name when too long."""
    region_length = REGION_BUDGET if Token.is_unresolved(region) else len(region)
    account_length = 12
    budget = BUCKET_NAME_LIMIT - len(purpose) - account_length - region_length - 3
    slug = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", trail_name.lower())).strip("-") or "trail"
    if len(slug) > budget:
        slug = f"{slug[:budget - 9].rstrip('-')}-{_short_hash(trail_name)}"
    return f"{slug}-{purpose}-{account}-{region}"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class DeploymentNames:
    """Names and ARNs shared by the two stacks (see ``deployment_names``)."""

    partition: str
    region: str
    management_account_id: str
    log_archive_account_id: str
    org_id: str
    trail_name: str
    trail_arn: str
    """``arn:<partition>:cloudtrail:<region>:<management>:trail/<name>``: what CloudTrail presents."""
    trail_bucket_name: str
    trail_bucket_arn: str
    access_log_bucket_name: str
    access_log_bucket_arn: str
    log_key_alias: str
    """``alias/<trail-name>``: the alias of the log key in the Log Archive account."""
    log_key_alias_arn: str
    """What the trail's ``KMSKeyId`` names (CloudTrail accepts an alias ARN)."""
    alerts_topic_arn: str
    """The validators' alerts topic, in the Log Archive account."""
    delivery_topic_arn: str
    """CloudTrail's delivery topic, in the trail's account."""
    posture_role_arn: str = ""
    """The trail account's posture watcher role, which publishes to the alerts topic."""
    failed_calls_role_arn: str = ""
    """The trail account's failed-calls function role, which publishes to the alerts topic too."""


def deployment_names(*, org_id: str, trail_name: str, region: str, management_account_id: str,
                     log_archive_account_id: str, trail_account_id: str | None = None,
                     partition: str = Aws.PARTITION) -> DeploymentNames:
    """Every cross-account name, from props. ``trail_account_id``: where the Trail stack is
    deployed (a delegated administrator), @default the management account."""
    trail_account_id = trail_account_id or management_account_id
    trail_bucket = bucket_name(trail_name, "logs", log_archive_account_id, region)
    access_log_bucket = bucket_name(trail_name, "access-logs", log_archive_account_id, region)
    alias = log_key_alias(trail_name)
    return DeploymentNames(
        partition=partition, region=region, management_account_id=management_account_id,
        log_archive_account_id=log_archive_account_id, org_id=org_id, trail_name=trail_name,
        trail_arn=trail_arn(partition=partition, region=region, management_account_id=management_account_id,
                            trail_name=trail_name),
        trail_bucket_name=trail_bucket, trail_bucket_arn=f"arn:{partition}:s3:::{trail_bucket}",
        access_log_bucket_name=access_log_bucket,
        access_log_bucket_arn=f"arn:{partition}:s3:::{access_log_bucket}",
        log_key_alias=alias,
        log_key_alias_arn=f"arn:{partition}:kms:{region}:{log_archive_account_id}:{alias}",
        alerts_topic_arn=f"arn:{partition}:sns:{region}:{log_archive_account_id}:{alerts_topic_name(trail_name)}",
        delivery_topic_arn=f"arn:{partition}:sns:{region}:{trail_account_id}:{delivery_topic_name(trail_name)}",
        posture_role_arn=f"arn:{partition}:iam::{trail_account_id}:role/{posture_role_name(trail_name)}",
        failed_calls_role_arn=f"arn:{partition}:iam::{trail_account_id}:role/{failed_calls_role_name(trail_name)}",
    )


def posture_role_name(trail_name: str) -> str:
    """The trail account's posture watcher role, named as its function is."""
    return function_name(trail_name, POSTURE_WATCHER)


def failed_calls_role_name(trail_name: str) -> str:
    """The trail account's failed-calls function role, named as its function is."""
    return function_name(trail_name, POSTURE_FAILED_CALLS)


@dataclass(frozen=True)
class TrailIdentity:
    """The names of one stack's own resources, and the trail's ARN its policies name."""

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

    def deployment_names(self, *, log_archive_account_id: str | None = None,
                         trail_account_id: str | None = None) -> DeploymentNames:
        """The names both stacks share, seen from this stack; ``log_archive_account_id``:
        @default this stack's account (the single stack holds the buckets itself)."""
        return deployment_names(org_id=self.org_id, trail_name=self.trail_name, region=self.home_region,
                                management_account_id=self.management_account_id,
                                log_archive_account_id=log_archive_account_id or self.account,
                                trail_account_id=trail_account_id)

    @property
    def trail_arn(self) -> str:
        return trail_arn(partition=self.partition, region=self.home_region,
                         management_account_id=self.management_account_id, trail_name=self.trail_name)

    @property
    def any_trail_of_management_account(self) -> str:
        """The form of ``kms:EncryptionContext:aws:cloudtrail:arn`` CloudTrail may use."""
        return f"arn:{self.partition}:cloudtrail:*:{self.management_account_id}:trail/*"

    @property
    def delivery_topic_name(self) -> str:
        return delivery_topic_name(self.trail_name)

    @property
    def alerts_topic_name(self) -> str:
        return alerts_topic_name(self.trail_name)

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
        return function_name(self.trail_name, role)

    def function_arn(self, role: str) -> str:
        """The form Lambda uses as ``kms:EncryptionContext:aws:lambda:FunctionArn``."""
        return f"arn:{self.partition}:lambda:{self.home_region}:{self.account}:function:{self.function_name(role)}"

    def function_log_group_name(self, role: str) -> str:
        return f"/aws/lambda/{self.function_name(role)}"

    def event_rule_name(self, role: str) -> str:
        """``<rule prefix><role>`` (``contract.rule_name``): the prefix kept, the role
        shortened with a hash when over EventBridge's 64 characters."""
        return rule_name(self.trail_name, role)

    def event_rule_arn(self, rule_name: str) -> str:
        """A rule of the default event bus: what EventBridge presents as ``aws:SourceArn``."""
        return f"arn:{self.partition}:events:{self.home_region}:{self.account}:rule/{rule_name}"

    @property
    def log_key_alias(self) -> str:
        return log_key_alias(self.trail_name)

    @property
    def delivery_key_alias(self) -> str:
        return delivery_key_alias(self.trail_name)

    @property
    def analytics_key_alias(self) -> str:
        return analytics_key_alias(self.trail_name)

    @property
    def validator_state_key_alias(self) -> str:
        return validator_state_key_alias(self.trail_name)

    @property
    def aws_logs_prefix(self) -> str:
        """``[prefix/]AWSLogs/``: everything CloudTrail writes is below it."""
        return f"{self.s3_key_prefix}/AWSLogs/" if self.s3_key_prefix else "AWSLogs/"

    def log_object_prefixes(self) -> list[str]:
        """Where CloudTrail writes: ``[prefix/]AWSLogs/<management-account>/`` and
        ``[prefix/]AWSLogs/<org-id>/``."""
        return [f"{self.aws_logs_prefix}{self.management_account_id}/", f"{self.aws_logs_prefix}{self.org_id}/"]
