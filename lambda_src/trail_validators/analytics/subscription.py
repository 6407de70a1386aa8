"""Decodes a CloudWatch Logs subscription payload (``{"awslogs": {"data": base64(gzip(JSON))}}``)
with every size bounded: a gzip bomb or a malformed envelope is a ``PayloadError``; a
malformed log event inside a good envelope is a ``Rejection``, and the rest of the batch
goes on."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from .text import may_hold_surrogates, without_lone_surrogates

MAX_ENCODED_CHARS = 8 * 1024 * 1024
"""Base64 text of one payload (a Lambda asynchronous event is at most 1 MiB)."""
MAX_DECODED_BYTES = 32 * 1024 * 1024
"""Decompressed JSON of one payload: a gzip bomb stops here, never inflated further."""
DATA_MESSAGE = "DATA_MESSAGE"
CONTROL_MESSAGE = "CONTROL_MESSAGE"


class PayloadError(ValueError):
    """The payload as a whole cannot be read: nothing in it can be indexed."""


@dataclass(frozen=True)
class Rejection:
    """One log event that is not indexed, and why (``reason`` is a short fixed phrase)."""

    event_id: str
    reason: str


@dataclass(frozen=True)
class LogEvent:
    id: str
    timestamp: int
    message: str


@dataclass(frozen=True)
class SubscriptionBatch:
    message_type: str
    owner: str
    log_group: str
    log_stream: str
    events: tuple[LogEvent, ...] = ()
    rejections: tuple[Rejection, ...] = field(default=())

    @property
    def is_data(self) -> bool:
        return self.message_type == DATA_MESSAGE


def decode(event: Any) -> SubscriptionBatch:
    """The Lambda event as a batch; ``PayloadError`` when it is not a readable payload."""
    awslogs = event.get("awslogs") if isinstance(event, dict) else None
    data = awslogs.get("data") if isinstance(awslogs, dict) else None
    if not isinstance(data, str):
        raise PayloadError("not a CloudWatch Logs subscription event (no awslogs.data string)")
    if len(data) > MAX_ENCODED_CHARS:
        raise PayloadError(f"payload of {len(data)} base64 characters is over {MAX_ENCODED_CHARS}")
    try:
        compressed = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise PayloadError(f"payload is not base64: {error}") from None
    return parse_envelope(_gunzip(compressed))


def _gunzip(compressed: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        text = inflater.decompress(compressed, MAX_DECODED_BYTES)
        if inflater.unconsumed_tail:
            raise PayloadError(f"payload inflates past {MAX_DECODED_BYTES} bytes (a gzip bomb?)")
        if not inflater.eof:
            raise PayloadError("payload gzip stream is truncated")
    except zlib.error as error:
        raise PayloadError(f"payload is not gzip: {error}") from None
    if inflater.unused_data:
        raise PayloadError("payload has data after its gzip stream")
    return text


def parse_envelope(text: bytes) -> SubscriptionBatch:
    try:
        envelope = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise PayloadError(f"payload is not JSON: {str(error)[:200]}") from None
    if not isinstance(envelope, dict):
        raise PayloadError("payload is not a JSON object")
    if may_hold_surrogates(text):
        envelope = without_lone_surrogates(envelope)
    message_type = envelope.get("messageType")
    if message_type not in (DATA_MESSAGE, CONTROL_MESSAGE):
        raise PayloadError(f"messageType {str(message_type)[:64]!r} is neither {DATA_MESSAGE} nor {CONTROL_MESSAGE}")
    header = {name: envelope.get(name) for name in ("owner", "logGroup", "logStream")}
    if not all(isinstance(value, str) for value in header.values()):
        raise PayloadError("owner, logGroup and logStream must be strings")
    if message_type == CONTROL_MESSAGE:
        return SubscriptionBatch(message_type, header["owner"], header["logGroup"], header["logStream"])
    raw_events = envelope.get("logEvents")
    if not isinstance(raw_events, list):
        raise PayloadError("logEvents is not a list")
    events, rejections = [], []
    for position, raw in enumerate(raw_events):
        event_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(event_id, str) or not event_id:
            rejections.append(Rejection(f"#{position}", "log event without a string id"))
        elif not isinstance(raw.get("message"), str):
            rejections.append(Rejection(event_id[:128], "log event message is not a string"))
        elif not isinstance(raw.get("timestamp"), int) or isinstance(raw.get("timestamp"), bool):
            rejections.append(Rejection(event_id[:128], "log event timestamp is not an integer"))
        else:
            events.append(LogEvent(event_id, raw["timestamp"], raw["message"]))
    return SubscriptionBatch(message_type, header["owner"], header["logGroup"], header["logStream"],
                             tuple(events), tuple(rejections))
