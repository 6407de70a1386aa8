"""What changed between two synths: security-relevant properties (policy statements added
or removed, encryption, public access, logging, retention, alarms) and controls whose
status got worse (a regression: the command exits 1 on any)."""

from __future__ import annotations

import json
from typing import Any

from .assembly import Assembly
from .model import STATUSES
from .report import Report
from .resources import statements

ALL = "*"
POLICY = {"AWS::S3::BucketPolicy": "PolicyDocument", "AWS::KMS::Key": "KeyPolicy",
          "AWS::SNS::TopicPolicy": "PolicyDocument", "AWS::IAM::Role": "AssumeRolePolicyDocument",
          "AWS::IAM::ManagedPolicy": "PolicyDocument", "AWS::SQS::QueuePolicy": "PolicyDocument"}
"""The property holding each type's policy document: compared statement by statement."""
WATCHED: dict[str, tuple[str, ...]] = {
    "AWS::CloudTrail::Trail": (ALL,),
    "AWS::S3::Bucket": ("BucketEncryption", "PublicAccessBlockConfiguration", "LoggingConfiguration",
                        "VersioningConfiguration", "LifecycleConfiguration", "ObjectLockEnabled",
                        "ObjectLockConfiguration", "OwnershipControls", "AccessControl"),
    "AWS::S3::BucketPolicy": ("Bucket",),
    "AWS::KMS::Key": ("EnableKeyRotation", "KeySpec", "KeyUsage", "Enabled", "PendingWindowInDays"),
    "AWS::KMS::Alias": (ALL,),
    "AWS::SNS::Topic": ("KmsMasterKeyId", "Subscription"),
    "AWS::SNS::TopicPolicy": ("Topics",),
    "AWS::SNS::Subscription": (ALL,),
    "AWS::Logs::LogGroup": ("KmsKeyId", "RetentionInDays", "LogGroupName"),
    "AWS::Logs::MetricFilter": (ALL,),
    "AWS::CloudWatch::Alarm": (ALL,),
    "AWS::IAM::Role": ("ManagedPolicyArns", "Policies", "PermissionsBoundary"),
    "AWS::IAM::ManagedPolicy": ("Roles", "Users", "Groups"),
    "AWS::SQS::Queue": ("KmsMasterKeyId", "SqsManagedSseEnabled"),
    "AWS::SQS::QueuePolicy": (),
    "AWS::DynamoDB::Table": ("SSESpecification", "PointInTimeRecoverySpecification"),
    "AWS::Lambda::Function": ("KmsKeyArn", "Role"),
}
RETENTION_ATTRIBUTES = ("DeletionPolicy", "UpdateReplacePolicy")


def _change(kind: str, summary: str, *, stack: str | None = None, logical_id: str | None = None,
            resource_type: str | None = None, property_path: str | None = None, old: Any = None, new: Any = None,
            control_id: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "summary": summary, "stack": stack, "logical_id": logical_id,
            "resource_type": resource_type, "property_path": property_path, "old": old, "new": new,
            "control_id": control_id}


def _watched(assembly: Assembly) -> dict[tuple[str, str], dict[str, Any]]:
    return {(stack.name, logical_id): body for stack in assembly.stacks for logical_id, body in stack.resources.items()
            if isinstance(body.get("Type"), str) and body["Type"] in WATCHED}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def property_changes(old: Assembly, new: Assembly) -> list[dict[str, Any]]:
    before, after = _watched(old), _watched(new)
    changes = []
    for stack, logical_id in sorted(before.keys() | after.keys()):
        was, now = before.get((stack, logical_id)), after.get((stack, logical_id))
        where = {"stack": stack, "logical_id": logical_id,
                 "resource_type": str((now or was or {}).get("Type"))}
        if was is None or now is None:
            kind = "resource_added" if was is None else "resource_removed"
            changes.append(_change(kind, f"{where['resource_type']} {logical_id} "
                                         f"{'added' if was is None else 'removed'}", **where))
            continue
        if was.get("Type") != now.get("Type"):
            changes.append(_change("property_changed", f"{logical_id} changed type", property_path="Type",
                                   old=was.get("Type"), new=now.get("Type"), **where))
            continue
        changes += _resource_changes(was, now, where)
    return changes


def _resource_changes(was: dict[str, Any], now: dict[str, Any], where: dict[str, Any]) -> list[dict[str, Any]]:
    changes = []
    old_props = was.get("Properties") if isinstance(was.get("Properties"), dict) else {}
    new_props = now.get("Properties") if isinstance(now.get("Properties"), dict) else {}
    names = WATCHED[where["resource_type"]]
    if ALL in names:
        names = tuple(sorted((old_props.keys() | new_props.keys()) - {POLICY.get(where["resource_type"])}))
    for name in names:
        if _canonical(old_props.get(name)) != _canonical(new_props.get(name)):
            changes.append(_change("property_changed", f"{where['logical_id']} {name} changed", property_path=name,
                                   old=old_props.get(name), new=new_props.get(name), **where))
    for name in RETENTION_ATTRIBUTES:
        if was.get(name) != now.get(name):
            changes.append(_change("property_changed", f"{where['logical_id']} {name} changed",
                                   property_path=f"@{name}",
                                   old=was.get(name), new=now.get(name), **where))
    policy = POLICY.get(where["resource_type"])
    if policy:
        old_statements = {_canonical(item): item for item in statements(old_props.get(policy))}
        new_statements = {_canonical(item): item for item in statements(new_props.get(policy))}
        for key in sorted(old_statements.keys() - new_statements.keys()):
            changes.append(_change("statement_removed", f"{where['logical_id']} lost a policy statement",
                                   property_path=f"{policy}.Statement", old=old_statements[key], **where))
        for key in sorted(new_statements.keys() - old_statements.keys()):
            changes.append(_change("statement_added", f"{where['logical_id']} gained a policy statement",
                                   property_path=f"{policy}.Statement", new=new_statements[key], **where))
    return changes


def status_changes(old: Report, new: Report) -> list[dict[str, Any]]:
    before = {control.id: control for control in old.controls}
    changes = []
    for control in new.controls:
        previous = before.get(control.id)
        if previous is None or previous.status == control.status:
            continue
        worse = STATUSES.index(control.status) > STATUSES.index(previous.status)
        changes.append(_change("control_regressed" if worse else "control_improved",
                               f"{control.id} went from {previous.status} to {control.status}: {control.reason}",
                               old=previous.status, new=control.status, control_id=control.id))
    return changes
