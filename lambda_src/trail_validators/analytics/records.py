"""One CloudWatch Logs event's message as a CloudTrail record, or a ``Rejection`` saying why
not: too long, not JSON (NaN and Infinity are not JSON), nested past the parser's limit, or
missing what every CloudTrail record has. A number OpenSearch could not hold (an integer
outside 64 bits, a float that overflows a double, too many digits for Python to read) is
kept as its text: the record is still indexed and tagged."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from .subscription import LogEvent, Rejection
from .text import may_hold_surrogates, without_lone_surrogates

MAX_MESSAGE_CHARS = 1024 * 1024
"""CloudWatch Logs events are at most 1 MiB; anything longer was not written by CloudTrail."""
EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,127}")
EVENT_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z")
MAX_EVENT_AGE = timedelta(days=30)
MAX_EVENT_LEAD = timedelta(days=1)
"""How far ``eventTime`` may lie before / after the log event's own timestamp: an event
outside would open an index for a day it does not belong to."""


def parse_record(event: LogEvent) -> dict[str, Any] | Rejection:
    def reject(reason: str) -> Rejection:
        return Rejection(event.id[:128], reason)

    if len(event.message) > MAX_MESSAGE_CHARS:
        return reject(f"message over {MAX_MESSAGE_CHARS} characters")
    try:
        record = json.loads(event.message, parse_constant=_refuse_constant, parse_float=_float_or_text,
                            parse_int=_int_or_text)
    except RecursionError:
        return reject("message nested too deep to parse")
    except ValueError:
        return reject("message is not JSON")
    if not isinstance(record, dict):
        return reject("message is not a JSON object")
    if may_hold_surrogates(event.message):
        record = without_lone_surrogates(record)
    for name in ("eventName", "eventSource"):
        if not isinstance(record.get(name), str) or not record[name]:
            return reject(f"not a CloudTrail record: {name} is not a string")
    if not isinstance(record.get("userIdentity"), dict):
        return reject("not a CloudTrail record: userIdentity is not an object")
    if not isinstance(record.get("eventID"), str) or not EVENT_ID.fullmatch(record["eventID"]):
        return reject("not a CloudTrail record: eventID is not an id")
    if event_time(record) is None:
        return reject("not a CloudTrail record: eventTime is not a UTC time")
    logged_at = datetime.fromtimestamp(min(max(event.timestamp, 0), 2**42) / 1000, timezone.utc)
    if not logged_at - MAX_EVENT_AGE <= event_time(record) <= logged_at + MAX_EVENT_LEAD:
        return reject("eventTime is too far from the log event's timestamp")
    return record


def event_time(record: dict[str, Any]) -> datetime | None:
    text = record.get("eventTime")
    if not isinstance(text, str) or not EVENT_TIME.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


LONG_RANGE = (-2**63, 2**63 - 1)
"""OpenSearch's ``long``: a number outside it is kept as text."""
_LONG_DIGITS = len(str(2**63))


def _float_or_text(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text


def _int_or_text(text: str) -> int | str:
    if len(text.lstrip("-")) > _LONG_DIGITS:  # before int(): Python refuses over 4,300 digits
        return text
    value = int(text)
    return value if LONG_RANGE[0] <= value <= LONG_RANGE[1] else text
