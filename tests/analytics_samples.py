"""CloudTrail records as the trail's log group holds them (the shapes of seed 001's examples
and of the events the CIS controls watch), and CloudWatch Logs subscription payloads made
of them, for the analytics tests and benchmark."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from datetime import datetime, timedelta, timezone

ACCOUNTS = {"111111111111": "management", "222222222222": "log-archive", "333333333333": "workload-prod"}
BASE_TIME = datetime(2026, 11, 25, 4, 0, 0, tzinfo=timezone.utc)
LOG_GROUP = "/aws/cloudtrail/org-trail"


def _time(offset_seconds: int) -> str:
    return (BASE_TIME + timedelta(seconds=offset_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(event_name: str, event_source: str, *, account: str = "111111111111", offset: int = 0,
           identity: dict | None = None, **fields) -> dict:
    """A management event of ``account``, by an assumed role unless ``identity`` says otherwise."""
    return {
        "eventVersion": "1.08",
        "userIdentity": identity or {
            "type": "AssumedRole", "principalId": "AROACKCEVSQ6C2EXAMPLE:ops-session",
            "arn": f"arn:aws:sts::{account}:assumed-role/Ops/ops-session", "accountId": account,
            "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROACKCEVSQ6C2EXAMPLE",
                                                 "arn": f"arn:aws:iam::{account}:role/Ops", "accountId": account,
                                                 "userName": "Ops"},
                               "attributes": {"mfaAuthenticated": "true", "creationDate": _time(offset - 60)}}},
        "eventTime": _time(offset), "eventSource": event_source, "eventName": event_name,
        "awsRegion": "eu-west-1", "sourceIPAddress": "198.51.100.23", "userAgent": "aws-cli/2.17.0",
        "requestParameters": None, "responseElements": None,
        "requestID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"req-{event_name}-{account}-{offset}")),
        "eventID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{event_name}-{account}-{offset}")),
        "readOnly": False, "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": account, "eventCategory": "Management", **fields}


def seed_001_cloudtrail_generate_data_key(account: str = "086441151436", offset: int = 0) -> dict:
    """Seed 001: CloudTrail asks KMS for a data key under the trail's encryption context."""
    return record("GenerateDataKey", "kms.amazonaws.com", account=account, offset=offset,
                  identity={"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"},
                  sourceIPAddress="cloudtrail.amazonaws.com", userAgent="cloudtrail.amazonaws.com", readOnly=True,
                  requestParameters={"keyId": f"arn:aws:kms:us-west-2:{account}:key/EXAMPLE",
                                     "encryptionContext": {"aws:cloudtrail:arn":
                                                           f"arn:aws:cloudtrail:us-west-2:{account}:trail/Default"},
                                     "keySpec": "AES_256"},
                  resources=[{"ARN": f"arn:aws:kms:us-west-2:{account}:key/EXAMPLE", "accountId": account}])


def seed_001_user_decrypts_log(account: str = "111122223333", offset: int = 0) -> dict:
    """Seed 001: an IAM user reads a log file; S3 decrypts its data key."""
    return record("Decrypt", "kms.amazonaws.com", account=account, offset=offset, readOnly=True,
                  identity={"type": "IAMUser", "principalId": "AIDACKCEVSQ6C2EXAMPLE",
                            "arn": f"arn:aws:iam::{account}:user/cloudtrail-admin", "accountId": account,
                            "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "cloudtrail-admin",
                            "sessionContext": {"attributes": {"mfaAuthenticated": "false"}},
                            "invokedBy": "internal.amazonaws.com"},
                  requestParameters={"encryptionContext": {
                      "aws:cloudtrail:arn": f"arn:aws:cloudtrail:us-west-2:{account}:trail/Default",
                      "aws:s3:arn": "arn:aws:s3:::example-bucket/AWSLogs/x.json.gz"}})


def root_console_login(account: str, offset: int = 0, mfa: str = "No") -> dict:
    return record("ConsoleLogin", "signin.amazonaws.com", account=account, offset=offset,
                  identity={"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root",
                            "accountId": account},
                  eventType="AwsConsoleSignIn", userAgent="Mozilla/5.0", responseElements={"ConsoleLogin": "Success"},
                  additionalEventData={"LoginTo": "https://console.aws.amazon.com/", "MobileVersion": "No",
                                       "MFAUsed": mfa})


def failed_console_login(account: str, offset: int = 0) -> dict:
    return record("ConsoleLogin", "signin.amazonaws.com", account=account, offset=offset,
                  identity={"type": "IAMUser", "principalId": "AIDAEXAMPLE", "accountId": account,
                            "userName": "mallory"},
                  eventType="AwsConsoleSignIn", errorMessage="Failed authentication",
                  responseElements={"ConsoleLogin": "Failure"}, additionalEventData={"MFAUsed": "Yes"})


def access_denied(account: str, offset: int = 0) -> dict:
    return record("GetObject", "s3.amazonaws.com", account=account, offset=offset, errorCode="AccessDenied",
                  errorMessage="Access Denied", requestParameters={"bucketName": "org-trail-logs", "key": "AWSLogs/x"})


def payload(records: list, *, message_type: str = "DATA_MESSAGE", extra_messages: list[tuple[str, str]] = (),
            owner: str = "111111111111", first_id: int = 0) -> dict:
    """The Lambda event of a subscription: one log event per record (``extra_messages`` are
    ``(id, raw message)`` pairs appended as they are)."""
    events = [{"id": f"3740{first_id + n:052d}", "timestamp": int(BASE_TIME.timestamp() * 1000) + n,
               "message": json.dumps(r) if not isinstance(r, str) else r} for n, r in enumerate(records)]
    events += [{"id": event_id, "timestamp": int(BASE_TIME.timestamp() * 1000), "message": message}
               for event_id, message in extra_messages]
    body = {"messageType": message_type, "owner": owner, "logGroup": LOG_GROUP,
            "logStream": f"o-a1b2c3d4e5_{owner}_CloudTrail_eu-west-1",
            "subscriptionFilters": ["org-trail-analytics"], "logEvents": events}
    if message_type == "CONTROL_MESSAGE":
        body = {**body, "logGroup": "", "logStream": "", "subscriptionFilters": [],
                "logEvents": [{"id": "", "timestamp": 1, "message": "CWL CONTROL MESSAGE: Checking health of destination Lambda."}]}
    return encode(json.dumps(body).encode())


def encode(raw: bytes) -> dict:
    return {"awslogs": {"data": base64.b64encode(gzip.compress(raw)).decode()}}
