"""Sample EventBridge "AWS API Call via CloudTrail" events, shaped as EventBridge delivers
CloudTrail management events (the CloudTrail record under ``detail``), for the posture
watcher's tests. Test helpers only: never shipped."""

from __future__ import annotations

import uuid
from typing import Any

from trail_validators.posture.judge import WatchedResources

PRINCIPAL = "arn:aws:sts::{account}:assumed-role/BreakGlass/mallory"
SOURCE_IP = "203.0.113.7"
USER_AGENT = "aws-cli/2.17.0 Python/3.11.9 Linux/6.1 exe/x86_64"

SOURCES = {"cloudtrail.amazonaws.com": "aws.cloudtrail", "s3.amazonaws.com": "aws.s3",
           "kms.amazonaws.com": "aws.kms", "logs.amazonaws.com": "aws.logs", "lambda.amazonaws.com": "aws.lambda",
           "events.amazonaws.com": "aws.events", "sns.amazonaws.com": "aws.sns",
           "monitoring.amazonaws.com": "aws.monitoring", "sqs.amazonaws.com": "aws.sqs",
           "dynamodb.amazonaws.com": "aws.dynamodb", "states.amazonaws.com": "aws.states"}


def api_call_event(event_source: str, event_name: str, request_parameters: dict[str, Any] | None, *,
                   account: str, region: str, principal: str | None = None, error_code: str | None = None,
                   resources: list[dict[str, str]] | None = None, event_id: str | None = None,
                   response_elements: dict[str, Any] | None = None) -> dict[str, Any]:
    principal = principal or PRINCIPAL.format(account=account)
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole", "principalId": "AROAEXAMPLEID:mallory", "arn": principal, "accountId": account,
            "accessKeyId": "ASIAEXAMPLEKEY",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEID",
                                  "arn": f"arn:aws:iam::{account}:role/BreakGlass", "accountId": account,
                                  "userName": "BreakGlass"},
                "attributes": {"creationDate": "2026-11-25T04:10:00Z", "mfaAuthenticated": "false"}}},
        "eventTime": "2026-11-25T04:12:31Z", "eventSource": event_source, "eventName": event_name,
        "awsRegion": region, "sourceIPAddress": SOURCE_IP, "userAgent": USER_AGENT,
        "requestParameters": request_parameters, "responseElements": response_elements,
        "requestID": str(uuid.uuid4()), "eventID": event_id or str(uuid.uuid4()), "readOnly": False,
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": f"{event_source.split('.')[0]}.{region}.amazonaws.com"}}
    if error_code:
        detail["errorCode"], detail["errorMessage"] = error_code, "User is not authorized to perform this operation"
    if resources is not None:
        detail["resources"] = resources
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
            "source": SOURCES[event_source], "account": account, "time": "2026-11-25T04:12:31Z", "region": region,
            "resources": [], "detail": detail}


def scheduled_event(account: str, region: str, rule_arn: str) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": account, "time": "2026-11-25T04:15:00Z", "region": region, "resources": [rule_arn],
            "detail": {}}


def weakening_calls(*, trail_name: str, trail_arn: str, buckets: list[str], key_arn: str,
                    log_group: str | None, key_alias: str | None = None
                    ) -> list[tuple[str, str, dict[str, Any], list | None]]:
    """Every call the watcher alerts on, with request parameters as CloudTrail records them,
    each naming one of the trail's own resources: (event source, name, parameters, resources)."""
    trail, s3, kms, logs = ("cloudtrail.amazonaws.com", "s3.amazonaws.com", "kms.amazonaws.com",
                            "logs.amazonaws.com")
    key_resources = [{"accountId": key_arn.split(":")[4], "type": "AWS::KMS::Key", "ARN": key_arn}]
    calls = [
        (trail, "StopLogging", {"name": trail_arn}, None),
        (trail, "DeleteTrail", {"name": trail_name}, None),
        (trail, "UpdateTrail", {"name": trail_name, "enableLogFileValidation": False}, None),
        (trail, "PutEventSelectors", {"trailName": trail_arn, "advancedEventSelectors": []}, None),
        (trail, "PutInsightSelectors", {"trailName": trail_name, "insightSelectors": []}, None),
        (trail, "RemoveTags", {"resourceId": trail_arn, "tagsList": [{"key": "owner"}]}, None),
    ]
    for bucket in buckets:
        calls += [
            (s3, "PutBucketPolicy", {"bucketName": bucket, "policy": "", "Host": f"{bucket}.s3.amazonaws.com"}, None),
            (s3, "DeleteBucketPolicy", {"bucketName": bucket, "policy": ""}, None),
            (s3, "PutBucketLogging", {"bucketName": bucket, "BucketLoggingStatus": {}, "logging": ""}, None),
            (s3, "PutBucketVersioning", {"bucketName": bucket, "VersioningConfiguration": {"Status": "Suspended"}},
             None),
            (s3, "PutBucketLifecycle", {"bucketName": bucket, "lifecycle": ""}, None),
            (s3, "PutBucketLifecycleConfiguration", {"bucketName": bucket, "lifecycle": ""}, None),
            (s3, "PutBucketEncryption", {"bucketName": bucket, "encryption": ""}, None),
            (s3, "DeleteBucketEncryption", {"bucketName": bucket, "encryption": ""}, None),
            (s3, "PutBucketPublicAccessBlock", {"bucketName": bucket, "publicAccessBlock": ""}, None),
            (s3, "DeletePublicAccessBlock", {"bucketName": bucket, "publicAccessBlock": ""}, None),
            (s3, "PutBucketOwnershipControls", {"bucketName": bucket, "ownershipControls": ""}, None),
            (s3, "PutObjectLockConfiguration", {"bucketName": bucket, "object-lock": ""}, None),
            (s3, "DeleteBucket", {"bucketName": bucket}, None),
            (s3, "PutBucketNotification", {"bucketName": bucket, "NotificationConfiguration": {}}, None),
            (s3, "PutBucketNotificationConfiguration", {"bucketName": bucket, "NotificationConfiguration": {}}, None),
            (s3, "PutBucketReplication", {"bucketName": bucket, "ReplicationConfiguration": {}, "replication": ""},
             None),
            (s3, "DeleteBucketReplication", {"bucketName": bucket, "replication": ""}, None),
            (s3, "DeleteBucketLifecycle", {"bucketName": bucket, "lifecycle": ""}, None),
            (s3, "DeleteBucketOwnershipControls", {"bucketName": bucket, "ownershipControls": ""}, None),
            (s3, "PutBucketAcl", {"bucketName": bucket, "acl": "", "x-amz-grant-read": "uri=AllUsers"}, None),
            (s3, "PutBucketInventoryConfiguration", {"bucketName": bucket, "id": "all", "inventory": ""}, None),
        ]
    calls += [
        (kms, "DisableKey", {"keyId": key_arn}, key_resources),
        (kms, "ScheduleKeyDeletion", {"keyId": key_arn.rsplit("/", 1)[-1], "pendingWindowInDays": 7}, key_resources),
        (kms, "PutKeyPolicy", {"keyId": key_arn, "policyName": "default"}, key_resources),
        (kms, "DisableKeyRotation", {"keyId": key_arn.rsplit("/", 1)[-1]}, key_resources),
        (kms, "CreateGrant", {"keyId": key_arn, "granteePrincipal": "arn:aws:iam::999999999999:root",
                              "operations": ["Decrypt"]}, key_resources),
    ]
    if key_alias:
        alias_resources = [{"accountId": key_arn.split(":")[4], "type": "AWS::KMS::Alias",
                            "ARN": f"{key_arn.rsplit(':', 1)[0]}:{key_alias}"}]
        calls += [
            (kms, "UpdateAlias", {"aliasName": key_alias, "targetKeyId": "arn:aws:kms:eu-west-1:999999999999:key/x"},
             alias_resources),
            (kms, "DeleteAlias", {"aliasName": key_alias}, alias_resources),
        ]
    if log_group:
        calls += [
            (logs, "DeleteLogGroup", {"logGroupName": log_group}, None),
            (logs, "PutRetentionPolicy", {"logGroupName": log_group, "retentionInDays": 1}, None),
            (logs, "DisassociateKmsKey", {"logGroupName": log_group}, None),
            (logs, "DeleteSubscriptionFilter", {"logGroupName": log_group, "filterName": "siem"}, None),
            (logs, "PutSubscriptionFilter", {"logGroupName": log_group, "filterName": "siem",
                                             "destinationArn": "arn:aws:kinesis:us-east-1:999999999999:stream/x"}, None),
            (logs, "DeleteMetricFilter", {"logGroupName": log_group, "filterName": "RootUserUsage"}, None),
            (logs, "PutMetricFilter", {"logGroupName": log_group, "filterName": "RootUserUsage",
                                       "filterPattern": "{$.nothing = 1}"}, None),
            (logs, "PutTransformer", {"logGroupIdentifier": log_group, "transformerConfig": []}, None),
            (logs, "PutDataProtectionPolicy", {"logGroupIdentifier": log_group, "policyDocument": "{}"}, None),
            (logs, "DeleteLogStream", {"logGroupName": log_group, "logStreamName": "o-x_111111111111_CloudTrail"},
             None),
        ]
    return calls


def validator_calls(*, trail_name: str, account: str, region: str, function: str | None = None,
                    rule: str | None = None, topic: str | None = None, state_machine: str | None = None
                    ) -> list[tuple[str, str, dict[str, Any], dict[str, Any] | None]]:
    """Every call that blinds a validator, as CloudTrail records it (Lambda's names with their
    API version), each naming one of the deployment's own functions, rules and topics:
    (event source, recorded name, request parameters, response elements)."""
    function = function or f"{trail_name}-digest-validator"
    function_arn = f"arn:aws:lambda:{region}:{account}:function:{function}"
    rule = rule or f"{trail_name}-digest-planner"
    topic = topic or f"arn:aws:sns:{region}:{account}:{trail_name}-alerts"
    machine = f"arn:aws:states:{region}:{account}:stateMachine:{state_machine or f'{trail_name}-digest-backfill'}"
    execution = machine.replace(":stateMachine:", ":execution:") + ":run-2026-12-03"
    lam, events, sns, states = "lambda.amazonaws.com", "events.amazonaws.com", "sns.amazonaws.com", "states.amazonaws.com"
    mapping = "a1b2c3d4-5678-90ab-cdef-11111EXAMPLE"
    return [
        (lam, "DeleteFunction20150331", {"functionName": function_arn}, None),
        (lam, "UpdateFunctionCode20150331v2", {"functionName": function, "publish": False, "dryRun": False}, None),
        (lam, "UpdateFunctionConfiguration20150331v2", {"functionName": function, "environment": {}}, None),
        (lam, "PutFunctionConcurrency20171031", {"functionName": function, "reservedConcurrentExecutions": 0}, None),
        (lam, "DeleteFunctionConcurrency20171031", {"functionName": function}, None),
        (lam, "AddPermission20150331v2", {"functionName": function, "statementId": "x",
                                          "action": "lambda:InvokeFunction", "principal": "*"}, None),
        (lam, "RemovePermission20150331v2", {"functionName": function, "statementId": "x"}, None),
        (lam, "CreateEventSourceMapping20150331", {"functionName": function,
                                                   "eventSourceArn": f"arn:aws:sqs:{region}:{account}:other"}, None),
        (lam, "UpdateEventSourceMapping20150331", {"uUID": mapping, "functionName": function_arn, "enabled": False},
         None),
        (lam, "DeleteEventSourceMapping20150331", {"uUID": mapping},
         {"uUID": mapping, "functionArn": function_arn, "state": "Deleting"}),
        (events, "DisableRule", {"name": rule}, None),
        (events, "DeleteRule", {"name": rule, "force": False}, None),
        (events, "RemoveTargets", {"rule": rule, "ids": ["Target0"], "force": False}, None),
        (events, "PutTargets", {"rule": rule, "targets": [{"id": "Target0", "arn": function_arn}]}, None),
        (events, "PutRule", {"name": rule, "scheduleExpression": "rate(365 days)", "state": "ENABLED"}, None),
        (sns, "Unsubscribe", {"subscriptionArn": f"{topic}:0b6941d5-1c3c-4b2a-9a6e-2f7d0e8c1a11"}, None),
        (sns, "DeleteTopic", {"topicArn": topic}, None),
        (sns, "SetTopicAttributes", {"topicArn": topic, "attributeName": "KmsMasterKeyId", "attributeValue": ""},
         None),
        (sns, "SetSubscriptionAttributes", {"subscriptionArn": f"{topic}:0b6941d5-1c3c-4b2a-9a6e-2f7d0e8c1a11",
                                            "attributeName": "FilterPolicy", "attributeValue": '{"none": ["x"]}'},
         None),
        (states, "StopExecution", {"executionArn": execution, "cause": "x"}, None),
        (states, "DeleteStateMachine", {"stateMachineArn": machine}, None),
        (states, "UpdateStateMachine", {"stateMachineArn": machine, "definition": "HIDDEN_DUE_TO_SECURITY_REASONS"},
         None),
    ]


def stack_calls(*, stack: str, account: str, region: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The calls on the parts CloudFormation names after the stack (alarms, queues, the
    table), and CloudTrail's delegated administration: (event source, name, request parameters)."""
    cw, sqs, ddb = "monitoring.amazonaws.com", "sqs.amazonaws.com", "dynamodb.amazonaws.com"
    queue = f"https://sqs.{region}.amazonaws.com/{account}/{stack}-SecureTrailDigestValidatorWork-AbCdEf123456"
    alarm = f"{stack}-SecureTrailDigestValidatorTamperingAlarm-1A2B3C4D5E6F"
    return [
        (cw, "DeleteAlarms", {"alarmNames": [alarm]}),
        (cw, "DisableAlarmActions", {"alarmNames": [alarm]}),
        (cw, "PutMetricAlarm", {"alarmName": alarm, "threshold": 1e9, "actionsEnabled": False}),
        (cw, "SetAlarmState", {"alarmName": alarm, "stateValue": "OK", "stateReason": "x"}),
        (sqs, "DeleteQueue", {"queueUrl": queue}),
        (sqs, "PurgeQueue", {"queueUrl": queue}),
        (sqs, "SetQueueAttributes", {"queueUrl": queue, "attributes": {"MessageRetentionPeriod": "60"}}),
        (ddb, "DeleteTable", {"tableName": f"{stack}-SecureTrailValidatorsTable-XYZ789"}),
        (ddb, "UpdateTable", {"tableName": f"{stack}-SecureTrailValidatorsTable-XYZ789", "sSESpecification": {}}),
        ("cloudtrail.amazonaws.com", "RegisterOrganizationDelegatedAdmin", {"memberAccountId": "999999999999"}),
        ("cloudtrail.amazonaws.com", "DeregisterOrganizationDelegatedAdmin",
         {"delegatedAdminAccountId": "999999999999"}),
    ]


# -- a deployment the samples are judged against -----------------------------------------
ACCOUNT, REGION = "111111111111", "eu-west-1"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org-trail"
BUCKETS = ("org-trail-logs-111111111111-eu-west-1", "org-trail-access-logs-111111111111-eu-west-1")
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
LOG_GROUP = "/aws/cloudtrail/org-trail"
ALIAS = "alias/org-trail"
WATCHED = WatchedResources(trail_arn=TRAIL_ARN, account=ACCOUNT, region=REGION, buckets=BUCKETS, key_arn=KEY_ARN,
                           key_alias=ALIAS, log_group_name=LOG_GROUP)
"""What the posture watcher of that deployment watches."""
WATCHED_CALLS = weakening_calls(trail_name="org-trail", trail_arn=TRAIL_ARN, buckets=list(BUCKETS), key_arn=KEY_ARN,
                                log_group=LOG_GROUP, key_alias=ALIAS)
"""Every call that weakens that deployment."""
