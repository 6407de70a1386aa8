"""Detection tags: one per CIS monitoring control, decided by that control's own filter
pattern (``monitoring_controls.MONITORING_CONTROLS``), so the analysts' views and the CIS
alarms count the same events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..contract.monitoring_controls import MONITORING_CONTROLS, MonitoringControl
from .filter_pattern import compile_pattern


@dataclass(frozen=True)
class DetectionRule:
    control: MonitoringControl
    matches: Callable[[Any], bool]

    @property
    def tag(self) -> str:
        """The control's metric name (``RootUserUsage``, ``IamPolicyChanges`` ...)."""
        return self.control.metric_name


RULES: tuple[DetectionRule, ...] = tuple(
    DetectionRule(control, compile_pattern(control.filter_pattern)) for control in MONITORING_CONTROLS)


@dataclass(frozen=True)
class Detections:
    tags: tuple[str, ...]
    controls: tuple[str, ...]
    """``CloudWatch.<n>`` / ``CIS.4.15`` of each matching control."""


def detect(record: dict) -> Detections:
    """The rules whose filter pattern matches ``record`` (the CloudTrail record as parsed,
    before any bounding: what the metric filter saw)."""
    matched = [rule for rule in RULES if rule.matches(record)]
    return Detections(tuple(rule.tag for rule in matched), tuple(rule.control.control_id for rule in matched))
