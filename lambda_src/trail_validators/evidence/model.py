"""What a check says about one control: evidence items read from the template."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SATISFIED, NOT_SATISFIED, NOT_APPLICABLE = "satisfied", "not_satisfied", "not_applicable"
STATUSES = (SATISFIED, NOT_APPLICABLE, NOT_SATISFIED)
"""Best first: a control whose status moves right in this order regressed."""


@dataclass(frozen=True)
class Evidence:
    """One property of one resource, as the template states it, and whether it holds."""

    stack: str
    logical_id: str | None
    resource_type: str | None
    property_path: str
    value: Any
    """The value exactly as in the template (None when ``present`` is False)."""
    holds: bool
    why: str
    present: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "logical_id": self.logical_id, "resource_type": self.resource_type,
                "property_path": self.property_path, "present": self.present, "value": self.value,
                "holds": self.holds, "why": self.why}


@dataclass(frozen=True)
class NotApplicable:
    """A check's answer when the control has nothing to apply to, and why."""

    reason: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class ControlResult:
    id: str
    title: str
    source: str
    status: str
    reason: str
    evidence: tuple[Evidence, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "source": self.source, "status": self.status,
                "reason": self.reason, "evidence": [item.to_dict() for item in self.evidence]}
