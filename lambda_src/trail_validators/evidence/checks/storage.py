"""Checks of the two buckets, the keys and the topics (Security Hub S3.*, KMS.4, SNS.1,
CloudTrail.6 and .7)."""

from __future__ import annotations

from typing import Any

from ..assembly import Assembly
from ..model import Evidence, NotApplicable
from ..resources import (Resource, actions, flatten, is_everyone, resources,
                         statements)
from ..cfn import integer
from ..iam import deny_matches
from .parts import (ACCESS_LOG_BUCKET, KEY, TOPIC, TRAIL_BUCKET, attached_bucket_policies, bucket_policies, buckets,
                    definite, delivery_topics_elsewhere, is_true, missing, several_policies, prop)

BOTH = (TRAIL_BUCKET, ACCESS_LOG_BUCKET)
ROLE_NAME = {TRAIL_BUCKET: "the trail bucket", ACCESS_LOG_BUCKET: "the access-log bucket"}
PUBLIC_ACCESS_BLOCKS = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")


def _per_bucket(assembly: Assembly, roles: tuple[str, ...], check) -> list[Evidence]:
    found, absent = buckets(assembly, roles)
    return absent + [item for role, bucket in found for item in check(role, bucket)]


def _blocks_public_access(role: str, bucket: Resource) -> Evidence:
    return prop(bucket, "PublicAccessBlockConfiguration",
                lambda value: isinstance(value, dict) and all(is_true(value.get(name)) for name in PUBLIC_ACCESS_BLOCKS),
                ok=f"all four public access blocks are on for {ROLE_NAME[role]}: no ACL or policy can make it public",
                bad=f"{ROLE_NAME[role]} does not turn on all four public access blocks")


def public_access_blocked(assembly: Assembly, roles: tuple[str, ...] = BOTH) -> list[Evidence]:
    return _per_bucket(assembly, roles, lambda role, bucket: [_blocks_public_access(role, bucket)])


def _public_allows(assembly: Assembly, bucket: Resource) -> list[Evidence]:
    evidence = []
    for policy in attached_bucket_policies(assembly, bucket):
        for number, statement in enumerate(statements(policy.value("PolicyDocument"))):
            if isinstance(statement, dict) and statement.get("Effect") != "Deny" and is_everyone(statement) \
                    and not statement.get("Condition"):
                evidence.append(Evidence(policy.stack.name, policy.logical_id, policy.type,
                                         f"PolicyDocument.Statement[{number}]", statement, False,
                                         "this statement allows anyone, with no condition"))
    return evidence


def not_public(assembly: Assembly, roles: tuple[str, ...] = BOTH) -> list[Evidence]:
    """S3.2/S3.3, CloudTrail.6: public access blocked and no unconditional public grant."""
    def check(role: str, bucket: Resource) -> list[Evidence]:
        return [_blocks_public_access(role, bucket)] + _public_allows(assembly, bucket)
    return _per_bucket(assembly, roles, check)


def _covers_bucket_and_objects(statement: dict[str, Any], bucket: Resource) -> bool:
    arns = {"${%s.Arn}" % bucket.logical_id}
    if bucket.name:
        arns |= {"arn:${AWS::Partition}:s3:::" + bucket.name, "arn:aws:s3:::" + bucket.name}
    spelled = {flatten(item) for item in (statement.get("Resource") if isinstance(statement.get("Resource"), list)
                                          else [statement.get("Resource")])}
    return "*" in spelled or (bool(arns & spelled) and bool({arn + "/*" for arn in arns} & spelled))


def _denies_all(statement: Any, bucket: Resource, key: str, operators: tuple[str, ...], values: tuple) -> bool:
    if not isinstance(statement, dict) or statement.get("Effect") != "Deny" or not is_everyone(statement):
        return False
    if not ({"s3:*", "*"} & set(actions(statement))) or not _covers_bucket_and_objects(statement, bucket):
        return False
    return deny_matches(statement, key, operators, values) is None


def denying_statement(assembly: Assembly, bucket: Resource, role: str, *, key: str, operators: tuple[str, ...],
                      values: tuple, ok: str, bad: str) -> Evidence:
    """The bucket policy statement that denies everyone every S3 action on the bucket and
    its objects under the condition ``key`` (``operators``, one of ``values``)."""
    attached = attached_bucket_policies(assembly, bucket)
    if len(attached) > 1:
        return several_policies(bucket, attached, f"{ROLE_NAME[role]}: {bad}")
    policies = bucket_policies(assembly, bucket)
    for policy in policies:
        for number, statement in enumerate(statements(policy.value("PolicyDocument"))):
            if _denies_all(statement, bucket, key, operators, values):
                return Evidence(policy.stack.name, policy.logical_id, policy.type,
                                f"PolicyDocument.Statement[{number}]", statement, True, f"{ok} ({ROLE_NAME[role]})")
    if not policies:
        return missing("a bucket policy", where=bucket, why=f"{ROLE_NAME[role]} has no bucket policy: {bad}")
    policy = policies[0]
    return Evidence(policy.stack.name, policy.logical_id, policy.type, "PolicyDocument.Statement",
                    policy.value("PolicyDocument.Statement"), False, f"{bad} ({ROLE_NAME[role]})")


def denies_non_tls(assembly: Assembly, roles: tuple[str, ...] = BOTH) -> list[Evidence]:
    return _per_bucket(assembly, roles, lambda role, bucket: [denying_statement(
        assembly, bucket, role, key="aws:SecureTransport", operators=("Bool",), values=("false", False),
        ok="the policy denies every S3 action on the bucket and its objects without TLS (aws:SecureTransport)",
        bad="no statement denies every S3 action on the bucket and its objects when aws:SecureTransport is false")])


def denies_old_tls(assembly: Assembly, roles: tuple[str, ...] = (TRAIL_BUCKET,)) -> list[Evidence]:
    return _per_bucket(assembly, roles, lambda role, bucket: [denying_statement(
        assembly, bucket, role, key="s3:TlsVersion", operators=("NumericLessThan",), values=(1.2, "1.2"),
        ok="the policy denies every S3 action on the bucket and its objects below TLS 1.2 (s3:TlsVersion)",
        bad="no statement denies every S3 action on the bucket and its objects below TLS 1.2")])


def access_logging(assembly: Assembly, roles: tuple[str, ...] = (TRAIL_BUCKET,)) -> list[Evidence]:
    return _per_bucket(assembly, roles, lambda role, bucket: [prop(
        bucket, "LoggingConfiguration.DestinationBucketName", lambda value: definite(bucket, value),
        ok=f"S3 server access logs of {ROLE_NAME[role]} go to this bucket: every request, its TLS "
           "version and cipher are recorded", bad=f"{ROLE_NAME[role]} has no server access logging")])


def no_acls(assembly: Assembly, roles: tuple[str, ...] = BOTH) -> list[Evidence]:
    return _per_bucket(assembly, roles, lambda role, bucket: [prop(
        bucket, "OwnershipControls.Rules[0].ObjectOwnership", lambda value: value == "BucketOwnerEnforced",
        ok=f"ACLs are disabled on {ROLE_NAME[role]} (BucketOwnerEnforced): only policies grant access",
        bad=f"{ROLE_NAME[role]} still honours ACLs")])


def lifecycle(assembly: Assembly, roles: tuple[str, ...] = BOTH) -> list[Evidence]:
    return _per_bucket(assembly, roles, lambda role, bucket: [prop(
        bucket, "LifecycleConfiguration.Rules",
        lambda rules: isinstance(rules, list) and any(isinstance(rule, dict) and rule.get("Status") == "Enabled"
                                                      for rule in rules),
        ok=f"{ROLE_NAME[role]} has an enabled lifecycle rule (transition and expiry as configured)",
        bad=f"{ROLE_NAME[role]} has no enabled lifecycle rule")])


def noncurrent_versions_expire(assembly: Assembly, roles: tuple[str, ...] = BOTH) -> list[Evidence]:
    """S3.10: a versioned bucket's lifecycle also ends noncurrent versions."""
    return _per_bucket(assembly, roles, lambda role, bucket: [prop(
        bucket, "LifecycleConfiguration.Rules",
        lambda rules: isinstance(rules, list) and any(
            isinstance(rule, dict) and rule.get("Status") == "Enabled"
            and bool(rule.get("NoncurrentVersionExpiration") or rule.get("NoncurrentVersionTransitions"))
            for rule in rules),
        ok=f"an enabled lifecycle rule of {ROLE_NAME[role]} expires or moves noncurrent versions",
        bad=f"no enabled lifecycle rule of {ROLE_NAME[role]} handles noncurrent versions")])


def versioning(assembly: Assembly, roles: tuple[str, ...] = BOTH) -> list[Evidence]:
    return _per_bucket(assembly, roles, lambda role, bucket: [prop(
        bucket, "VersioningConfiguration.Status", lambda value: value == "Enabled",
        ok=f"versioning keeps every overwritten or deleted object of {ROLE_NAME[role]}",
        bad=f"{ROLE_NAME[role]} is not versioned: an overwrite or delete loses the object")])


def object_lock(assembly: Assembly, roles: tuple[str, ...] = (TRAIL_BUCKET,)) -> list[Evidence] | NotApplicable:
    found, absent = buckets(assembly, roles)
    locked = [bucket for _, bucket in found if is_true(bucket.value("ObjectLockEnabled"))]
    if absent:
        return absent
    if not locked:
        return NotApplicable("Object Lock is not configured on the trail bucket (objectLockMode is empty, the "
                             "default): it is opt-in because it cannot be turned off once on")
    return [prop(bucket, "ObjectLockConfiguration.Rule.DefaultRetention",
                 lambda value: isinstance(value, dict) and value.get("Mode") in ("GOVERNANCE", "COMPLIANCE"),
                 ok="Object Lock with a default retention: no version can be deleted before it expires",
                 bad="Object Lock is on but without a default retention") for bucket in locked]


def kms_encrypted(assembly: Assembly, roles: tuple[str, ...] = (TRAIL_BUCKET,)) -> list[Evidence]:
    return _per_bucket(assembly, roles, lambda role, bucket: [prop(
        bucket, "BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault",
        lambda value: isinstance(value, dict) and value.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse")
        and definite(bucket, value.get("KMSMasterKeyID")),
        ok=f"{ROLE_NAME[role]} encrypts every object with the customer managed KMS key (SSE-KMS)",
        bad=f"{ROLE_NAME[role]} is not encrypted with a customer managed KMS key")])


def key_rotation(assembly: Assembly) -> list[Evidence]:
    keys = [key for key in resources(assembly, KEY) if key.value("KeySpec") in (None, "SYMMETRIC_DEFAULT")]
    if not keys:
        return [missing("symmetric AWS::KMS::Key")]
    return [prop(key, "EnableKeyRotation", is_true, ok="automatic yearly rotation of the key material is on",
                 bad="key rotation is off") for key in keys]


def topics_encrypted(assembly: Assembly) -> list[Evidence] | NotApplicable:
    topics, elsewhere = resources(assembly, TOPIC), delivery_topics_elsewhere(assembly)
    if not topics and not elsewhere:
        return NotApplicable("the assembly has no SNS topic")
    return elsewhere + [prop(topic, "KmsMasterKeyId", lambda value: definite(topic, value),
                             ok="the topic's messages are encrypted at rest with this KMS key",
                             bad="the topic is not encrypted with KMS") for topic in topics]


MIN_RETENTION_DAYS = 365


def _rule_shortens_retention(rule: Any, minimum: int) -> str | None:
    """Why an enabled lifecycle rule may delete logs before ``minimum`` days, or None."""
    if not isinstance(rule, dict):
        return f"a lifecycle rule {rule!r} is not an object"
    name = rule.get("Id", "(no Id)")
    status = rule.get("Status")
    if status == "Disabled":
        return None
    if status != "Enabled":
        return f"lifecycle rule {name!r} has Status {status!r}, not the literal Enabled or Disabled"
    if "ExpirationDate" in rule:
        return f"lifecycle rule {name!r} expires objects on a fixed date ({rule['ExpirationDate']!r})"
    for days_key, what in (("ExpirationInDays", "objects"),
                           ("NoncurrentVersionExpiration.NoncurrentDays", "noncurrent versions"),
                           ("NoncurrentVersionExpirationInDays", "noncurrent versions")):
        holder: Any = rule
        for part in days_key.split("."):
            holder = holder.get(part) if isinstance(holder, dict) else None
        if holder is None:
            continue
        days = integer(holder)
        if days is None:
            return f"lifecycle rule {name!r} sets {days_key} to {holder!r}, not a literal number of days"
        if days < minimum:
            return f"lifecycle rule {name!r} expires {what} after {days} days ({days_key}), under {minimum}"
    return None


def logs_retained(assembly: Assembly, roles: tuple[str, ...] = (TRAIL_BUCKET,),
                  minimum: int = MIN_RETENTION_DAYS) -> list[Evidence]:
    """No enabled lifecycle rule of the trail bucket deletes a log object or a noncurrent
    version before ``minimum`` days (a rule with a Filter still deletes the logs it selects)."""
    def check(role: str, bucket: Resource) -> list[Evidence]:
        present, rules = bucket.get("LifecycleConfiguration.Rules")
        if not present:
            return [prop(bucket, "LifecycleConfiguration.Rules", lambda _: True, ok="", bad="",
                         absent=f"{ROLE_NAME[role]} has no lifecycle rule: its logs are never expired",
                         absent_holds=True)]
        if not isinstance(rules, list):
            return [prop(bucket, "LifecycleConfiguration.Rules", lambda _: False, ok="",
                         bad=f"the lifecycle rules of {ROLE_NAME[role]} are not a list this check can read")]
        problems = [why for why in (_rule_shortens_retention(rule, minimum) for rule in rules) if why]
        return [prop(bucket, "LifecycleConfiguration.Rules", lambda _: not problems,
                     ok=f"no lifecycle rule of {ROLE_NAME[role]} deletes logs or their noncurrent versions before "
                        f"{minimum} days", bad=f"{ROLE_NAME[role]}: {problems[0]}" if problems else "")]
    return _per_bucket(assembly, roles, check)
