"""Bounds a parsed JSON value: depth, string length, list length, keys per object and the
serialized size, so that one event's ``requestParameters`` cannot break a bulk request or
the index (OpenSearch refuses documents nested past its depth limit)."""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 8
"""Levels of objects and lists kept below the bounded field; deeper ones become a marker."""
MAX_STRING_CHARS = 4096
MAX_LIST_ITEMS = 100
MAX_OBJECT_KEYS = 100
MAX_FIELD_BYTES = 32 * 1024
"""Serialized size of one bounded field; over it, the field becomes a truncated preview."""
DEPTH_MARKER = "[truncated: nested too deep]"


def bound(value: Any, *, max_bytes: int = MAX_FIELD_BYTES) -> tuple[Any, bool]:
    """``(bounded value, whether anything was cut)``."""
    cut = [False]
    pruned = _prune(value, MAX_DEPTH, cut)
    if not isinstance(pruned, (dict, list)):
        return pruned, cut[0]  # a string is already cut to MAX_STRING_CHARS, far below max_bytes
    text = json.dumps(pruned, separators=(",", ":"))  # escaped: at least as long as its UTF-8
    if len(text) > max_bytes:
        return {"truncatedJson": text[: max_bytes // 4]}, True
    return pruned, cut[0]


def _prune(value: Any, depth: int, cut: list[bool]) -> Any:
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            cut[0] = True
            return value[:MAX_STRING_CHARS]
        return value
    if not isinstance(value, (dict, list)):
        return value
    if depth <= 0:
        cut[0] = True
        return DEPTH_MARKER
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            cut[0] = True
        return [_prune(item, depth - 1, cut) for item in value[:MAX_LIST_ITEMS]]
    if len(value) > MAX_OBJECT_KEYS:
        cut[0] = True
    return {str(key)[:MAX_STRING_CHARS]: _prune(item, depth - 1, cut)
            for key, item in list(value.items())[:MAX_OBJECT_KEYS]}
