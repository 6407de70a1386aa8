"""The calls that can weaken the trail, its two log buckets, its key or its log group, or
blind a validator (its functions, rules and topics): the one table that the posture watcher's
EventBridge rules (``secure_trail.validators.posture``), its judging core
(``trail_validators.posture.judge``) and the guardrails' service control policy
(``secure_trail.parts.guardrails``) all read. A new call is one line here.

Event source -> event name -> why it matters (the alert says it) and the IAM action that
makes the call (the guardrails deny it)."""

from __future__ import annotations

import re
from typing import NamedTuple

from . import rule_prefix


class Call(NamedTuple):
    why: str
    iam_action: str
    versioned: bool = False
    """CloudTrail records the name with an API version appended (``UpdateFunctionCode20150331v2``):
    the rules match it as a prefix, the judge as the name and a version."""

API_CALL = "AWS API Call via CloudTrail"
"""The ``detail-type`` of the events that carry these calls."""
SUCCEEDED = {"errorCode": [{"exists": False}]}
FAILED = {"errorCode": [{"exists": True}]}
"""What a rule adds to its ``detail`` to match only calls that succeeded (the posture watcher's
real alerts) or only calls that failed (the failed-calls function's summaries): CloudTrail sets
``errorCode`` on a call that failed, and only then."""

CLOUDTRAIL = "cloudtrail.amazonaws.com"
S3 = "s3.amazonaws.com"
KMS = "kms.amazonaws.com"
LOGS = "logs.amazonaws.com"
LAMBDA = "lambda.amazonaws.com"
EVENTS = "events.amazonaws.com"
SNS = "sns.amazonaws.com"
CLOUDWATCH = "monitoring.amazonaws.com"
SQS = "sqs.amazonaws.com"
DYNAMODB = "dynamodb.amazonaws.com"
STATES = "states.amazonaws.com"

WEAKENING_CALLS: dict[str, dict[str, Call]] = {
    CLOUDTRAIL: {
        "StopLogging": Call("the trail records nothing until logging is started again", "cloudtrail:StopLogging"),
        "DeleteTrail": Call("the organization's API activity is no longer recorded", "cloudtrail:DeleteTrail"),
        "UpdateTrail": Call("the trail's bucket, key, validation, regions or organization scope may have changed", "cloudtrail:UpdateTrail"),
        "PutEventSelectors": Call("events the trail recorded may no longer be recorded", "cloudtrail:PutEventSelectors"),
        "PutInsightSelectors": Call("Insights on API call and error rates may be off", "cloudtrail:PutInsightSelectors"),
        "RemoveTags": Call("tags that policies or inventories rely on were removed from the trail", "cloudtrail:RemoveTags"),
        "RegisterOrganizationDelegatedAdmin": Call("another account may now create, change and delete the "
                                                   "organization's trails", "cloudtrail:RegisterOrganizationDelegatedAdmin"),
        "DeregisterOrganizationDelegatedAdmin": Call("the account that administered the organization's trails "
                                                     "changed", "cloudtrail:DeregisterOrganizationDelegatedAdmin"),
    },
    S3: {
        "PutBucketPolicy": Call("the policy that admits only this trail and only TLS 1.2+ may be weakened", "s3:PutBucketPolicy"),
        "DeleteBucketPolicy": Call("the bucket no longer refuses requests without TLS, nor scopes CloudTrail's writes", "s3:DeleteBucketPolicy"),
        "PutBucketLogging": Call("server access logs (the TLS evidence) may no longer be written", "s3:PutBucketLogging"),
        "PutBucketVersioning": Call("with versioning suspended an overwritten or deleted log leaves no copy", "s3:PutBucketVersioning"),
        "PutBucketLifecycle": Call("a lifecycle rule may expire logs early", "s3:PutLifecycleConfiguration"),
        "PutBucketLifecycleConfiguration": Call("a lifecycle rule may expire logs early", "s3:PutLifecycleConfiguration"),
        "PutBucketEncryption": Call("new logs may be encrypted with another key, or not with KMS", "s3:PutEncryptionConfiguration"),
        "DeleteBucketEncryption": Call("new logs fall back to the default encryption", "s3:PutEncryptionConfiguration"),
        "PutBucketPublicAccessBlock": Call("public access blocks may be off", "s3:PutBucketPublicAccessBlock"),
        "DeletePublicAccessBlock": Call("public access blocks are off", "s3:PutBucketPublicAccessBlock"),
        "PutBucketOwnershipControls": Call("ACLs may be enabled again", "s3:PutBucketOwnershipControls"),
        "PutObjectLockConfiguration": Call("the Object Lock default retention may be shortened or removed", "s3:PutBucketObjectLockConfiguration"),
        "DeleteBucket": Call("the bucket that holds the logs is being deleted", "s3:DeleteBucket"),
        "PutBucketNotification": Call("the bucket's events may no longer reach EventBridge: the access-log audit stops", "s3:PutBucketNotification"),
        "PutBucketNotificationConfiguration": Call("the bucket's events may no longer reach EventBridge: the access-log "
                                              "audit stops", "s3:PutBucketNotification"),
        "PutBucketReplication": Call("the logs may now also be copied to a bucket of someone else's choosing",
                                     "s3:PutReplicationConfiguration"),
        "DeleteBucketReplication": Call("the logs are no longer copied where they were replicated",
                                        "s3:PutReplicationConfiguration"),
        "DeleteBucketLifecycle": Call("the lifecycle rules (transition, retention) are gone",
                                      "s3:PutLifecycleConfiguration"),
        "DeleteBucketOwnershipControls": Call("ACLs may be used again: an ACL can then grant access to the logs",
                                              "s3:PutBucketOwnershipControls"),
        "PutBucketAcl": Call("an ACL may grant another account or everyone access to the logs", "s3:PutBucketAcl"),
        "PutBucketInventoryConfiguration": Call("an inventory report of the logs may now go to another bucket",
                                                "s3:PutInventoryConfiguration"),
    },
    KMS: {
        "DisableKey": Call("CloudTrail cannot encrypt new logs and readers cannot decrypt old ones", "kms:DisableKey"),
        "ScheduleKeyDeletion": Call("once deleted, every log encrypted with the key is unreadable forever", "kms:ScheduleKeyDeletion"),
        "PutKeyPolicy": Call("the key policy that admits only this trail and named readers may be weakened", "kms:PutKeyPolicy"),
        "DisableKeyRotation": Call("the key's material is no longer rotated", "kms:DisableKeyRotation"),
        "CreateGrant": Call("a grant gives its grantee use of the key outside the key policy", "kms:CreateGrant"),
        "UpdateAlias": Call("the trail's alias may now name another key, which CloudTrail would encrypt with "
                       "where the trail names its key by the alias (two accounts)", "kms:UpdateAlias"),
        "DeleteAlias": Call("where the trail names its key by this alias (two accounts), CloudTrail cannot encrypt", "kms:DeleteAlias"),
    },
    LOGS: {
        "DeleteLogGroup": Call("the CloudWatch Logs copy of the trail, and the alarms on it, are gone", "logs:DeleteLogGroup"),
        "PutRetentionPolicy": Call("the log group may keep events for a shorter time", "logs:PutRetentionPolicy"),
        "DisassociateKmsKey": Call("new events in the log group are no longer encrypted with the key", "logs:DisassociateKmsKey"),
        "DeleteSubscriptionFilter": Call("a consumer of the trail's events (analytics, SIEM) stops receiving them", "logs:DeleteSubscriptionFilter"),
        "PutSubscriptionFilter": Call("the trail's events may now also go elsewhere, or no longer reach analytics", "logs:PutSubscriptionFilter"),
        "DeleteMetricFilter": Call("a CIS monitoring alarm's metric filter is gone: the alarm no longer sees its calls", "logs:DeleteMetricFilter"),
        "PutMetricFilter": Call("a CIS monitoring alarm's metric filter may now count nothing", "logs:PutMetricFilter"),
        "PutTransformer": Call("the trail's events may be rewritten before filters, alarms and consumers see them",
                               "logs:PutTransformer"),
        "PutDataProtectionPolicy": Call("fields of the trail's events may now be masked from alarms and readers",
                                        "logs:PutDataProtectionPolicy"),
        "DeleteLogStream": Call("recorded events in the log group are deleted", "logs:DeleteLogStream"),
    },
    LAMBDA: {
        "DeleteFunction": Call("a validator is gone: what it checks is no longer checked", "lambda:DeleteFunction",
                               True),
        "UpdateFunctionCode": Call("a validator may now run code that finds nothing", "lambda:UpdateFunctionCode",
                                   True),
        "UpdateFunctionConfiguration": Call("a validator's settings (what it watches, where it alerts) may be "
                                            "changed", "lambda:UpdateFunctionConfiguration", True),
        "PutFunctionConcurrency": Call("a reserved concurrency of 0 stops a validator", "lambda:PutFunctionConcurrency",
                                       True),
        "DeleteFunctionConcurrency": Call("a validator may be starved by other functions",
                                          "lambda:DeleteFunctionConcurrency", True),
        "AddPermission": Call("another principal may now invoke a validator with forged events",
                              "lambda:AddPermission", True),
        "RemovePermission": Call("a validator's rules or bucket may no longer invoke it", "lambda:RemovePermission",
                                 True),
        "CreateEventSourceMapping": Call("a validator may now be fed from another queue",
                                         "lambda:CreateEventSourceMapping", True),
        "UpdateEventSourceMapping": Call("a validator's queue may be disabled or redirected",
                                         "lambda:UpdateEventSourceMapping", True),
        "DeleteEventSourceMapping": Call("a validator no longer receives its queue's work",
                                         "lambda:DeleteEventSourceMapping", True),
    },
    EVENTS: {
        "DisableRule": Call("a validator's schedule or event rule no longer invokes it", "events:DisableRule"),
        "DeleteRule": Call("a validator's schedule or event rule is gone", "events:DeleteRule"),
        "RemoveTargets": Call("a validator's rule no longer invokes it", "events:RemoveTargets"),
        "PutTargets": Call("a validator's rule may now invoke something else", "events:PutTargets"),
        "PutRule": Call("a validator's rule may now match nothing, or run rarely", "events:PutRule"),
    },
    SNS: {
        "Unsubscribe": Call("an alert subscriber no longer receives the findings", "sns:Unsubscribe"),
        "DeleteTopic": Call("the findings have nowhere to go", "sns:DeleteTopic"),
        "SetTopicAttributes": Call("the topic's policy, key or delivery may be changed: alerts may be lost",
                                   "sns:SetTopicAttributes"),
        "SetSubscriptionAttributes": Call("a filter policy or redelivery setting may now keep alerts from a "
                                          "subscriber", "sns:SetSubscriptionAttributes"),
    },
    CLOUDWATCH: {
        "DeleteAlarms": Call("an alarm of the trail or a validator is gone: what it watched raises nothing",
                             "cloudwatch:DeleteAlarms"),
        "DisableAlarmActions": Call("an alarm still changes state but notifies no one", "cloudwatch:DisableAlarmActions"),
        "PutMetricAlarm": Call("an alarm may be redefined to never fire or to notify no one", "cloudwatch:PutMetricAlarm"),
        "SetAlarmState": Call("an alarm was forced to a state: a real alarm may have been reset to OK",
                              "cloudwatch:SetAlarmState"),
    },
    SQS: {
        "DeleteQueue": Call("a validator's work or dead-letter queue is gone", "sqs:DeleteQueue"),
        "PurgeQueue": Call("the work a validator had not yet done (or its dead letters) is deleted", "sqs:PurgeQueue"),
        "SetQueueAttributes": Call("a validator's queue policy, key, retention or redrive may be changed",
                                   "sqs:SetQueueAttributes"),
    },
    DYNAMODB: {
        "DeleteTable": Call("the validators' checkpoints and once-only markers are gone: alerts repeat or chains "
                            "restart", "dynamodb:DeleteTable"),
        "UpdateTable": Call("the validators' table's key, stream or capacity may be changed", "dynamodb:UpdateTable"),
    },
    STATES: {
        "StopExecution": Call("a backfill of the digest history was stopped before every day was validated",
                              "states:StopExecution"),
        "DeleteStateMachine": Call("the digest backfill is gone", "states:DeleteStateMachine"),
        "UpdateStateMachine": Call("the digest backfill may now validate nothing", "states:UpdateStateMachine"),
    },
}

VERSION_SUFFIX = re.compile(r"\d{8}(v\d+)?")


def call_named(source: str, event_name: str) -> Call | None:
    """The table's row for a recorded event name (version suffix and all), or None."""
    calls = WEAKENING_CALLS.get(source, {})
    if event_name in calls:
        return calls[event_name]
    for name, call in calls.items():
        if call.versioned and event_name.startswith(name) and VERSION_SUFFIX.fullmatch(event_name[len(name):]):
            return call
    return None

# Where each service names the resource of a call: the judge reads these fields, the rules match them.
RESOURCE_FIELDS: dict[str, tuple[str, ...]] = {
    CLOUDTRAIL: ("name", "trailName", "resourceId"),
    S3: ("bucketName",),
    KMS: ("keyId", "aliasName"),
    LOGS: ("logGroupName", "logGroupIdentifier", "resourceIdentifier"),
    LAMBDA: ("functionName",),
    EVENTS: ("name", "rule"),
    SNS: ("topicArn", "subscriptionArn"),
    CLOUDWATCH: ("alarmName", "alarmNames"),
    SQS: ("queueUrl",),
    DYNAMODB: ("tableName",),
    STATES: ("stateMachineArn", "executionArn"),
}

ANY_VALUE_FIELDS: dict[str, tuple[str, ...]] = {CLOUDTRAIL: ("memberAccountId", "delegatedAdminAccountId")}
"""Fields whose mere presence makes the call one of ours: the delegated administrator of
CloudTrail is organization-wide, named by the account it delegates to."""

RESPONSE_FIELDS: dict[str, tuple[str, ...]] = {LAMBDA: ("functionArn",)}
"""Fields of ``responseElements`` that name the resource where the request does not
(DeleteEventSourceMapping names only the mapping's UUID)."""

VALIDATOR_SOURCES = (LAMBDA, EVENTS, SNS, STATES)
"""The validators' own parts: named ``<trail>-...`` (functions, rules, topics), so matched by
that prefix (a resource of another deployment whose trail name starts the same is a false
alert, never a missed one)."""

# Trail names and key ids are matched whatever their case (the rules too): a false alert on
# a trail whose name differs only by case costs less than a stop that goes unseen.
CASE_INSENSITIVE = frozenset((CLOUDTRAIL, KMS))

STACK_SOURCES = (CLOUDWATCH, SQS, DYNAMODB)
"""Parts CloudFormation names ``<stack>-<logical id>-<suffix>`` (alarms, queues, the table):
matched by the stack's name as a prefix."""

EVENTBRIDGE_SOURCES: dict[str, str] = {CLOUDTRAIL: "aws.cloudtrail", S3: "aws.s3", KMS: "aws.kms", LOGS: "aws.logs",
                                       LAMBDA: "aws.lambda", EVENTS: "aws.events", SNS: "aws.sns",
                                       CLOUDWATCH: "aws.monitoring", SQS: "aws.sqs", DYNAMODB: "aws.dynamodb",
                                       STATES: "aws.states"}
"""The ``source`` of each service's "AWS API Call via CloudTrail" events on EventBridge."""


def own_prefixes(source: str, *, trail_name: str, stack_name: str, partition: str, region: str,
                 account: str) -> tuple[str, ...]:
    """The name prefixes by which a call of ``source`` names a part of this deployment in this
    account: ``<trail>-...`` for the validators' functions, topics and state machine,
    ``contract.rule_prefix`` for their rules,
    ``<stack>-...`` for its alarms, queues and table (empty for the other sources, named exactly)."""
    head, stack, rules = f"{trail_name}-", f"{stack_name}-", rule_prefix(trail_name)
    return {
        LAMBDA: (head, f"arn:{partition}:lambda:{region}:{account}:function:{head}", f"{account}:function:{head}"),
        EVENTS: (rules, f"arn:{partition}:events:{region}:{account}:rule/{rules}"),
        SNS: (f"arn:{partition}:sns:{region}:{account}:{head}",),
        STATES: (f"arn:{partition}:states:{region}:{account}:stateMachine:{head}",
                 f"arn:{partition}:states:{region}:{account}:execution:{head}"),
        CLOUDWATCH: (stack,),
        SQS: queue_url_prefixes(region=region, account=account, queue_prefix=stack),
        DYNAMODB: (stack, f"arn:{partition}:dynamodb:{region}:{account}:table/{stack}"),
    }.get(source, ())


QUEUE_URL_HOSTS = ("sqs.{region}.amazonaws.com", "sqs.{region}.amazonaws.com.cn", "sqs.{region}.api.aws",
                   "{region}.queue.amazonaws.com")
"""The hosts a queue URL may name: the standard endpoint, the China partitions' (``.com.cn``), the
dual-stack one and the legacy ``<region>.queue`` host; each over ``https://`` or ``http://`` (the
SQS API takes whatever URL a caller sends, and CloudTrail records it as sent)."""


def queue_url_prefixes(*, region: str, account: str, queue_prefix: str) -> tuple[str, ...]:
    """Every spelling of a URL of this account's queues whose names start with ``queue_prefix``."""
    return tuple(f"{scheme}://{host.format(region=region)}/{account}/{queue_prefix}"
                 for scheme in ("https", "http") for host in QUEUE_URL_HOSTS)
