"""The indexed fields of an enriched document and their OpenSearch types: the document
builder coerces every one of them to its type (so no event can fail the bulk request on a
mapping conflict), and ``index_template`` maps exactly these. Every other field of the
CloudTrail record is kept in ``_source`` (bounded) but not indexed: the template maps the
root with ``dynamic: false``, so hostile field names cannot grow the mapping."""

from __future__ import annotations

KEYWORD, DATE, IP, BOOLEAN, TEXT = "keyword", "date", "ip", "boolean", "text"

CLOUDTRAIL_FIELDS: dict[str, str] = {
    "eventID": KEYWORD, "eventTime": DATE, "eventName": KEYWORD, "eventSource": KEYWORD, "eventType": KEYWORD,
    "eventCategory": KEYWORD, "eventVersion": KEYWORD, "awsRegion": KEYWORD, "sourceIPAddress": KEYWORD,
    "userAgent": KEYWORD, "errorCode": KEYWORD, "errorMessage": TEXT, "requestID": KEYWORD,
    "recipientAccountId": KEYWORD, "readOnly": BOOLEAN, "managementEvent": BOOLEAN,
}
"""Top-level CloudTrail fields indexed under their own names."""

DERIVED_FIELDS: dict[str, str] = {
    "@timestamp": DATE,
    "account.id": KEYWORD, "account.name": KEYWORD,
    "region": KEYWORD,
    "principal.type": KEYWORD, "principal.arn": KEYWORD, "principal.accountId": KEYWORD,
    "principal.principalId": KEYWORD, "principal.userName": KEYWORD, "principal.invokedBy": KEYWORD,
    "principal.mfaAuthenticated": BOOLEAN,
    "principal.sessionIssuer.type": KEYWORD, "principal.sessionIssuer.arn": KEYWORD,
    "principal.sessionIssuer.userName": KEYWORD,
    "source.ip": IP, "source.address": KEYWORD,
    "detection.tags": KEYWORD, "detection.controls": KEYWORD,
    "targets": KEYWORD,
    "truncatedFields": KEYWORD, "malformedFields": KEYWORD,
    "cloudwatch.owner": KEYWORD, "cloudwatch.logGroup": KEYWORD, "cloudwatch.logStream": KEYWORD,
    "cloudwatch.eventId": KEYWORD,
}
"""Fields the enrichment adds (dotted: nested objects)."""

DERIVED_ROOTS = frozenset(name.split(".")[0] for name in DERIVED_FIELDS)
"""A CloudTrail record's own top-level field by one of these names is dropped, never
mixed with what the enrichment writes there."""

MAX_KEYWORD_CHARS = 1024
"""Longer keyword values are cut (OpenSearch's own limit is 32766 bytes)."""


def all_fields() -> dict[str, str]:
    return {**CLOUDTRAIL_FIELDS, **DERIVED_FIELDS}
