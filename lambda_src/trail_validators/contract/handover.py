"""Policy statements handed over to the owner of a part the stack does not own.

One source for the CDK side (which hands them over at synth) and the posture check (which
verifies at run time that they are in place). Statements follow the CloudTrail user guide's
bucket and key policies, scoped to one trail by ``aws:SourceArn``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

CLOUDTRAIL_SERVICE = {"Service": "cloudtrail.amazonaws.com"}


def bucket_statements(bucket_name: str, trail_arn: str, account: str, partition: str = "aws",
                      prefix: str = "", reader_role_arns: Sequence[str] = (),
                      org_id: str = "") -> list[dict[str, Any]]:
    """What an existing trail bucket's policy must hold for the trail and the validators
    (``org_id``: an organization trail also writes ``AWSLogs/<org-id>/*``)."""
    bucket = f"arn:{partition}:s3:::{bucket_name}"
    base = f"{bucket}/{prefix.strip('/') + '/' if prefix.strip('/') else ''}AWSLogs"
    logs: str | list[str] = f"{base}/{account}/*" if not org_id else [f"{base}/{account}/*", f"{base}/{org_id}/*"]
    source = {"aws:SourceArn": trail_arn}
    statements: list[dict[str, Any]] = [
        {"Sid": "SecureTrailCloudTrailAclCheck", "Effect": "Allow", "Principal": CLOUDTRAIL_SERVICE,
         "Action": "s3:GetBucketAcl", "Resource": bucket, "Condition": {"StringEquals": source}},
        {"Sid": "SecureTrailCloudTrailWrite", "Effect": "Allow", "Principal": CLOUDTRAIL_SERVICE,
         "Action": "s3:PutObject", "Resource": logs,
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **source}}},
        {"Sid": "SecureTrailDenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"},
         "Action": "s3:*", "Resource": [bucket, f"{bucket}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]
    if reader_role_arns:
        statements.append({"Sid": "SecureTrailValidatorsRead", "Effect": "Allow",
                           "Principal": {"AWS": sorted(reader_role_arns)},
                           "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [bucket, f"{bucket}/*"]})
    return statements


def key_statements(trail_arn: str, account: str, partition: str = "aws",
                   reader_role_arns: Sequence[str] = ()) -> list[dict[str, Any]]:
    """What a key of another stack or account must allow for the trail and the validators."""
    statements: list[dict[str, Any]] = [
        {"Sid": "SecureTrailCloudTrailEncrypt", "Effect": "Allow", "Principal": CLOUDTRAIL_SERVICE,
         "Action": "kms:GenerateDataKey*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceArn": trail_arn},
                       "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                                      f"arn:{partition}:cloudtrail:*:{account}:trail/*"}}},
        {"Sid": "SecureTrailCloudTrailDescribeKey", "Effect": "Allow", "Principal": CLOUDTRAIL_SERVICE,
         "Action": "kms:DescribeKey", "Resource": "*"},
    ]
    if reader_role_arns:
        statements.append({"Sid": "SecureTrailValidatorsDecrypt", "Effect": "Allow",
                           "Principal": {"AWS": sorted(reader_role_arns)},
                           "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"})
    return statements


def topic_statements(topic_arn: str, trail_arn: str) -> list[dict[str, Any]]:
    """What an existing delivery topic's policy must allow: this trail publishes to it."""
    return [{"Sid": "SecureTrailCloudTrailPublish", "Effect": "Allow", "Principal": CLOUDTRAIL_SERVICE,
             "Action": "SNS:Publish", "Resource": topic_arn,
             "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}}]


def log_group_writer_statements(log_group_arn: str) -> list[dict[str, Any]]:
    """What a brought ``cloud_watch_logs_role`` must be allowed (its identity policy): write
    the log streams CloudTrail creates in the log group. ``log_group_arn`` without ``:*``."""
    return [{"Sid": "SecureTrailWriteLogStreams", "Effect": "Allow",
             "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": f"{log_group_arn}:log-stream:*"}]


HANDOVER_PARTS = ("bucket", "key", "topic", "log-group")
"""The parts whose statements are handed over, as named in warnings, outputs and the file."""


def handover_output_id(part: str) -> str:
    """The stack output that hands over ``part``'s statements (``SecureTrailHandoverLogGroup``):
    the evidence report reads it to tell a brought part from a missing one."""
    return "SecureTrailHandover" + "".join(word.capitalize() for word in part.split("-"))


HANDOVER_SPEC_FIELDS = ("trail_arn", "account", "partition", "prefix", "readers", "org_id")
"""What the statements of ``handover_checks`` are built from, beside the parts' own names."""
CHECKED_PARTS = ("bucket", "key", "topic")
"""The handed-over parts whose policy the posture check reads (a role's is an identity
policy of another account or stack: handed over, not read)."""


def handover_checks(spec: Mapping[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """``(part, resource, statements)`` for each part of ``spec`` (``bucket``: a bucket name,
    ``key``: a key ARN, ``topic``: a topic ARN, each optional, and ``HANDOVER_SPEC_FIELDS``):
    the statements handed over at synth and checked at run time, from this one routine."""
    trail_arn, account, partition = spec["trail_arn"], spec["account"], spec["partition"]
    readers = list(spec.get("readers") or ())
    checks = []
    if spec.get("bucket"):
        checks.append(("bucket", spec["bucket"], bucket_statements(
            spec["bucket"], trail_arn, account, partition=partition, prefix=spec.get("prefix") or "",
            reader_role_arns=readers, org_id=spec.get("org_id") or "")))
    if spec.get("key"):
        checks.append(("key", spec["key"], key_statements(trail_arn, account, partition=partition,
                                                          reader_role_arns=readers)))
    if spec.get("topic"):
        checks.append(("topic", spec["topic"], topic_statements(spec["topic"], trail_arn)))
    return checks
