"""The calls that can weaken the trail, its two log buckets, its key or its log group: the one
table that the posture watcher's EventBridge rules (``secure_trail.validators.posture``) and
its judging core (``trail_validators.posture.judge``) both read. A new call is one line here.

Event source -> event name -> why it matters (the alert says it)."""

from __future__ import annotations

API_CALL = "AWS API Call via CloudTrail"
"""The ``detail-type`` of the events that carry these calls."""

CLOUDTRAIL = "cloudtrail.amazonaws.com"
S3 = "s3.amazonaws.com"
KMS = "kms.amazonaws.com"
LOGS = "logs.amazonaws.com"

WEAKENING_CALLS: dict[str, dict[str, str]] = {
    CLOUDTRAIL: {
        "StopLogging": "the trail records nothing until logging is started again",
        "DeleteTrail": "the organization's API activity is no longer recorded",
        "UpdateTrail": "the trail's bucket, key, validation, regions or organization scope may have changed",
        "PutEventSelectors": "events the trail recorded may no longer be recorded",
        "PutInsightSelectors": "Insights on API call and error rates may be off",
        "RemoveTags": "tags that policies or inventories rely on were removed from the trail",
    },
    S3: {
        "PutBucketPolicy": "the policy that admits only this trail and only TLS 1.2+ may be weakened",
        "DeleteBucketPolicy": "the bucket no longer refuses requests without TLS, nor scopes CloudTrail's writes",
        "PutBucketLogging": "server access logs (the TLS evidence) may no longer be written",
        "PutBucketVersioning": "with versioning suspended an overwritten or deleted log leaves no copy",
        "PutBucketLifecycle": "a lifecycle rule may expire logs early",
        "PutBucketLifecycleConfiguration": "a lifecycle rule may expire logs early",
        "PutBucketEncryption": "new logs may be encrypted with another key, or not with KMS",
        "DeleteBucketEncryption": "new logs fall back to the default encryption",
        "PutBucketPublicAccessBlock": "public access blocks may be off",
        "DeletePublicAccessBlock": "public access blocks are off",
        "PutBucketOwnershipControls": "ACLs may be enabled again",
        "PutObjectLockConfiguration": "the Object Lock default retention may be shortened or removed",
        "DeleteBucket": "the bucket that holds the logs is being deleted",
        "PutBucketNotification": "the bucket's events may no longer reach EventBridge: the access-log audit stops",
        "PutBucketNotificationConfiguration": "the bucket's events may no longer reach EventBridge: the access-log "
                                              "audit stops",
    },
    KMS: {
        "DisableKey": "CloudTrail cannot encrypt new logs and readers cannot decrypt old ones",
        "ScheduleKeyDeletion": "once deleted, every log encrypted with the key is unreadable forever",
        "PutKeyPolicy": "the key policy that admits only this trail and named readers may be weakened",
        "DisableKeyRotation": "the key's material is no longer rotated",
        "CreateGrant": "a grant gives its grantee use of the key outside the key policy",
        "UpdateAlias": "the trail's alias may now name another key, which CloudTrail would encrypt with "
                       "where the trail names its key by the alias (two accounts)",
        "DeleteAlias": "where the trail names its key by this alias (two accounts), CloudTrail cannot encrypt",
    },
    LOGS: {
        "DeleteLogGroup": "the CloudWatch Logs copy of the trail, and the alarms on it, are gone",
        "PutRetentionPolicy": "the log group may keep events for a shorter time",
        "DisassociateKmsKey": "new events in the log group are no longer encrypted with the key",
        "DeleteSubscriptionFilter": "a consumer of the trail's events (analytics, SIEM) stops receiving them",
        "PutSubscriptionFilter": "the trail's events may now also go elsewhere, or no longer reach analytics",
        "DeleteMetricFilter": "a CIS monitoring alarm's metric filter is gone: the alarm no longer sees its calls",
        "PutMetricFilter": "a CIS monitoring alarm's metric filter may now count nothing",
    },
}

# Where each service names the resource of a call: the judge reads these fields, the rules match them.
RESOURCE_FIELDS: dict[str, tuple[str, ...]] = {
    CLOUDTRAIL: ("name", "trailName", "resourceId"),
    S3: ("bucketName",),
    KMS: ("keyId", "aliasName"),
    LOGS: ("logGroupName", "logGroupIdentifier", "resourceIdentifier"),
}

# Trail names and key ids are matched whatever their case (the rules too): a false alert on
# a trail whose name differs only by case costs less than a stop that goes unseen.
CASE_INSENSITIVE = frozenset((CLOUDTRAIL, KMS))

EVENTBRIDGE_SOURCES: dict[str, str] = {CLOUDTRAIL: "aws.cloudtrail", S3: "aws.s3", KMS: "aws.kms", LOGS: "aws.logs"}
"""The ``source`` of each service's "AWS API Call via CloudTrail" events on EventBridge."""
