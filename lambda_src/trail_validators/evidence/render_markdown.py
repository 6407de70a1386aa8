"""The report as Markdown: a summary, one table per source, the evidence under each control
(for a pull request comment or a README excerpt)."""

from __future__ import annotations

from .model import Evidence
from .report import Report
from .text import one_line

STATUS_MARK = {"satisfied": "satisfied", "not_satisfied": "**NOT SATISFIED**", "not_applicable": "not applicable"}


def cell(text: object) -> str:
    """Safe inside a table cell: no line breaks, pipes, HTML or Markdown that would render."""
    escaped = one_line(str(text))
    for character in "\\`*_[]<>&|~":
        escaped = escaped.replace(character, "\\" + character)
    return escaped


def _where(item: Evidence) -> str:
    place = "/".join(part for part in (item.stack, item.logical_id or "") if part)
    return f"{cell(place)} {cell(item.property_path)}".strip()


def render_markdown(report: Report) -> str:
    summary = report.summary
    lines = ["# Evidence report", "",
             f"Stacks: {cell(', '.join(report.stacks))}. Controls: **{summary['satisfied']} satisfied** of "
             f"{summary['total']}, {summary['not_applicable']} not applicable, "
             f"{summary['not_satisfied']} not satisfied.", ""]
    for source, controls in report.by_source():
        lines += [f"## {cell(source)}", "", "| control | status | evidence |", "| --- | --- | --- |"]
        for control in controls:
            evidence = "<br>".join(f"{'ok' if item.holds else 'FAILS'}: {_where(item)}: {cell(item.why)}"
                                   for item in control.evidence) or cell(control.reason)
            if control.status == "not_applicable" and control.evidence:
                evidence = cell(control.reason) + "<br>" + evidence
            lines.append(f"| {cell(control.id)} {cell(control.title)} | {STATUS_MARK[control.status]} | {evidence} |")
        lines.append("")
    if report.compared_with is not None:
        lines += ["## Changes since " + cell(report.compared_with), ""]
        lines += [f"- {cell(change['kind'])}: {cell(change['summary'])}" for change in report.changes] or \
                 ["- no security-relevant change"]
        lines.append("")
    return "\n".join(lines)
