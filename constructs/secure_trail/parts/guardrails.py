"""Optional preventive guardrails for the organization shape's management-account stack.

A service control policy, attached to the organization root or given OUs, denies every
principal but a named break-glass role (``aws:PrincipalArn``) the calls that stop, delete or
change this trail, delete its logs or change its buckets, disable or re-key its key, and
blind its validators. Where resource control policies are enabled, a second policy denies
S3 and KMS requests without TLS organization-wide. An SCP never applies to the management
account itself (docs/guardrails.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_organizations as organizations
from constructs import Construct

from ..contract import rule_prefix
from ..contract.weakening_calls import VALIDATOR_SOURCES, WEAKENING_CALLS
from ..names import DeploymentNames
from ..props import SecureTrailConfigError

SCP_MAX_CHARACTERS = 5120
"""The service control (and resource control) policy size limit (AWS Organizations quotas)."""

TRAIL_ACTIONS = ("cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail",
                 "cloudtrail:PutEventSelectors", "cloudtrail:PutInsightSelectors", "cloudtrail:RemoveTags")
BUCKET_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration",
                  "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning",
                  "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock",
                  "s3:PutBucketOwnershipControls", "s3:PutBucketObjectLockConfiguration",
                  "s3:PutBucketLogging", "s3:PutBucketNotification", "s3:PutReplicationConfiguration",
                  "s3:DeleteBucket")
KEY_ACTIONS = ("kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:DisableKeyRotation",
               "kms:UpdateAlias", "kms:DeleteAlias")
VALIDATOR_ACTIONS = tuple(sorted({call.iam_action for source in VALIDATOR_SOURCES
                                  for call in WEAKENING_CALLS[source].values()}))
"""The calls that blind a validator, as IAM actions on the deployment's functions, rules,
topics and backfill state machine: the posture watcher's table (``contract.weakening_calls``), so what it watches is what
the guardrails deny."""

_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/*-]+$")
_TARGET = re.compile(r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")


@dataclass(frozen=True)
class GuardrailsProps:
    """``break_glass_role_arn``: the one role the SCP lets change the trail (required; an IAM role
    ARN, ``*`` allowed in the path or name). ``target_ids``: the organization root (``r-...``) or
    OUs (``ou-...``) the policies attach to (required). ``resource_control_policy``: also the TLS
    RCP, @default False (RCPs must be enabled in the organization first)."""

    break_glass_role_arn: str
    target_ids: tuple[str, ...]
    resource_control_policy: bool = False

    def validate(self) -> None:
        if not isinstance(self.break_glass_role_arn, str) or not _ARN.match(self.break_glass_role_arn):
            raise SecureTrailConfigError(
                f"guardrails.break_glass_role_arn: {self.break_glass_role_arn!r} is not valid; expected an IAM "
                "role ARN (arn:aws:iam::123456789012:role/BreakGlass).")
        if not self.target_ids or not all(isinstance(t, str) and _TARGET.match(t) for t in self.target_ids):
            raise SecureTrailConfigError(
                f"guardrails.target_ids: {self.target_ids!r} is not valid; expected the root id (r-...) or OU "
                "ids (ou-...), at least one.")


def _deny(sid: str, actions: tuple[str, ...], resources: list[str], break_glass: str,
          extra: dict[str, Any] | None = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"ArnNotLike": {"aws:PrincipalArn": break_glass}}
    condition.update(extra or {})
    return {"Sid": sid, "Effect": "Deny", "Action": list(actions), "Resource": resources, "Condition": condition}


def service_control_policy(names: DeploymentNames, break_glass_role_arn: str) -> dict[str, Any]:
    p, trail = names.partition, names.trail_name
    buckets = [names.trail_bucket_arn, names.access_log_bucket_arn]
    document = {"Version": "2012-10-17", "Statement": [
        _deny("ProtectTrail", TRAIL_ACTIONS, [names.trail_arn], break_glass_role_arn),
        _deny("ProtectLogs", BUCKET_ACTIONS, buckets + [f"{b}/*" for b in buckets], break_glass_role_arn),
        _deny("ProtectKey", KEY_ACTIONS, ["*"], break_glass_role_arn,
              {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [names.log_key_alias]}}),
        _deny("ProtectValidators", VALIDATOR_ACTIONS,
              [f"arn:{p}:lambda:*:*:function:{trail}-*", f"arn:{p}:lambda:*:*:event-source-mapping:*",
               f"arn:{p}:events:*:*:rule/{rule_prefix(trail)}*", f"arn:{p}:sns:*:*:{trail}-*",
               f"arn:{p}:states:*:*:stateMachine:{trail}-*", f"arn:{p}:states:*:*:execution:{trail}-*"],
              break_glass_role_arn),
    ]}
    return _sized(document, "service control policy")


def resource_control_policy() -> dict[str, Any]:
    return _sized({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyWithoutTls", "Effect": "Deny", "Principal": "*", "Action": ["s3:*", "kms:*"], "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:SecureTransport": "false", "aws:PrincipalIsAWSService": "false"}},
    }]}, "resource control policy")


def _sized(document: dict[str, Any], what: str) -> dict[str, Any]:
    size = len(json.dumps(document, separators=(",", ":")))
    if size > SCP_MAX_CHARACTERS:
        raise SecureTrailConfigError(
            f"guardrails: the {what} is {size} characters, over the {SCP_MAX_CHARACTERS}-character limit of "
            "AWS Organizations; shorten trail_name or split the policy.")
    return document


class Guardrails(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: GuardrailsProps,
                 names: DeploymentNames) -> None:
        super().__init__(scope, construct_id)
        props.validate()
        self.service_control_policy = organizations.CfnPolicy(
            self, "ServiceControlPolicy", name=f"{names.trail_name}-protect-trail", type="SERVICE_CONTROL_POLICY",
            description="Only the break-glass role may stop, change or delete the trail, its logs, key and validators",
            content=service_control_policy(names, props.break_glass_role_arn), target_ids=list(props.target_ids))
        self.resource_control_policy: organizations.CfnPolicy | None = None
        if props.resource_control_policy:
            self.resource_control_policy = organizations.CfnPolicy(
                self, "ResourceControlPolicy", name=f"{names.trail_name}-require-tls",
                type="RESOURCE_CONTROL_POLICY", description="S3 and KMS requests without TLS are denied",
                content=resource_control_policy(), target_ids=list(props.target_ids))
