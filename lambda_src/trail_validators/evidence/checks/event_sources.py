"""Whether the trail's selectors deliver the events a monitoring control's filter watches.

A metric filter sees only what the trail logs: a trail that leaves out a management event
source its pattern names (``$.eventSource=kms.amazonaws.com`` for CIS 4.7 / CloudWatch.7,
with ``eventSource NotEquals kms.amazonaws.com``), or that logs only read or only write
management events, or no management events, cannot meet the control, whatever its filter
and alarm. Security Hub fails CloudWatch.7 on a trail that excludes KMS events, the same way.
"""

from __future__ import annotations

import re
from typing import Any

from ...contract.monitoring_controls import MonitoringControl
from ..model import Evidence
from .parts import field_selectors, is_true, strings

EVENT_SOURCE = re.compile(r'\$\.eventSource\s*=\s*"?([A-Za-z0-9.-]+)"?')


def sources_watched(control: MonitoringControl) -> frozenset[str]:
    """The event sources the control's filter pattern names."""
    return frozenset(EVENT_SOURCE.findall(control.filter_pattern))


def events_not_delivered(trail: Any, control: MonitoringControl) -> Evidence | None:
    """None when the trail delivers every management event the control's filter watches;
    otherwise the evidence (not holding) naming what the selectors leave out and the fix."""
    present, advanced = trail.get("AdvancedEventSelectors")
    if present:
        return _advanced(trail, advanced, control)
    present, basic = trail.get("EventSelectors")
    if present:
        return _basic(trail, basic, control)
    return None  # CloudTrail's default: every read and write management event


def _gap(trail: Any, path: str, value: Any, why: str) -> Evidence:
    return Evidence(trail.stack.name, trail.logical_id, trail.type, path, value, False, why)


def _advanced(trail: Any, selectors: Any, control: MonitoringControl) -> Evidence | None:
    if not isinstance(selectors, list):
        return _gap(trail, "AdvancedEventSelectors", selectors, "AdvancedEventSelectors is not a list: which "
                    f"events reach the filter for {control.title!r} cannot be told")
    management = [(number, named) for number, named in enumerate(map(field_selectors, selectors))
                  if strings(named.get("eventCategory", {}).get("Equals")) == ["Management"]]
    if not management:
        return _gap(trail, "AdvancedEventSelectors", selectors, "no advanced selector logs management events, "
                    f"so none reaches the filter for {control.title!r}: add one with eventCategory = Management")
    best = None
    for number, named in management:
        path = f"AdvancedEventSelectors[{number}]"
        excluded = set(strings(named.get("eventSource", {}).get("NotEquals")))
        unknown = [f for f in named if f not in ("eventCategory", "readOnly", "eventSource")] + \
            [op for op in named.get("eventSource", {}) if op not in ("Field", "NotEquals")] + \
            [op for field in ("eventCategory", "readOnly") for op in named.get(field, {})
             if op not in ("Field", "Equals")]
        if unknown:
            best = best or _gap(trail, path, selectors[number], f"the management selector filters on "
                                f"{', '.join(map(str, unknown))}: which events reach the filter for "
                                f"{control.title!r} cannot be told")
            continue
        left_out = sorted(sources_watched(control) & excluded)
        if left_out:
            best = best or _gap(trail, f"{path}.FieldSelectors(eventSource).NotEquals", sorted(excluded),
                                f"the trail leaves out {', '.join(left_out)} management events, which the filter "
                                f"for {control.title!r} watches: they never reach the log group (remove "
                                f"{', '.join(left_out)} from exclude_sources to meet the control)")
            continue
        read_only = strings(named.get("readOnly", {}).get("Equals"))
        if read_only:
            best = best or _gap(trail, f"{path}.FieldSelectors(readOnly)", read_only,
                                f"the trail logs only {'read' if read_only == ['true'] else 'write'} management "
                                f"events: the filter for {control.title!r} does not see the others (leave readOnly "
                                "out to log both)")
            continue
        return None
    return best


def _basic(trail: Any, selectors: Any, control: MonitoringControl) -> Evidence | None:
    if not isinstance(selectors, list):
        return _gap(trail, "EventSelectors", selectors, "EventSelectors is not a list: which events reach the "
                    f"filter for {control.title!r} cannot be told")
    best = None
    for number, selector in enumerate(selectors):
        if not isinstance(selector, dict) or not is_true(selector.get("IncludeManagementEvents", True)):
            continue
        left_out = sorted(sources_watched(control) & set(strings(selector.get("ExcludeManagementEventSources"))))
        if left_out:
            best = best or _gap(trail, f"EventSelectors[{number}].ExcludeManagementEventSources", left_out,
                                f"the trail leaves out {', '.join(left_out)} management events, which the filter "
                                f"for {control.title!r} watches")
        elif selector.get("ReadWriteType", "All") != "All":
            best = best or _gap(trail, f"EventSelectors[{number}].ReadWriteType", selector.get("ReadWriteType"),
                                f"the trail logs only some management events: the filter for {control.title!r} "
                                "does not see the others")
        else:
            return None
    return best or _gap(trail, "EventSelectors", selectors, "no event selector logs management events, so none "
                        f"reaches the filter for {control.title!r}")
