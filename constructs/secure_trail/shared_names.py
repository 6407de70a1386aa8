"""The one function both stacks of the organization shape derive each other's names from.

The Log Archive stack and the Trail stack are deployed to two accounts: no CloudFormation
export or cross-stack reference can join them. Every name or ARN one of them uses of the
other is computed here from props alone (account ids, region, trail name, org id), so both
sides compute the same strings. The single-stack shape uses it too, for the trail bucket.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from aws_cdk import Aws, Token

# Longest region name AWS has used so far is 14 characters ("ap-southeast-4"); a token
# region (an environment-agnostic stack) is given this budget.
REGION_BUDGET = 16
BUCKET_NAME_LIMIT = 63


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


def deployment_names(*, org_id: str, trail_name: str, region: str, management_account_id: str,
                     log_archive_account_id: str, trail_account_id: str | None = None,
                     partition: str = Aws.PARTITION) -> DeploymentNames:
    """Every cross-account name, from props. ``trail_account_id``: where the Trail stack is
    deployed (a delegated administrator), @default the management account."""
    trail_account_id = trail_account_id or management_account_id
    trail_bucket = bucket_name(trail_name, "logs", log_archive_account_id, region)
    access_log_bucket = bucket_name(trail_name, "access-logs", log_archive_account_id, region)
    alias = f"alias/{trail_name}"
    return DeploymentNames(
        partition=partition, region=region, management_account_id=management_account_id,
        log_archive_account_id=log_archive_account_id, org_id=org_id, trail_name=trail_name,
        trail_arn=f"arn:{partition}:cloudtrail:{region}:{management_account_id}:trail/{trail_name}",
        trail_bucket_name=trail_bucket, trail_bucket_arn=f"arn:{partition}:s3:::{trail_bucket}",
        access_log_bucket_name=access_log_bucket,
        access_log_bucket_arn=f"arn:{partition}:s3:::{access_log_bucket}",
        log_key_alias=alias,
        log_key_alias_arn=f"arn:{partition}:kms:{region}:{log_archive_account_id}:{alias}",
        alerts_topic_arn=f"arn:{partition}:sns:{region}:{log_archive_account_id}:{trail_name}-alerts",
        delivery_topic_arn=f"arn:{partition}:sns:{region}:{trail_account_id}:{trail_name}-delivery",
        posture_role_arn=f"arn:{partition}:iam::{trail_account_id}:role/{posture_role_name(trail_name)}",
    )


def posture_role_name(trail_name: str) -> str:
    """``<trail>-posture-watcher``, shortened with a hash past IAM's 64 characters."""
    name = f"{trail_name}-posture-watcher"
    if len(name) <= 64:
        return name
    return f"{name[:55].rstrip('.-_')}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def bucket_name(trail_name: str, purpose: str, account: str, region: str) -> str:
    """``<trail>-<purpose>-<account>-<region>``, a valid S3 name of at most 63 characters:
    the trail name lowercased, other characters than letters, digits and '-' turned to '-',
    and shortened with a hash of the whole name when too long."""
    region_length = REGION_BUDGET if Token.is_unresolved(region) else len(region)
    account_length = 12
    budget = BUCKET_NAME_LIMIT - len(purpose) - account_length - region_length - 3
    slug = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", trail_name.lower())).strip("-") or "trail"
    if len(slug) > budget:
        digest = hashlib.sha256(trail_name.encode()).hexdigest()[:8]
        slug = f"{slug[:budget - 9].rstrip('-')}-{digest}"
    return f"{slug}-{purpose}-{account}-{region}"
