"""The report as one self-contained HTML5 page: no script at all, no external resource, one
style element whose SHA-256 the page's own Content-Security-Policy names
(``default-src 'none'; style-src 'sha256-...'``), so it opens offline and under the
strictest policy a server would add. Every template-derived string is escaped."""

from __future__ import annotations

import base64
import hashlib
from html import escape

from .model import Evidence
from .report import Report
from .text import pretty, visible

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:78em;padding:0 1em;
color:#1b1b1b}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:2em;border-bottom:2px solid #ccc}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}.summary td,.summary th{width:auto}
.satisfied{color:#0a5d1e;font-weight:600}.not_satisfied{color:#a10c0c;font-weight:700}.not_applicable{color:#595959}
.fails{background:#fdecec}.control{background:#fafafa}
pre{margin:0;white-space:pre-wrap;word-break:break-all;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;
max-height:24em;overflow:auto}
code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}.why{margin:.25em 0 0}
.evidence td:last-child{width:48%}.evidence td:first-child{width:3em}
@media print{body{margin:0;max-width:none;font-size:10pt}pre{max-height:none;overflow:visible}
h2{break-after:avoid}tr{break-inside:avoid}a{color:inherit;text-decoration:none}}
""".strip()
CSP = f"default-src 'none'; style-src 'sha256-{base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()}'"
STATUS_TEXT = {"satisfied": "satisfied", "not_satisfied": "not satisfied", "not_applicable": "not applicable"}


def _e(text: object) -> str:
    return escape(visible(str(text)), quote=True)


def _evidence(item: Evidence) -> str:
    value = _e(pretty(item.value)) if item.present else "<em>(not in the template)</em>"
    return (f'<tr class="{"holds" if item.holds else "fails"}"><td>{"ok" if item.holds else "FAILS"}</td>'
            f"<td>{_e(item.stack)}</td><td><code>{_e(item.logical_id or '-')}</code></td>"
            f"<td><code>{_e(item.resource_type or '-')}</code></td><td><code>{_e(item.property_path)}</code></td>"
            f"<td><pre>{value}</pre><p class=\"why\">{_e(item.why)}</p></td></tr>")


def _control(control) -> str:
    rows = "".join(_evidence(item) for item in control.evidence)
    evidence = ("<table class=\"evidence\"><thead><tr><th></th><th>stack</th><th>logical id</th><th>type</th>"
                "<th>property</th><th>value in the template, and why</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>") if rows else ""
    return (f'<tr class="control" id="{_e("control-" + control.id)}"><td><strong>{_e(control.id)}</strong></td>'
            f"<td>{_e(control.title)}</td><td class=\"{_e(control.status)}\">{STATUS_TEXT[control.status]}</td>"
            f"<td>{_e(control.reason)}</td></tr>"
            + (f'<tr><td colspan="4">{evidence}</td></tr>' if evidence else ""))


def _changes(report: Report) -> str:
    if report.compared_with is None:
        return ""
    rows = "".join(
        f"<tr class=\"{'fails' if change['kind'] == 'control_regressed' else 'holds'}\"><td>{_e(change['kind'])}</td>"
        f"<td>{_e(change['summary'])}</td><td>{_e(change['stack'] or '')}</td>"
        f"<td><code>{_e(change['logical_id'] or change['control_id'] or '')}</code></td>"
        f"<td><code>{_e(change['property_path'] or '')}</code></td>"
        f"<td><pre>{_e(pretty(change['old']))}</pre></td><td><pre>{_e(pretty(change['new']))}</pre></td></tr>"
        for change in report.changes) or '<tr><td colspan="7">no security-relevant change</td></tr>'
    return (f"<h2 id=\"changes\">Changes since {_e(report.compared_with)}</h2><table><thead><tr><th>kind</th>"
            "<th>what</th><th>stack</th><th>resource or control</th><th>property</th><th>before</th><th>after</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")


def render_html(report: Report) -> str:
    summary = report.summary
    by_source = report.by_source()
    overview = "".join(
        f"<tr><td>{_e(source)}</td><td>{sum(c.status == 'satisfied' for c in controls)}</td>"
        f"<td>{sum(c.status == 'not_applicable' for c in controls)}</td>"
        f"<td>{sum(c.status == 'not_satisfied' for c in controls)}</td><td>{len(controls)}</td></tr>"
        for source, controls in by_source)
    sections = "".join(
        f"<h2>{_e(source)}</h2><table><thead><tr><th>control</th><th>title</th><th>status</th><th>why</th></tr>"
        f"</thead><tbody>{''.join(_control(control) for control in controls)}</tbody></table>"
        for source, controls in by_source if controls)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_e(CSP)}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta name=\"referrer\" content=\"no-referrer\">"
        f"<title>secure-trail evidence report</title><style>{CSS}</style></head><body>"
        f"<h1>secure-trail evidence report</h1><p>Stacks: {_e(', '.join(report.stacks))} "
        f"(from <code>{_e(report.assembly)}</code>). <strong>{summary['satisfied']} of {summary['total']} controls "
        f"satisfied</strong>, {summary['not_applicable']} not applicable, {summary['not_satisfied']} not satisfied"
        + (f", {len(report.regressions)} regressed" if report.compared_with is not None else "") + ".</p>"
        "<table class=\"summary\"><thead><tr><th>source</th><th>satisfied</th><th>not applicable</th>"
        f"<th>not satisfied</th><th>total</th></tr></thead><tbody>{overview}</tbody></table>"
        f"{_changes(report)}{sections}</body></html>\n")
