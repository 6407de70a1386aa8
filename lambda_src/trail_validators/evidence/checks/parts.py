"""The parts every check starts from (the trails, their buckets, keys, log groups) and
the one way checks turn a template property into :class:`Evidence`."""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from ...contract.handover import handover_output_id
from ..assembly import Assembly
from ..cfn import boolean, presence
from ..model import Evidence
from ..resources import SUB_VARIABLE, Resource, as_list, cached, flatten, referenced, referring, resources, unresolved

TRAIL, BUCKET, BUCKET_POLICY = "AWS::CloudTrail::Trail", "AWS::S3::Bucket", "AWS::S3::BucketPolicy"
KEY, ALIAS, TOPIC, LOG_GROUP = "AWS::KMS::Key", "AWS::KMS::Alias", "AWS::SNS::Topic", "AWS::Logs::LogGroup"
TRAIL_BUCKET, ACCESS_LOG_BUCKET = "trail", "access_log"


def is_true(value: Any) -> bool:
    """``value`` is a CloudFormation Boolean that is provably true (any form it accepts)."""
    return boolean(value) is True


def prop(resource: Resource, path: str, holds: Callable[[Any], bool], *, ok: str, bad: str,
         absent: str | None = None, absent_holds: bool = False) -> Evidence:
    """Evidence of one property: ``ok`` when ``holds(value)``, else ``bad``; ``absent``
    (holding when ``absent_holds``) when the property is not in the template."""
    present, value = resource.get(path)
    passed = holds(value) if present else absent_holds
    why = (absent or bad) if not present else ok if passed else bad
    return Evidence(resource.stack.name, resource.logical_id, resource.type, path, value, passed, why, present)


def missing(what: str, *, where: Resource | None = None, path: str = "", why: str | None = None) -> Evidence:
    """Failing evidence that something the control needs is not in the assembly."""
    if where is None:
        return Evidence("(assembly)", None, None, path, None, False, why or f"the assembly has no {what}", False)
    present, value = where.get(path) if path else (False, None)
    return Evidence(where.stack.name, where.logical_id, where.type, path, value, False,
                    why or f"{what} is not in the assembly", present)


def logging_on(trail: Resource) -> Evidence:
    """The trail is created logging (``IsLogging``, which CloudFormation requires, is provably true)."""
    return prop(trail, "IsLogging", is_true, ok="the trail is created logging",
                bad="the trail is created with logging stopped (IsLogging is not provably true): it records nothing",
                absent="IsLogging is not set: the template does not show the trail logs")


def trails(assembly: Assembly) -> list[Resource]:
    return resources(assembly, TRAIL)


def trail_buckets(assembly: Assembly) -> list[tuple[Resource, Resource | None]]:
    """``(trail, its bucket or None when the bucket is not in the assembly)``."""
    return [(trail, referenced(assembly, trail.stack, trail.value("S3BucketName"), BUCKET))
            for trail in trails(assembly)]


def access_log_bucket(assembly: Assembly, trail_bucket: Resource) -> Resource | None:
    return referenced(assembly, trail_bucket.stack,
                      trail_bucket.value("LoggingConfiguration.DestinationBucketName"), BUCKET)


def buckets(assembly: Assembly, roles: tuple[str, ...]) -> tuple[list[tuple[str, Resource]], list[Evidence]]:
    """The buckets playing ``roles`` (trail bucket, access-log bucket), each once, and
    failing evidence for each one the assembly lacks."""
    found: list[tuple[str, Resource]] = []
    absent: list[Evidence] = []
    if not trails(assembly):
        return [], [missing("AWS::CloudTrail::Trail")]
    for trail, bucket in trail_buckets(assembly):
        if bucket is None:
            absent.append(missing("the trail's bucket", where=trail, path="S3BucketName"))
            continue
        if TRAIL_BUCKET in roles:
            found.append((TRAIL_BUCKET, bucket))
        if ACCESS_LOG_BUCKET in roles:
            target = access_log_bucket(assembly, bucket)
            if target is None:
                absent.append(missing("the trail bucket's access-log bucket", where=bucket,
                                      path="LoggingConfiguration.DestinationBucketName"))
            else:
                found.append((ACCESS_LOG_BUCKET, target))
    unique, seen = [], set()
    for role, bucket in found:
        if (bucket.stack.name, bucket.logical_id) not in seen:
            seen.add((bucket.stack.name, bucket.logical_id))
            unique.append((role, bucket))
    return unique, absent


def bucket_policies(assembly: Assembly, bucket: Resource) -> list[Resource]:
    """The bucket policies CloudFormation provably creates on ``bucket``."""
    return referring(assembly, bucket, BUCKET_POLICY, "Bucket")


def attached(assembly: Assembly, target: Resource, kinds: tuple[tuple[str, str], ...]) -> list[Resource]:
    """Every policy resource (``(type, property)`` of ``kinds``) that is or may be on
    ``target``: those naming it, those whose Condition is undecided, and those that name
    their bucket or topic by something this report cannot resolve (a parameter, an import)."""
    found: list[Resource] = []
    for kind, path in kinds:
        for policy in referring(assembly, target, kind, path, possibly=True) + unresolved(
                assembly, kind, path, target.type):
            if policy not in found:
                found.append(policy)
    return found


def attached_bucket_policies(assembly: Assembly, bucket: Resource) -> list[Resource]:
    return attached(assembly, bucket, ((BUCKET_POLICY, "Bucket"),))


def several_policies(target: Resource, policies: list[Resource], bad: str) -> Evidence:
    """Failing evidence for a bucket or topic that more than one policy resource attaches
    to (or may: an undecided Condition, a target given by a parameter): each replaces the
    other, so which one is in force depends on deploy order."""
    names = ", ".join(f"{policy.logical_id} ({policy.type})" for policy in policies)
    return Evidence(target.stack.name, target.logical_id, target.type, "", None, False,
                    f"{len(policies)} policy resources attach or may attach to {target.logical_id} ({names}; one "
                    "whose Condition is undecided or whose target is not a literal counts); the last one written "
                    f"wins, so none can be relied on: {bad}", False)


def definite(owner: Resource, value: Any) -> bool:
    """``value`` names something for certain: a literal (or ``Fn::Join``/``Fn::Sub`` of
    literals and pseudo parameters), or ``Ref``/``GetAtt`` of a resource of the stack that is
    provably created; not a parameter, an ``Fn::If`` that may be ``AWS::NoValue``, an import."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("Ref"), str) \
            and value["Ref"] in owner.stack.resources:
        value = "${%s.Ref}" % value["Ref"]
    spelled = flatten(value)
    if spelled in (None, "") or "${AWS::NoValue}" in spelled:
        return False
    for name in SUB_VARIABLE.findall(spelled):
        target = name.split(".")[0]
        if not name.startswith("AWS::") and not (target in owner.stack.resources and presence(
                owner.stack, owner.stack.resources[target])[0]):
            return False
    return True


def key_of(assembly: Assembly, owner: Resource, path: str) -> Resource | None:
    """The KMS key that ``owner``'s property names: by reference, key ARN, or alias (ARN)."""
    value = owner.value(path)
    key = referenced(assembly, owner.stack, value, KEY)
    if key is not None:
        return key
    alias = referenced(assembly, owner.stack, value, ALIAS)
    return referenced(assembly, alias.stack, alias.value("TargetKeyId"), KEY) if alias else None


def multi_region_trails(assembly: Assembly) -> list[Resource]:
    return [trail for trail in trails(assembly) if is_true(trail.value("IsMultiRegionTrail"))]


def strings(value: Any) -> list[str]:
    return [item for item in as_list(value) if isinstance(item, str)]


def field_selectors(selector: Any) -> dict[str, dict[str, Any]]:
    """An advanced event selector's field selectors by field name (malformed ones left out)."""
    fields = selector.get("FieldSelectors") if isinstance(selector, dict) else None
    if not isinstance(fields, list):
        return {}
    return {field["Field"]: field for field in fields if isinstance(field, dict) and isinstance(field.get("Field"), str)}


BROUGHT_PROPERTY = {"bucket": "S3BucketName", "key": "KMSKeyId", "topic": "SnsTopicName",
                    "log-group": "CloudWatchLogsLogGroupArn"}
"""The trail property that names each part a deployment may bring instead of creating."""
LOG_GROUP_ARN = re.compile(r":log-group:([^:]+)(?::\*)?$")


def _handed_over(trail: Resource, part: str, spelled: str) -> bool:
    output = trail.stack.outputs.get(handover_output_id(part))
    return isinstance(output, dict) and (part != "bucket" or spelled in json.dumps(output.get("Value")))


def _filters_on(assembly: Assembly, group_name: str) -> bool:
    return any(flatten(metric_filter.value("LogGroupName")) == group_name
               for metric_filter in resources(assembly, "AWS::Logs::MetricFilter"))


def brought_parts(assembly: Assembly) -> dict[str, str]:
    """The parts a trail uses but the assembly does not hold, each with why the report
    cannot judge it: the trail names it by a literal name or ARN and the stack hands over the
    statements its owner must add (the bucket, key, topic), or the stack's metric filters
    watch it (a log group). A part named otherwise (a parameter, a bucket no stack hands over)
    is not brought: it is missing, and the controls on it are not satisfied."""
    def build() -> dict[str, str]:
        found: dict[str, str] = {}
        for trail in trails(assembly):
            for part, path in BROUGHT_PROPERTY.items():
                value = trail.value(path)
                spelled = flatten(value)
                if not spelled or _in_assembly(assembly, trail, part, path):
                    continue
                if part == "log-group":
                    match = LOG_GROUP_ARN.search(spelled)
                    if not match or not _filters_on(assembly, match.group(1)):
                        continue
                elif not _handed_over(trail, part, spelled):
                    continue
                found[part] = (f"the trail's {part} {spelled} ({path} of {trail.logical_id}) is not in this "
                               f"assembly: it belongs to another stack or account, so what depends on it cannot "
                               "be judged here (its owner applies the handed-over statements; secure-trail posture "
                               "checks them at run time)")
        return found
    return cached(assembly, "brought_parts", build)


def _in_assembly(assembly: Assembly, trail: Resource, part: str, path: str) -> bool:
    if part == "key":
        return key_of(assembly, trail, path) is not None
    kind = {"bucket": BUCKET, "topic": TOPIC, "log-group": LOG_GROUP}[part]
    return referenced(assembly, trail.stack, trail.value(path), kind) is not None


def about_unseen_part(item: Evidence, parts: tuple[str, ...]) -> bool:
    """``item`` only says a part of ``parts`` is not in the assembly (the trail's pointer to
    it, or an assembly-wide "no such resource")."""
    if item.holds:
        return False
    if item.stack == "(assembly)":
        return True
    return item.resource_type == TRAIL and any(item.property_path == BROUGHT_PROPERTY[part] for part in parts)


def delivery_topics_elsewhere(assembly: Assembly) -> list[Evidence]:
    """Failing evidence for each trail that publishes to a topic the assembly does not hold:
    what protects that topic cannot be seen."""
    return [missing("the trail's delivery topic", where=trail, path="SnsTopicName",
                    why=f"the trail publishes to {trail.value('SnsTopicName')!r}, a topic not in the assembly")
            for trail in trails(assembly) if trail.get("SnsTopicName")[0]
            and referenced(assembly, trail.stack, trail.value("SnsTopicName"), TOPIC) is None]


LOG_ACCOUNT = re.compile(r"AWSLogs/(\d{12})/")


def management_accounts(assembly: Assembly, trail: Resource) -> set[str]:
    """An organization trail's ARN is in the management account, also when a delegated
    administrator deploys it (another account): the account CloudTrail writes its own
    ``AWSLogs/<account>/`` for, in the trail bucket's policy or the bucket statements the
    stack hands over."""
    if not is_true(trail.value("IsOrganizationTrail")):
        return set()
    bucket = referenced(assembly, trail.stack, trail.value("S3BucketName"), BUCKET)
    texts = [json.dumps(policy.value("PolicyDocument")) for policy in bucket_policies(assembly, bucket)] \
        if bucket else [json.dumps(trail.stack.outputs.get(handover_output_id("bucket")))]
    return {account for text in texts for account in LOG_ACCOUNT.findall(text)}
