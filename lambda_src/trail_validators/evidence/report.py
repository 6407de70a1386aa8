"""Runs every control's check on an assembly and puts the results into the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .assembly import Assembly
from .checks import CHECKS
from .checks.parts import about_unseen_part, brought_parts
from .controls import CONTROLS, SOURCES, Control
from .model import NOT_APPLICABLE, NOT_SATISFIED, SATISFIED, STATUSES, ControlResult, NotApplicable

SCHEMA_VERSION = "1"


@dataclass(frozen=True)
class Report:
    assembly: str
    stacks: tuple[str, ...]
    controls: tuple[ControlResult, ...]
    changes: tuple[dict[str, Any], ...] = field(default=())
    compared_with: str | None = None

    @property
    def summary(self) -> dict[str, int]:
        counts = {status: 0 for status in STATUSES}
        for control in self.controls:
            counts[control.status] += 1
        return {"total": len(self.controls), **counts}

    @property
    def regressions(self) -> list[dict[str, Any]]:
        return [change for change in self.changes if change["kind"] == "control_regressed"]

    def by_source(self) -> list[tuple[str, list[ControlResult]]]:
        return [(source, [control for control in self.controls if control.source == source]) for source in SOURCES]

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "assembly": self.assembly, "stacks": list(self.stacks),
                "compared_with": self.compared_with, "summary": self.summary,
                "controls": [control.to_dict() for control in self.controls], "changes": list(self.changes)}


def evaluate(control: Control, assembly: Assembly) -> ControlResult:
    answer = CHECKS[control.check](assembly, **control.args)
    if isinstance(answer, NotApplicable):
        return ControlResult(control.id, control.title, control.source, NOT_APPLICABLE, answer.reason,
                             tuple(answer.evidence))
    evidence = tuple(answer)
    brought = brought_parts(assembly)
    unseen = tuple(part for part in control.parts if part in brought)
    if unseen:
        # Judge what the assembly shows; what rests on a part it does not hold is never
        # satisfied by assumption.
        evidence = tuple(item for item in evidence if not about_unseen_part(item, unseen))
        failing = [item for item in evidence if not item.holds]
        if failing:
            return ControlResult(control.id, control.title, control.source, NOT_SATISFIED, failing[0].why, evidence)
        return ControlResult(control.id, control.title, control.source, NOT_APPLICABLE,
                             "; ".join(brought[part] for part in unseen), evidence)
    failing = [item for item in evidence if not item.holds]
    if not evidence:
        return ControlResult(control.id, control.title, control.source, NOT_SATISFIED,
                             "nothing in the assembly shows this control is met")
    if failing:
        return ControlResult(control.id, control.title, control.source, NOT_SATISFIED, failing[0].why, evidence)
    return ControlResult(control.id, control.title, control.source, SATISFIED, evidence[0].why, evidence)


def build_report(assembly: Assembly) -> Report:
    return Report(assembly=assembly.directory, stacks=tuple(stack.name for stack in assembly.stacks),
                  controls=tuple(evaluate(control, assembly) for control in CONTROLS))
