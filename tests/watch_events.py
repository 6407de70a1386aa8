"""S3 object events as EventBridge delivers them (the documented shape of ``Object Created``
and ``Object Deleted``), for the trail watch's tests."""

import json
from datetime import datetime


def object_event(detail_type: str, bucket: str, key: str, version_id: str | None, when: datetime, *,
                 reason: str, requester: str = "123456789012", deletion_type: str | None = None,
                 source_ip: str = "198.51.100.7", account: str = "123456789012") -> dict:
    obj = {"key": key, "etag": "b1946ac92492d2347c6235b4d2611184", "sequencer": "617f08299329d189"}
    if detail_type == "Object Created":
        obj["size"] = 5
    if version_id is not None:
        obj["version-id"] = version_id
    detail = {"version": "0", "bucket": {"name": bucket}, "object": obj, "request-id": "N4N7GDK58NMKJ12R",
              "requester": requester, "source-ip-address": source_ip, "reason": reason}
    if deletion_type:
        detail["deletion-type"] = deletion_type
    return {"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": detail_type,
            "source": "aws.s3", "account": account, "time": f"{when:%Y-%m-%dT%H:%M:%SZ}", "region": "us-east-1",
            "resources": [f"arn:aws:s3:::{bucket}"], "detail": detail}


def created(bucket, key, version_id, when, **kw) -> str:
    return json.dumps(object_event("Object Created", bucket, key, version_id, when, reason="PutObject", **kw))


def deleted(bucket, key, version_id, when, reason="DeleteObject", deletion_type="Delete Marker Created", **kw) -> str:
    return json.dumps(object_event("Object Deleted", bucket, key, version_id, when, reason=reason,
                                   deletion_type=deletion_type, **kw))
