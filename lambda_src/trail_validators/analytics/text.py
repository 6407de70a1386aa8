"""Lone UTF-16 surrogates (``"\\ud800"`` is valid JSON, not valid Unicode): replaced with
U+FFFD before anything is indexed, since a document holding one cannot be encoded as UTF-8
and would fail its bulk request on every retry."""

from __future__ import annotations

import json
import re
from typing import Any

SURROGATE = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F]")
"""A raw surrogate, or an escaped one (a pair decodes to one character; this also finds
pairs, which the cleaning leaves as they are)."""


def may_hold_surrogates(text: str | bytes) -> bool:
    if isinstance(text, bytes):
        return re.search(rb"\\u[dD][89a-fA-F]", text) is not None
    return SURROGATE.search(text) is not None


def without_lone_surrogates(value: Any) -> Any:
    """``value`` (parsed JSON) with every lone surrogate, in keys and strings, replaced."""
    text = json.dumps(value, ensure_ascii=False)
    return json.loads(text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))


def clean(text: str) -> str:
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace") if may_hold_surrogates(text) else text
