"""Who may use the keys and change the logs: no wildcard or outside principal can use a
key without a condition that pins it to this deployment (Security Hub KMS.5's intent), and
no principal but the services that deliver logs may write, delete or change the log
buckets' objects or policies. An element this module cannot read (``NotPrincipal``,
``NotAction``, an intrinsic where a principal or action must be a literal) is a finding."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

from ..assembly import Assembly, Stack
from ..cfn import document as as_document
from ..cfn import is_intrinsic
from ..model import Evidence
from ..resources import Resource, as_list, flatten, referenced, resources, statements
from .parts import (ACCESS_LOG_BUCKET, BUCKET, KEY, TRAIL_BUCKET, attached_bucket_policies, bucket_policies,
                    buckets, management_accounts, missing, trail_buckets, trails)

LOG_WRITERS = {TRAIL_BUCKET: {"cloudtrail.amazonaws.com": ("s3:PutObject",)},
               ACCESS_LOG_BUCKET: {"logging.s3.amazonaws.com": ("s3:PutObject",)}}
"""The service that delivers logs into each log bucket, and the one action it may be allowed:
the trail bucket holds CloudTrail's files only, the access-log bucket S3's access logs only."""
CHANGING_ACTIONS = ("s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
                    "s3:PutObjectTagging", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteObjectTagging",
                    "s3:RestoreObject", "s3:BypassGovernanceRetention", "s3:PutBucketPolicy",
                    "s3:DeleteBucketPolicy", "s3:DeleteBucket", "s3:PutBucketAcl", "s3:PutBucketVersioning",
                    "s3:PutLifecycleConfiguration", "s3:PutBucketObjectLockConfiguration",
                    "s3:PutBucketOwnershipControls", "s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration",
                    "s3:PutBucketLogging", "s3:PutReplicationConfiguration", "s3:ReplicateObject",
                    "s3:ReplicateDelete", "s3:PutObjectVersionAcl")
"""Actions that write, delete or change a bucket's objects or the bucket's protection."""
READ_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
"""What a named log reader outside this deployment's accounts may be allowed on a key."""
METADATA_ACTIONS = ("kms:describekey",)
"""What a service principal may be allowed on a key without a condition (it uses no key material)."""
PINNING_KEYS = ("aws:PrincipalAccount", "aws:PrincipalOrgID", "aws:PrincipalArn", "aws:SourceAccount",
                "aws:SourceArn", "kms:CallerAccount")
PINNING_OPERATORS = ("StringEquals", "ArnEquals", "StringLike", "ArnLike")
ACCOUNT = re.compile(r"^\d{12}$")
IDENTITY_POLICIES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy",
                     "AWS::IAM::GroupPolicy")
"""Identity-policy resources with one ``PolicyDocument``."""
INLINE_POLICIES = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
"""Identities with inline ``Policies``."""
ORGANIZATION = re.compile(r"AWSLogs/(o-[a-z0-9]{10,32})/")


def own_accounts(assembly: Assembly) -> set[str]:
    """The accounts this deployment's stacks are in (a stack without one is ``${AWS::AccountId}``),
    and the management account its organization trail is in."""
    accounts = {"${AWS::AccountId}"} | {account for trail in trails(assembly)
                                        for account in management_accounts(assembly, trail)}
    for stack in assembly.stacks:
        account = stack_account(stack)
        if account:
            accounts.add(account)
    return accounts


def own_organizations(assembly: Assembly) -> set[str]:
    """The organization ids this deployment's trail writes for: ``AWSLogs/<org-id>/`` in a
    trail bucket's provably created policy."""
    found: set[str] = set()
    for _, bucket in trail_buckets(assembly):
        for policy in bucket_policies(assembly, bucket) if bucket else []:
            found |= set(ORGANIZATION.findall(json.dumps(policy.value("PolicyDocument"))))
    return found


def unreadable_statement(statement: Any) -> str | None:
    """Why a policy statement cannot be evaluated as written (an intrinsic around it or
    around its Effect: which statement a deploy gets is not in the template), or None."""
    if not isinstance(statement, dict):
        return f"the statement {statement!r} is not an object"
    if is_intrinsic(statement):
        return (f"the statement is an intrinsic function ({next(iter(statement))}): which statement a deploy "
                "gets is not in the template")
    if statement.get("Effect") not in ("Allow", "Deny"):
        return f"its Effect {statement.get('Effect')!r} is not the literal Allow or Deny"
    return None


def stack_account(stack: Stack) -> str | None:
    match = re.match(r"^aws://(\d{12})/", stack.environment or "")
    return match.group(1) if match else None


def _principal_account(spelled: str) -> str | None:
    """The account of an IAM principal (account id, or ``arn:...:iam::ACCOUNT:...``)."""
    if ACCOUNT.match(spelled) or spelled == "${AWS::AccountId}":
        return spelled
    match = re.match(r"^arn:[^:]+:(?:iam|sts)::(\$\{AWS::AccountId\}|\d{12}):", spelled)
    return match.group(1) if match else None


def principals(statement: dict[str, Any]) -> tuple[list[str], list[str], str | None]:
    """``(AWS principals, service principals, why unreadable)``; ``*`` stands for everyone."""
    if "NotPrincipal" in statement:
        return [], [], "the statement uses NotPrincipal, which allows everyone not listed"
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"], [], None
    if not isinstance(principal, dict):
        return [], [], f"its Principal {principal!r} is not one this check can read"
    aws, services = [], []
    for kind, value in principal.items():
        for item in as_list(value):
            spelled = flatten(item)
            if spelled is None:
                return [], [], f"its {kind} principal {item!r} is an intrinsic function, not a literal"
            if kind == "AWS":
                aws.append(spelled)
            elif kind == "Service":
                services.append(spelled)
            else:
                return [], [], f"its {kind} principal is not one this check models"
    return aws, services, None


def _actions(statement: dict[str, Any]) -> tuple[list[str], str | None]:
    if "NotAction" in statement:
        return [], "the statement uses NotAction, which allows every action not listed"
    listed = as_list(statement.get("Action"))
    if not listed or not all(isinstance(item, str) for item in listed):
        return [], f"its Action {statement.get('Action')!r} is not a list of literal actions"
    return listed, None


def _grants(pattern: str, actions: tuple[str, ...]) -> list[str]:
    lowered = pattern.lower()
    return [action for action in actions if fnmatch.fnmatchcase(action.lower(), lowered)]


def _pinned(statement: dict[str, Any], accounts: set[str], organizations: set[str],
            contexts: bool = False) -> bool:
    """A condition (every one of its values literal, without a wildcard) ties the caller to
    this deployment's accounts, organization or ARNs (with ``contexts``, an encryption
    context naming them does too: a service then uses the key only for those resources)."""
    block = statement.get("Condition")
    if not isinstance(block, dict):
        return False
    for operator, entries in block.items():
        if operator not in PINNING_OPERATORS or not isinstance(entries, dict):
            continue
        for name, value in entries.items():
            if not isinstance(name, str) or not (name.lower() in {key.lower() for key in PINNING_KEYS} or (
                    contexts and name.lower().startswith("kms:encryptioncontext:"))):
                continue
            spelled = [flatten(item) for item in as_list(value)]
            if spelled and all(item and not {"*", "?"} & set(item) and _own(item, accounts, organizations)
                               for item in spelled):
                return True
    return False


def _own(spelled: str, accounts: set[str], organizations: set[str]) -> bool:
    """A pinning value names only this deployment: its organization (the one its trail
    writes for), a resource of its templates, or ARNs and ids of its accounts."""
    if spelled.startswith("o-"):
        return spelled in organizations
    if spelled.startswith("${") and spelled.endswith(".Arn}"):
        return True
    named = {digits or pseudo for digits, pseudo in
             re.findall(r"(?<!\d)(\d{12})(?!\d)|(\$\{AWS::AccountId\})", spelled)}
    return bool(named) and named <= accounts


def _statement_evidence(resource: Resource, path: str, holds: bool, why: str, value: Any) -> Evidence:
    return Evidence(resource.stack.name, resource.logical_id, resource.type, path, value, holds, why)


def _documents(resource: Resource, path: str) -> tuple[list[Any], Evidence | None]:
    present, raw = resource.get(path)
    return _read(resource, path, raw if present else None)


def _read(resource: Resource, path: str, raw: Any) -> tuple[list[Any], Evidence | None]:
    parsed = as_document(raw)
    if not isinstance(parsed, dict) or is_intrinsic(raw) or is_intrinsic(parsed.get("Statement")):
        return [], _statement_evidence(resource, path, False, f"the {path} of {resource.logical_id} is not a "
                                       "policy document this check can read", raw)
    listed = statements(parsed)
    if not listed or not all(isinstance(item, dict) for item in listed):
        return [], _statement_evidence(resource, path, False, f"the {path} of {resource.logical_id} holds a "
                                       "statement that is not an object", raw)
    return listed, None


def keys_not_public(assembly: Assembly) -> list[Evidence]:
    """KMS.5: every Allow of every key policy names principals of this deployment, or pins a
    wildcard / outside principal to it with a condition."""
    keys = resources(assembly, KEY, possibly=True)
    if not keys:
        return [missing("AWS::KMS::Key")]
    accounts, organizations = own_accounts(assembly), own_organizations(assembly)
    evidence = []
    for key in keys:
        listed, unreadable = _documents(key, "KeyPolicy")
        if unreadable:
            evidence.append(unreadable)
            continue
        bad = []
        for number, statement in enumerate(listed):
            path = f"KeyPolicy.Statement[{number}]"
            why = unreadable_statement(statement)
            if why:
                bad.append(_statement_evidence(key, path, False, f"{path} of {key.logical_id}: {why}", statement))
                continue
            if statement.get("Effect") != "Allow":
                continue
            aws, services, why = principals(statement)
            if why:
                bad.append(_statement_evidence(key, path, False, f"{path} of {key.logical_id}: {why}", statement))
                continue
            used, unreadable_actions = _actions(statement)
            uses = bool(unreadable_actions) or any(action.lower() not in METADATA_ACTIONS for action in used)
            if services and uses and not _pinned(statement, accounts, organizations, contexts=True):
                bad.append(_statement_evidence(
                    key, path, False, f"{path} of {key.logical_id} lets {', '.join(services)} use the key with no "
                    "condition that ties the request to this deployment (aws:SourceArn, aws:SourceAccount, or an "
                    "encryption context of its own resources): the service acting for any account could", statement))
                continue
            wildcards = [item for item in aws if "*" in item or "?" in item]
            if wildcards and not _pinned(statement, accounts, organizations):
                bad.append(_statement_evidence(
                    key, path, False, f"{path} of {key.logical_id} lets {', '.join(wildcards)} use the key with no "
                    "condition that ties the caller to this deployment's accounts or organization", statement))
                continue
            outside = [item for item in aws if item not in wildcards and _principal_account(item) not in accounts]
            listed, why = _actions(statement)
            reads_only = not why and {action.lower() for action in listed} <= {action.lower() for action in READ_ACTIONS}
            if outside and not (reads_only and statement.get("Condition")):
                bad.append(_statement_evidence(
                    key, path, False, f"{path} of {key.logical_id} lets {', '.join(outside)}, outside this "
                    "deployment's accounts, " + ("do more than decrypt" if not reads_only else
                                                 "decrypt without a condition") + " with the key: only a named "
                    "reader may, and only kms:Decrypt or kms:DescribeKey under a condition", statement))
        evidence.extend(bad or [_statement_evidence(
            key, "KeyPolicy", True, "every key-policy grant names this deployment's own accounts, or pins a "
            "wildcard principal to them with a condition", None)])
    return evidence


def _names_bucket(value: Any, bucket: Resource, assembly: Assembly, origin: Stack) -> bool:
    """An identity policy's Resource may name ``bucket`` (an unreadable one may, too)."""
    arns = [f"${{{bucket.logical_id}.Arn}}"] + ([f"arn:aws:s3:::{bucket.name}"] if bucket.name else [])
    if value is None:
        return True  # NotResource: everything not listed, this bucket included
    for item in as_list(value):
        spelled = flatten(item)
        if spelled is None or referenced(assembly, origin, item, BUCKET) == bucket:
            return True
        pattern = spelled.replace("${AWS::Partition}", "aws")
        if any(fnmatch.fnmatchcase(arn, pattern) or fnmatch.fnmatchcase(arn + "/object", pattern)
               or pattern.startswith(arn) for arn in arns):
            return True
    return False


def _writer_findings(resource: Resource, path: str, statement: dict[str, Any], target: str,
                     writers: dict[str, tuple[str, ...]]) -> Evidence | None:
    why = unreadable_statement(statement)
    if why:
        return _statement_evidence(resource, path, False, f"{path} of {resource.logical_id}: {why}", statement)
    if statement.get("Effect") != "Allow":
        return None
    listed, why = _actions(statement)
    if why:
        return _statement_evidence(resource, path, False, f"{path} of {resource.logical_id}: {why}", statement)
    changing = sorted({action for pattern in listed for action in _grants(pattern, CHANGING_ACTIONS)})
    if not changing:
        return None
    if resource.type == "AWS::S3::BucketPolicy":
        aws, services, why = principals(statement)
        if why:
            return _statement_evidence(resource, path, False, f"{path} of {resource.logical_id}: {why}", statement)
        allowed = [service for service in services if service in writers and set(changing) <= set(writers[service])]
        if not aws and services and len(allowed) == len(services):
            return None
        who = ", ".join(aws + [service for service in services if service not in allowed])
    else:
        who = f"the identities {resource.logical_id} attaches to"
    return _statement_evidence(resource, path, False, f"{path} of {resource.logical_id} lets {who} "
                               f"{', '.join(changing[:4])}{'...' if len(changing) > 4 else ''} on {target}: only "
                               "the bucket's log-delivery service may write there, and only s3:PutObject", statement)


def log_buckets_unchangeable(assembly: Assembly, roles: tuple[str, ...]) -> list[Evidence]:
    found, absent = buckets(assembly, roles)
    evidence = list(absent)
    identities = resources(assembly, *IDENTITY_POLICIES, *INLINE_POLICIES, possibly=True)
    for role, bucket in found:
        bad = []
        for policy in attached_bucket_policies(assembly, bucket) + identities:
            documents: list[tuple[str, Any]] = []
            if policy.type in INLINE_POLICIES:
                inline_policies = policy.value("Policies")
                if is_intrinsic(inline_policies):
                    documents.append(("Policies", inline_policies))
                for number, inline in enumerate(as_list(inline_policies) if not is_intrinsic(inline_policies)
                                                else []):
                    documents.append((f"Policies[{number}].PolicyDocument",
                                      inline.get("PolicyDocument") if isinstance(inline, dict) else inline))
            else:
                documents.append(("PolicyDocument", policy.value("PolicyDocument")))
            for prefix, body in documents:
                listed, unreadable = _read(policy, prefix, body) if body is not None else ([], None)
                if unreadable:
                    bad.append(unreadable)
                for number, statement in enumerate(listed):
                    if policy.type != "AWS::S3::BucketPolicy" and isinstance(statement, dict) \
                            and not is_intrinsic(statement) and not _names_bucket(
                                statement.get("Resource"), bucket, assembly, policy.stack):
                        continue
                    finding = _writer_findings(policy, f"{prefix}.Statement[{number}]", statement,
                                               bucket.logical_id, LOG_WRITERS[role])
                    if finding:
                        bad.append(finding)
        evidence.extend(bad or [Evidence(
            bucket.stack.name, bucket.logical_id, bucket.type, "", None, True,
            "no policy lets any principal but the log-delivery services write, delete or change this bucket's "
            "objects or policies", False)])
    return evidence or [missing("log bucket")]
