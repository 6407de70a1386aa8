"""Template-derived text made safe for each output: escaped, one line, bounded."""

from __future__ import annotations

import json
from typing import Any

MAX_VALUE_CHARS = 20_000
"""A value longer than this (pretty-printed) is cut in the HTML and Markdown reports; the
JSON report keeps it whole."""


def pretty(value: Any) -> str:
    """A template value as it stands: JSON, policy statements indented."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + f"\n... ({len(text):,} characters)"


def visible(text: str, *, keep: str = "\n") -> str:
    """Every character that is not printable (controls, separators, noncharacters, which HTML
    forbids and terminals act on) as an escape, but those in ``keep``."""
    return "".join(character if character.isprintable() or character in keep else
                   f"\\x{ord(character):02x}" if ord(character) < 0x100 else f"\\u{ord(character):04x}"
                   for character in text)


def one_line(text: str) -> str:
    return visible(text, keep="")
