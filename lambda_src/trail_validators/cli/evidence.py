"""``secure-trail evidence CDK_OUT [--format html|markdown|json] [--output FILE]
[--compare OLD_CDK_OUT] [--fail-on not-satisfied]``: the subcommand, registered by ``cli.py``.

Exit status: 0 the report was written; 1 a control regressed against ``--compare``, or
(with ``--fail-on not-satisfied``) a control is not satisfied;
2 bad input (not a cloud assembly, unreadable or malformed JSON: one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from . import output

EXIT_OK, EXIT_REGRESSED = 0, 1
FORMATS = ("html", "markdown", "json")


def add_parser(commands) -> None:
    evidence = commands.add_parser(
        "evidence", help="report every control the synthesized templates satisfy (from cdk.out, offline)",
        description="Reads every stack of a cloud assembly (cdk.out) and cdk-nag's validation-report.json and "
                    "reports, for each control (CIS AWS Foundations Benchmark sections 3 and 4, Security Hub "
                    "CloudTrail.*, CloudWatch.*, S3.*, KMS.4, KMS.5, SNS.1 and secure-trail's own guarantees), the "
                    "resource and property that satisfy it. No AWS access.")
    evidence.add_argument("cdk_out", metavar="CDK_OUT", help="the cloud assembly folder (cdk.out)")
    evidence.add_argument("--output", metavar="FILE",
                          help="write the report here (default: standard output); a file, not the AWS CLI's "
                               "format option: the format is --format's")
    output.add_arguments(evidence, formats=FORMATS, default=None, output_alias=False,
                         format_help="report format: html, markdown or json (default: from --output's extension, "
                                     "else markdown; json when --query is given)")
    evidence.add_argument("--compare", metavar="OLD_CDK_OUT",
                          help="an earlier cloud assembly: list security-relevant changes, exit 1 if a control "
                               "regressed")
    evidence.add_argument("--fail-on", choices=("not-satisfied",), default=None,
                          help="a CI gate: exit 1 when any control is not satisfied (0 otherwise, 2 on "
                               "unreadable input; default: the statuses do not change the exit status)")
    evidence.set_defaults(run=run)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    suffix = Path(args.output).suffix.lower() if args.output else ""
    return {".html": "html", ".htm": "html", ".json": "json"}.get(suffix, "markdown")


def run(args: argparse.Namespace) -> int:
    from ..evidence.assembly import read_assembly
    from ..evidence.model import NOT_SATISFIED
    from ..evidence.compare import property_changes, status_changes
    from ..evidence.render_html import render_html
    from ..evidence.render_markdown import render_markdown
    from ..evidence.report import build_report
    from ..evidence.text import one_line

    assembly = read_assembly(args.cdk_out)
    report = build_report(assembly)
    if args.compare:
        old_assembly = read_assembly(args.compare)
        old_report = build_report(old_assembly)
        report = replace(report, compared_with=old_assembly.directory,
                         changes=tuple(status_changes(old_report, report) + property_changes(old_assembly, assembly)))
    kind = _format(args)
    text = (json.dumps(args.query.search(report.to_dict()), indent=2) + "\n" if args.query is not None
            else json.dumps(report.to_dict(), indent=2, sort_keys=False) + "\n" if kind == "json"
            else render_html(report) if kind == "html" else render_markdown(report))
    if args.output:
        _write(Path(args.output), text)
    else:
        sys.stdout.write(text)
    for change in report.regressions:
        print(f"secure-trail: regressed: {one_line(change['summary'])}", file=sys.stderr)
    failing = [control for control in report.to_dict().get("controls", [])
               if args.fail_on and control.get("status") == NOT_SATISFIED]
    for control in failing:
        print(f"secure-trail: not satisfied: {control.get('id')}", file=sys.stderr)
    return EXIT_REGRESSED if report.regressions or failing else EXIT_OK


def _write(path: Path, text: str) -> None:
    """Replace ``path`` whole (a reader never sees half a report)."""
    try:
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        raise ValueError(f"cannot write {path}: {error.strerror or error}") from None
