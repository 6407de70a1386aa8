"""A CloudTrail record as an OpenSearch document: the record's own fields (bounded), the
fields ``schema`` indexes (coerced to their types) and the enrichment: ``@timestamp``, the
account and its name, region, principal, source IP, detection tags, ``targets``. Pure."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any, Mapping

from ..contract.weakening_calls import RESOURCE_FIELDS
from .bounded import MAX_LIST_ITEMS, bound
from .detections import detect
from .records import event_time
from .schema import BOOLEAN, CLOUDTRAIL_FIELDS, DERIVED_ROOTS, MAX_KEYWORD_CHARS
from .subscription import LogEvent, SubscriptionBatch

MAX_DOCUMENT_BYTES = 256 * 1024
"""Serialized size of one document; the record's largest unindexed fields are cut to a
preview until it fits."""
MAX_TARGETS = 50
"""Other short strings of ``requestParameters`` listed in ``targets``, after the resource fields."""
MAX_TARGET_CHARS = 256
TARGET_RESOURCE_FIELDS = tuple(dict.fromkeys(name for names in RESOURCE_FIELDS.values() for name in names))
"""The fields of ``requestParameters`` that name a call's resource (the posture watcher's
table): always listed first in ``targets``, however many other values the call carries."""
ACCOUNT_ID_CHARS = 12


@dataclass(frozen=True)
class Document:
    index: str
    id: str
    source: dict[str, Any]


def index_name(prefix: str, record: dict[str, Any]) -> str:
    """``<prefix>-YYYY.MM.DD`` of the event's own time (UTC)."""
    return f"{prefix}-{event_time(record):%Y.%m.%d}"


def build_document(record: dict[str, Any], log_event: LogEvent, batch: SubscriptionBatch, *,
                   index_prefix: str, account_names: Mapping[str, str]) -> Document:
    """``record`` is what ``records.parse_record`` accepted."""
    detections = detect(record)
    source: dict[str, Any] = {}
    truncated: list[str] = []
    malformed: list[str] = []
    for name, value in record.items():
        if name in DERIVED_ROOTS or not _plain_name(name):
            malformed.append(name[:MAX_KEYWORD_CHARS])
        elif name in CLOUDTRAIL_FIELDS:
            coerced = _coerce(value, CLOUDTRAIL_FIELDS[name])
            if coerced is None and value is not None:
                malformed.append(name)
            elif coerced is not None:
                source[name] = coerced
        else:
            source[name], was_cut = bound(value)
            if was_cut:
                truncated.append(name)
    account_id = _account_id(record)
    identity = record["userIdentity"]
    issuer = _path(identity, "sessionContext", "sessionIssuer")
    source.update({
        "@timestamp": record["eventTime"],
        "account": _compact({"id": account_id, "name": account_names.get(account_id) if account_id else None}),
        "region": source.get("awsRegion"),
        "principal": _compact({
            "type": _keyword(identity.get("type")), "arn": _keyword(identity.get("arn")),
            "accountId": _keyword(identity.get("accountId")), "principalId": _keyword(identity.get("principalId")),
            "userName": _keyword(identity.get("userName")), "invokedBy": _keyword(identity.get("invokedBy")),
            "mfaAuthenticated": _mfa(identity),
            "sessionIssuer": _compact({name: _keyword(issuer.get(name)) for name in ("type", "arn", "userName")})
            if isinstance(issuer, dict) else None}),
        "source": _compact({"ip": _ip(source.get("sourceIPAddress")), "address": source.get("sourceIPAddress")}),
        "detection": {"tags": list(detections.tags), "controls": list(detections.controls)},
        "targets": _targets(record),
        "cloudwatch": {"owner": _keyword(batch.owner), "logGroup": _keyword(batch.log_group),
                       "logStream": _keyword(batch.log_stream), "eventId": _keyword(log_event.id)},
    })
    _fit(source, truncated)
    if truncated:
        source["truncatedFields"] = sorted(set(truncated))
    if malformed:
        source["malformedFields"] = sorted(set(malformed))
    return Document(index_name(index_prefix, record), record["eventID"], _compact(source))


def _plain_name(name: str) -> bool:
    """OpenSearch reads a dot in a field name as a path (``principal.arn`` would add a value
    to the enrichment's field) and refuses a blank one or ``a..b`` (the whole document)."""
    return bool(name.strip()) and "." not in name


def _coerce(value: Any, kind: str) -> Any:
    if kind == BOOLEAN:
        return value if isinstance(value, bool) else None
    return _keyword(value)


def _keyword(value: Any) -> str | None:
    """A string (numbers as their text), cut to ``MAX_KEYWORD_CHARS``; anything else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    return value[:MAX_KEYWORD_CHARS] if isinstance(value, str) else None


def _account_id(record: dict[str, Any]) -> str | None:
    for value in (record.get("recipientAccountId"), record["userIdentity"].get("accountId")):
        if isinstance(value, str) and len(value) == ACCOUNT_ID_CHARS and value.isascii() and value.isdigit():
            return value
    return None


def _mfa(identity: dict[str, Any]) -> bool | None:
    value = _path(identity, "sessionContext", "attributes", "mfaAuthenticated")
    return {"true": True, "false": False}.get(value) if isinstance(value, str) else None


def _ip(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if isinstance(value, str) else None
    except ValueError:
        return None  # a service name (``cloudtrail.amazonaws.com``) or anything else


def _targets(record: dict[str, Any]) -> list[str]:
    """The resources the call names (its resource fields, then CloudTrail's ``resources``
    ARNs), then short string values anywhere in ``requestParameters`` (bucket names, key
    ids, ARNs ...), so one query finds every call on a given resource. Read from the record
    itself, not its bounded copy, so no padding pushes a resource out."""
    parameters = record.get("requestParameters")
    found: dict[str, None] = {}

    def add_resource(value: Any) -> None:
        for item in (value if isinstance(value, list) else [value])[:MAX_LIST_ITEMS]:
            if isinstance(item, str) and 0 < len(item) <= MAX_KEYWORD_CHARS:
                found.setdefault(item)

    if isinstance(parameters, dict):
        for name in TARGET_RESOURCE_FIELDS:
            add_resource(parameters.get(name))
    resources = record.get("resources")
    if isinstance(resources, list):
        for resource in resources[:MAX_LIST_ITEMS]:
            if isinstance(resource, dict):
                add_resource(resource.get("ARN"))
    others = 0
    stack = [parameters]
    while stack and others < MAX_TARGETS:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            stack.extend(reversed(value))
        elif isinstance(value, str) and 0 < len(value) <= MAX_TARGET_CHARS and value not in found:
            found[value] = None
            others += 1
    return list(found)


def _fit(source: dict[str, Any], truncated: list[str]) -> None:
    total = len(json.dumps(source))
    if total <= MAX_DOCUMENT_BYTES:
        return
    sizes = {name: len(json.dumps(value)) for name, value in source.items()
             if name not in CLOUDTRAIL_FIELDS and name not in DERIVED_ROOTS}
    for name in sorted(sizes, key=sizes.get, reverse=True):
        if total <= MAX_DOCUMENT_BYTES:
            return
        preview = {"truncatedJson": json.dumps(source[name])[:1024]}
        total -= sizes[name] - len(json.dumps(preview))
        source[name] = preview
        truncated.append(name)


def _path(value: Any, *names: str) -> Any:
    for name in names:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _compact(mapping: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in mapping.items() if value is not None and value != {}}
