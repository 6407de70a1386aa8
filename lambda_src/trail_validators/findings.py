"""Typed findings shared by every validator."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Mapping


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    kind: str
    """Stable machine name, e.g. ``non_tls_success``."""
    severity: Severity
    message: str
    """What happened, in words an operator understands."""
    keys: tuple[str, ...] = ()
    """The S3 objects or keys involved."""
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": str(self.severity), "message": self.message,
                "keys": list(self.keys), "details": dict(self.details)}
