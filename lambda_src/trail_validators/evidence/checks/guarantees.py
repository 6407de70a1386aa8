"""The project's own guarantees beyond the benchmarks: confused-deputy protection on every
CloudTrail grant, TLS 1.2, the access-log TLS evidence, alerts on tampering and plain HTTP,
retention, the organization trail, and a clean cdk-nag run."""

from __future__ import annotations

import json
import re
from typing import Any

from ...contract import ACCESS_LOG_AUDITOR, DIGEST_VALIDATOR, AccessLogMetrics, DigestMetrics, Metric
from ..assembly import Assembly
from ..cfn import integer
from ..iam import deny_matches
from ..model import Evidence, NotApplicable
from ..resources import (Resource, actions, as_list, conditions, flatten, is_everyone,
                         referenced, referring, resources, service_principals, statements)
from .parts import (BUCKET, KEY, LOG_GROUP, TOPIC, TRAIL_BUCKET, access_log_bucket, attached, bucket_policies,
                    buckets, definite, delivery_topics_elsewhere, field_selectors, is_true, key_of, logging_on,
                    management_accounts, missing, prop, several_policies, strings, trail_buckets, trails)
from .access import own_accounts, stack_account, unreadable_statement
from .monitoring import alarm_refusal, has_subscriber
from .storage import logs_retained
from .trail import monitored_log_group

CLOUDTRAIL = "cloudtrail.amazonaws.com"
SOURCE_ARN_OPERATORS = ("StringEquals", "StringLike", "ArnEquals", "ArnLike")
"""Not the ...IfExists forms: those let a request without the key through."""
POLICY_PATHS = {"AWS::KMS::Key": "KeyPolicy", "AWS::S3::BucketPolicy": "PolicyDocument",
                "AWS::SNS::TopicPolicy": "PolicyDocument", "AWS::SNS::TopicInlinePolicy": "PolicyDocument",
                "AWS::IAM::Role": "AssumeRolePolicyDocument"}


def _policy_statements(assembly: Assembly):
    """Every statement of every policy that is or may be created (a grant under an undecided
    Condition may be deployed)."""
    for resource in resources(assembly, *POLICY_PATHS, possibly=True):
        path = POLICY_PATHS[resource.type]
        for number, statement in enumerate(statements(resource.value(path))):
            if isinstance(statement, dict):
                yield resource, f"{path}.Statement[{number}]", statement


def _stack_region(stack) -> str | None:
    match = re.match(r"^aws://[^/]+/([a-z]{2}(?:-[a-z]+)+-\d+)$", stack.environment or "")
    return match.group(1) if match else None


def own_trail_arns(assembly: Assembly, origin) -> set[str]:
    """The ways a policy written in stack ``origin`` may spell the ARN of a trail of this
    assembly: ``Fn::GetAtt`` in the trail's own stack, or its ARN with the trail's region,
    account and name (the pseudo parameters only where they mean the trail's own)."""
    arns = set()
    for trail in trails(assembly):
        same = trail.stack.name == origin.name
        if same:
            arns.add("${%s.Arn}" % trail.logical_id)
        name = flatten(trail.value("TrailName"))
        if not name or "$" in name:
            continue
        region, account = _stack_region(trail.stack), stack_account(trail.stack)
        regions = {region} if region else set()
        accounts = ({account} if account else set()) | management_accounts(assembly, trail)
        if same or (account and stack_account(origin) == account):
            accounts.add("${AWS::AccountId}")
        if same:
            regions.add("${AWS::Region}")
        arns |= {f"arn:{partition}:cloudtrail:{r}:{a}:trail/{name}" for partition in ("aws", "${AWS::Partition}")
                 for r in regions for a in accounts}
    return arns


def _own_trail_arn(value: Any, arns: set[str]) -> bool:
    """``value`` names one of this deployment's trails (a wildcard, another account's or an
    unknown trail does not)."""
    return flatten(value) in arns


def source_arn_on_cloudtrail_grants(assembly: Assembly) -> list[Evidence]:
    evidence = []
    for resource, path, statement in _policy_statements(assembly):
        unreadable = unreadable_statement(statement)
        if unreadable and CLOUDTRAIL in json.dumps(statement):
            evidence.append(Evidence(resource.stack.name, resource.logical_id, resource.type, path, statement, False,
                                     f"a statement that may grant CloudTrail cannot be read: {unreadable}"))
            continue
        if statement.get("Effect") != "Allow" or CLOUDTRAIL not in service_principals(statement):
            continue
        arns = own_trail_arns(assembly, resource.stack)
        scoped = [value for operator, value in conditions(statement, "aws:SourceArn")
                  if operator in SOURCE_ARN_OPERATORS and as_list(value)
                  and all(_own_trail_arn(item, arns) for item in as_list(value))]
        evidence.append(Evidence(
            resource.stack.name, resource.logical_id, resource.type, path, statement, bool(scoped),
            "CloudTrail gets this only when acting for the trail named in aws:SourceArn (no confused deputy)"
            if scoped else "this CloudTrail grant has no aws:SourceArn condition naming this deployment's trail "
                           "(its own ARN, account and name): another trail, of any account, could use it"))
    return evidence or [missing("CloudTrail grant", why="no policy in the assembly grants CloudTrail anything")]


CONTEXT_ARN = re.compile(r"^arn:(?:aws[a-z-]*|\$\{AWS::Partition\}):cloudtrail:(?:[a-z0-9-]+|\*|\$\{AWS::Region\}):"
                         r"(\$\{AWS::AccountId\}|\d{12}):trail/.+$")


def _names_own_account(value: Any, accounts: set[str]) -> bool:
    """A CloudTrail encryption-context value (a trail ARN, wildcards allowed in the region and
    name) whose account is one of this deployment's."""
    match = CONTEXT_ARN.match(flatten(value) or "")
    return bool(match) and match.group(1) in accounts


def encryption_context_on_cloudtrail_keys(assembly: Assembly) -> list[Evidence]:
    evidence = []
    for resource, path, statement in _policy_statements(assembly):
        if resource.type != KEY or statement.get("Effect") != "Allow" \
                or CLOUDTRAIL not in service_principals(statement) \
                or not any(action.lower().startswith("kms:generatedatakey") for action in actions(statement)):
            continue
        if conditions(statement, "kms:EncryptionContext:aws:sns:topicArn"):
            continue  # publishing to an encrypted topic: scoped by the topic's context instead
        accounts = own_accounts(assembly)
        scoped = [value for operator, value in conditions(statement, "kms:EncryptionContext:aws:cloudtrail:arn")
                  if operator in SOURCE_ARN_OPERATORS and as_list(value)
                  and all(_names_own_account(item, accounts) for item in as_list(value))]
        evidence.append(Evidence(
            resource.stack.name, resource.logical_id, resource.type, path, statement, bool(scoped),
            "CloudTrail may encrypt with the key only under its own encryption context (aws:cloudtrail:arn)"
            if scoped else "CloudTrail may generate data keys without an aws:cloudtrail:arn encryption context that "
                           "names this deployment's account: trails of other accounts could encrypt with the key"))
    return evidence or [missing("CloudTrail kms:GenerateDataKey grant",
                                why="no key policy lets CloudTrail encrypt logs")]


def _topic_denies_plain_http(assembly: Assembly, topic: Resource) -> Evidence:
    candidates = attached(assembly, topic, TOPIC_POLICIES)
    if len(candidates) > 1:
        return several_policies(topic, candidates, f"publishing to {topic.logical_id} without TLS may be allowed")
    for policy in topic_policies(assembly, topic):
        for number, statement in enumerate(statements(policy.value("PolicyDocument"))):
            if isinstance(statement, dict) and statement.get("Effect") == "Deny" and is_everyone(statement) and \
                    deny_matches(statement, "aws:SecureTransport", ("Bool",), (False,)) is None and \
                    {"sns:Publish", "sns:*", "*"} & set(actions(statement)) and \
                    _covers_topic(assembly, policy, statement, topic):
                return Evidence(policy.stack.name, policy.logical_id, policy.type,
                                f"PolicyDocument.Statement[{number}]", statement, True,
                                f"publishing to {topic.logical_id} without TLS is denied")
    return missing("a TLS-only topic policy", where=topic,
                   why=f"no topic policy denies publishing to {topic.logical_id} without TLS")


def _covers_topic(assembly: Assembly, policy: Resource, statement: dict[str, Any], topic: Resource) -> bool:
    """The statement's Resource is the topic (or ``*``): a deny on another ARN protects nothing here."""
    listed = as_list(statement.get("Resource"))
    return bool(listed) and any(item == "*" or referenced(assembly, policy.stack, item, TOPIC) == topic
                                for item in listed)


TOPIC_POLICIES = (("AWS::SNS::TopicPolicy", "Topics"), ("AWS::SNS::TopicInlinePolicy", "TopicArn"))


def topic_policies(assembly: Assembly, topic: Resource) -> list[Resource]:
    """The policy resources CloudFormation provably creates on ``topic``: ``TopicPolicy``
    (a list of topics) and ``TopicInlinePolicy`` (one topic)."""
    return [policy for kind, path in TOPIC_POLICIES for policy in referring(assembly, topic, kind, path)]


def topics_tls_only(assembly: Assembly) -> list[Evidence] | NotApplicable:
    topics, elsewhere = resources(assembly, TOPIC), delivery_topics_elsewhere(assembly)
    if not topics and not elsewhere:
        return NotApplicable("the assembly has no SNS topic")
    return elsewhere + [_topic_denies_plain_http(assembly, topic) for topic in topics]


def access_log_tls_evidence(assembly: Assembly) -> list[Evidence]:
    found, absent = buckets(assembly, (TRAIL_BUCKET,))
    evidence = list(absent)
    for _, bucket in found:
        target = access_log_bucket(assembly, bucket)
        evidence.append(prop(bucket, "LoggingConfiguration.DestinationBucketName", lambda _: target is not None,
                             ok="the trail bucket's server access logs (TLS version and cipher of every request) "
                                "go to this bucket of the assembly",
                             bad="the trail bucket's access logs do not go to a bucket of the assembly"))
        if target is None:
            continue
        evidence.append(prop(target, "BucketEncryption.ServerSideEncryptionConfiguration[0]."
                                     "ServerSideEncryptionByDefault.SSEAlgorithm",
                             lambda value: value == "AES256",
                             ok="SSE-S3: the only encryption S3 server access logging can deliver to",
                             bad="server access logging delivers only to SSE-S3 buckets: logs would be lost"))
        evidence.append(prop(target, "ObjectLockConfiguration.Rule.DefaultRetention",
                             lambda _: False, ok="", bad="a default Object Lock retention stops log delivery",
                             absent_holds=True,
                             absent="no Object Lock default retention, which would stop log delivery"))
        evidence.append(_logging_grant(assembly, target, bucket))
    return evidence


def _logging_grant(assembly: Assembly, target: Resource, source: Resource) -> Evidence:
    for policy in bucket_policies(assembly, target):
        for number, statement in enumerate(statements(policy.value("PolicyDocument"))):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow" \
                    or "logging.s3.amazonaws.com" not in service_principals(statement):
                continue
            by_source = any(referenced(assembly, policy.stack, value, BUCKET) == source
                            for _, value in conditions(statement, "aws:SourceArn"))
            accounts = own_accounts(assembly)
            by_account = any(operator in SOURCE_ARN_OPERATORS and as_list(value)
                             and all(flatten(item) in accounts for item in as_list(value))
                             for operator, value in conditions(statement, "aws:SourceAccount"))
            return Evidence(policy.stack.name, policy.logical_id, policy.type, f"PolicyDocument.Statement[{number}]",
                            statement, by_source and by_account,
                            "S3 logging may write here only for the trail bucket (aws:SourceArn) of this account "
                            "(aws:SourceAccount)" if by_source and by_account else
                            "the logging grant lacks aws:SourceArn of the trail bucket or aws:SourceAccount of this "
                            "deployment's own account: another bucket's logs could be mixed into the evidence")
    return missing("a logging.s3.amazonaws.com grant", where=target,
                   why="no bucket policy lets S3 server access logging write the access-log bucket")


def _dimensions(alarm: Resource) -> dict[Any, Any]:
    return {item.get("Name"): item.get("Value") for item in as_list(alarm.value("Dimensions"))
            if isinstance(item, dict) and isinstance(item.get("Name"), str)}


def _validator_alarm(assembly: Assembly, *, service: str, metric: Metric, what: str,
                     option: str) -> list[Evidence] | NotApplicable:
    functions = [function for function in resources(assembly, "AWS::Lambda::Function")
                 if (function.name or "").endswith("-" + service)]
    if not functions:
        return NotApplicable(f"the assembly has no {service} function ({option}=false)")
    evidence = [prop(function, "FunctionName", lambda _: True, ok=f"the {what} runs as this function", bad="")
                for function in functions]
    alarms = [alarm for alarm in resources(assembly, "AWS::CloudWatch::Alarm")
              if alarm.value("Namespace") == metric.namespace and alarm.value("MetricName") == metric.name
              and _dimensions(alarm) == metric.dimensions]
    if not alarms:
        return evidence + [missing(f"{metric.namespace}/{metric.name} alarm",
                                   why=f"no alarm fires on {metric.namespace}/{metric.name} of {metric.service}")]
    for alarm in alarms:
        refusal = alarm_refusal(alarm, dimensions_allowed=True)
        if refusal is not None:
            evidence.append(refusal)
            continue
        targets = [referenced(assembly, alarm.stack, action, TOPIC)
                   for action in as_list(alarm.value("AlarmActions"))]
        reached = any(topic is not None and has_subscriber(assembly, topic) for topic in targets)
        evidence.append(prop(alarm, "AlarmActions", lambda _: reached,
                             ok=f"an alarm on {metric.namespace}/{metric.name} notifies an SNS topic of the "
                                "assembly that has a subscriber",
                             bad="the alarm notifies no SNS topic of the assembly with a subscription that receives "
                                 "every message: it reaches no one", absent="the alarm has no actions"))
    return evidence


def digest_validation_alerts(assembly: Assembly) -> list[Evidence] | NotApplicable:
    trail_evidence = [item for trail in trails(assembly) for item in (
        logging_on(trail), prop(trail, "EnableLogFileValidation", is_true, ok="CloudTrail writes signed digests",
                                bad="log file validation is off: there are no digests to validate"))] \
        or [missing("AWS::CloudTrail::Trail")]
    alarm = _validator_alarm(assembly, service=DIGEST_VALIDATOR, metric=DigestMetrics.TAMPERING_FINDINGS,
                             what="digest-chain validation", option="validateDigests")
    if isinstance(alarm, NotApplicable):
        return NotApplicable(alarm.reason, tuple(trail_evidence))
    return trail_evidence + alarm


def tls_audit_alerts(assembly: Assembly) -> list[Evidence] | NotApplicable:
    return _validator_alarm(assembly, service=ACCESS_LOG_AUDITOR, metric=AccessLogMetrics.NON_TLS_SUCCESS,
                            what="access-log TLS audit", option="auditAccessLogs")


def organization_trail(assembly: Assembly) -> list[Evidence]:
    found = trails(assembly)
    return [item for trail in found for item in (
        logging_on(trail),
        prop(trail, "IsOrganizationTrail", is_true, ok="one trail logs every account of the organization",
             bad="not an organization trail: member accounts are not logged"),
        prop(trail, "IncludeGlobalServiceEvents", is_true, ok="events of global services (IAM, STS, ...) are logged",
             bad="events of global services (IAM, STS, ...) are not logged"))] or [missing("AWS::CloudTrail::Trail")]


def retained(assembly: Assembly) -> list[Evidence]:
    parts: list[Resource] = []
    for trail, bucket in trail_buckets(assembly):
        key = key_of(assembly, trail, "KMSKeyId")
        group = referenced(assembly, trail.stack, trail.value("CloudWatchLogsLogGroupArn"), LOG_GROUP)
        target = access_log_bucket(assembly, bucket) if bucket else None
        parts += [part for part in (bucket, target, key, group) if part is not None and part not in parts]
    if not parts:
        return [missing("AWS::CloudTrail::Trail")]
    return [prop(part, "@DeletionPolicy", lambda value: value == "Retain",
                 ok="deleting the stack keeps this resource (logs, evidence or the key that decrypts them)",
                 bad="deleting the stack deletes this resource", absent="no DeletionPolicy: deleting the stack "
                 "deletes this resource") for part in parts]


def log_group_protected(assembly: Assembly) -> list[Evidence] | NotApplicable:
    trail, group = monitored_log_group(assembly)
    if trail is None:
        return NotApplicable("CloudWatch Logs delivery is off (cloudWatchLogs=false)")
    if group is None:
        return [missing("the trail's log group", where=trail, path="CloudWatchLogsLogGroupArn")]
    return [prop(group, "KmsKeyId", lambda value: definite(group, value),
                 ok="the log group is encrypted with a customer managed KMS key",
                 bad="the log group is not encrypted with a customer managed key"),
            prop(group, "RetentionInDays", lambda value: (integer(value) or 0) >= 365,
                 ok="events are kept at least a year", bad="events are kept less than a year",
                 absent="no retention set: events are kept forever (and paid for)")]


def data_events_exclude_log_buckets(assembly: Assembly) -> list[Evidence] | NotApplicable:
    evidence = []
    for trail, bucket in trail_buckets(assembly):
        selectors = trail.value("AdvancedEventSelectors")
        for number, selector in enumerate(selectors if isinstance(selectors, list) else []):
            named = field_selectors(selector)
            if strings(named.get("resources.type", {}).get("Equals")) != ["AWS::S3::Object"]:
                continue
            excluded = {flatten(item) for item in as_list(named.get("resources.ARN", {}).get("NotStartsWith"))}
            log_buckets = [part for part in (bucket, access_log_bucket(assembly, bucket) if bucket else None) if part]
            holds = bool(log_buckets) and all(any(
                spelled and (spelled.startswith("${%s.Arn}" % part.logical_id)
                             or (part.name and part.name in spelled)) for spelled in excluded)
                for part in log_buckets)
            evidence.append(prop(trail, f"AdvancedEventSelectors[{number}]", lambda _: holds,
                                 ok="S3 data events exclude both log buckets, so the trail never logs its own "
                                    "deliveries", bad="S3 data events include a log bucket: the trail would log "
                                                      "its own deliveries forever"))
    return evidence or NotApplicable("no S3 data-event selector (s3DataEvents=false)")


def cdk_nag_clean(assembly: Assembly) -> list[Evidence] | NotApplicable:
    if assembly.nag_report is None:
        return NotApplicable("the assembly has no validation-report.json (synthesized without validation plugins)")
    evidence = [Evidence("(assembly)", None, None, f"validation-report.json: {plugin.name}",
                         {"conclusion": plugin.conclusion, "violations": len(plugin.violations)},
                         plugin.conclusion == "success",
                         f"{plugin.name} passed" + (f" ({len(plugin.violations)} warnings)" if plugin.violations
                                                    else "") if plugin.conclusion == "success"
                         else f"{plugin.name} reported {len(plugin.violations)} unacknowledged findings")
                for plugin in assembly.nag_report]
    return evidence or [Evidence("(assembly)", None, None, "validation-report.json", [], True,
                                 "no validation plugin reported a finding")]


def trail_logs_retained(assembly: Assembly) -> list[Evidence]:
    """The trail bucket keeps logs at least a year, and so does the CloudWatch Logs copy
    when there is one."""
    evidence = logs_retained(assembly)
    trail, group = monitored_log_group(assembly)
    if trail is not None and group is not None:
        evidence.append(prop(group, "RetentionInDays", lambda value: (integer(value) or 0) >= 365,
                             ok="the CloudWatch Logs copy keeps events at least a year",
                             bad="the CloudWatch Logs copy keeps events less than a year",
                             absent="no retention set on the CloudWatch Logs copy: events are kept forever",
                             absent_holds=True))
    elif trail is not None:
        evidence.append(missing("the trail's log group", where=trail, path="CloudWatchLogsLogGroupArn"))
    return evidence
