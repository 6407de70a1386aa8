"""The AWS CLI's output habits on every command: ``--output``, ``--query`` (JMESPath over the
JSON report), ``--color``, ``--no-paginate``; and, in JSON mode, errors as one JSON object on
stderr (``{"error": {"kind", "message", "exit_status"}}``)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Callable, Sequence, TextIO

EXIT_ERROR = 2
COLORS = ("on", "off", "auto")
REPORT_FORMATS = ("text", "json", "table")
"""``table`` is the AWS CLI's human-readable format: here, the text report (itself tables)."""
ERROR_KINDS = ("usage", "input", "aws", "dependency", "nothing_audited")
"""``kind`` of a JSON error: every one exits 2."""


def add_arguments(parser: argparse.ArgumentParser, formats: Sequence[str] = REPORT_FORMATS,
                  default: str | None = "text", output_alias: bool = True, format_help: str | None = None) -> None:
    """``output_alias=False`` when the command's ``--output`` means something else (a file)."""
    group = parser.add_argument_group("output options (as the AWS CLI takes them)")
    names = ("--format", "--output") if output_alias else ("--format",)
    what = ("text (the report), json (for tooling) or table (the same as text)" if "table" in formats
            else ", ".join(formats))
    group.add_argument(*names, dest="format", choices=formats, default=None,
                       help=format_help or f"report format: {what} (default {default}; json when --query is given)")
    group.add_argument("--query", type=_jmespath, metavar="JMESPATH",
                       help="a JMESPath expression over the JSON report; prints what it selects, as JSON, or "
                            "with --output text as the AWS CLI's text output (tab-separated); the exit status "
                            "stays the report's")
    group.add_argument("--color", choices=COLORS, default="auto",
                       help="color the text report's verdict and severities: on, off, or auto (when standard "
                            "output is a terminal and NO_COLOR is not set; default auto). JSON is never colored")
    group.add_argument("--no-paginate", action="store_true",
                       help="accepted for the AWS CLI's sake, with no effect: every page of every listing is "
                            "always read, since a check of the first page alone would vouch for what it never saw")
    parser.set_defaults(format_default=default)


def resolve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """The format the command prints: the one asked for, else JSON for ``--query``, else the
    command's default. ``--query`` with a format that is not JSON-based is a usage error."""
    if not hasattr(args, "format_default"):
        return
    if args.format is None:
        args.format = "json" if args.query is not None else args.format_default
    if args.query is not None and args.format not in ("json", "text", "table"):
        parser.error(f"--query selects from the JSON report: it cannot apply to --format {args.format}")


def emit(args: argparse.Namespace, report: dict, text: Callable[[], str], stream: TextIO | None = None) -> None:
    """Print the command's report: the text one (colored as ``--color`` says), the JSON one,
    or what ``--query`` selects from the JSON one."""
    stream = stream or sys.stdout
    if args.query is not None:
        selected = args.query.search(report)
        if args.format == "json":
            json.dump(selected, stream, indent=2)
            stream.write("\n")
        else:
            _aws_text(selected, stream)
    elif args.format == "json":
        json.dump(report, stream, indent=2)
        stream.write("\n")
    else:
        print(paint(text(), color_enabled(args.color, stream)), file=stream)


def wants_json(argv: Sequence[str]) -> bool:
    """Whether the command line asks for JSON (``--output json``, or ``--query`` without
    another format), read before parsing so that usage errors are JSON too."""
    chosen, query = None, False
    for n, word in enumerate(argv):
        if word == "--":
            break
        name, _, value = word.partition("=")
        if name in ("--output", "--format"):
            chosen = value if value else (argv[n + 1] if n + 1 < len(argv) else None)
        query = query or name == "--query"
    return chosen == "json" or (chosen is None and query)


_TEXT_PREFIX = {"aws": "AWS error", "nothing_audited": "nothing was audited"}


def error(kind: str, message: str, as_json: bool) -> int:
    """Report an error on stderr (one JSON object in JSON mode, else one line) and return the
    exit status."""
    if as_json:
        print(json.dumps({"error": {"kind": kind, "message": message, "exit_status": EXIT_ERROR}}), file=sys.stderr)
    else:
        print(f"secure-trail: {_TEXT_PREFIX.get(kind, 'error')}: {message}", file=sys.stderr)
    return EXIT_ERROR


class MissingDependency(LookupError):
    """A package the command needs is not installed: exit 2, kind ``dependency``."""


class UsageError(ValueError):
    """Options that cannot go together, found after parsing: exit 2, kind ``usage``."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are JSON on stderr in JSON mode."""

    json_errors = False

    def error(self, message: str):  # type: ignore[override]
        if Parser.json_errors:
            error("usage", f"{self.prog}: {message}", as_json=True)
            self.exit(EXIT_ERROR)
        super().error(message)


def color_enabled(mode: str, stream: TextIO) -> bool:
    if mode == "auto":
        return (stream.isatty() and not os.environ.get("NO_COLOR")
                and os.environ.get("TERM") != "dumb")
    return mode == "on"


_RED, _GREEN, _YELLOW, _BOLD, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[1m", "\x1b[0m"
_BAD = re.compile(r"\b(INVALID|FAIL|FINDINGS|ERROR)\b")
_GOOD = re.compile(r"\b(VALID|PASS|HEALTHY)\b")
_SEVERITY = re.compile(r"^(\s*\[?)(CRITICAL|HIGH|MEDIUM|LOW|critical|high|medium|low)(\]?\s)")
_SEVERITY_COLORS = {"critical": _BOLD + _RED, "high": _RED, "medium": _YELLOW, "low": ""}


def paint(report: str, enabled: bool) -> str:
    """Colors the verdict line and the severity at the start of a finding's line. Only the
    starts of lines are looked at: text from logs and APIs is escaped, so it never starts one."""
    if not enabled:
        return report
    lines = []
    for line in report.split("\n"):
        if line.startswith(("Verdict: ", "Posture of ")):
            color = (_YELLOW if "NOTHING AUDITED" in line else _RED if _BAD.search(line)
                     else _GREEN if _GOOD.search(line) else "")
            line = f"{_BOLD}{color}{line}{_RESET}" if color else line
        elif match := _SEVERITY.match(line):
            color = _SEVERITY_COLORS[match.group(2).lower()]
            if color:
                line = f"{match.group(1)}{color}{match.group(2)}{_RESET}{line[match.end(2):]}"
        lines.append(line)
    return "\n".join(lines)


def _jmespath(expression: str):
    try:
        import jmespath
        from jmespath.exceptions import JMESPathError
    except ImportError as missing:  # pragma: no cover - a dependency of the package
        raise argparse.ArgumentTypeError(f"--query needs {missing.name}: pip install ./lambda_src") from None
    try:
        return jmespath.compile(expression)
    except JMESPathError as problem:
        raise argparse.ArgumentTypeError(f"{expression!r} is not a JMESPath expression: "
                                         f"{' '.join(str(problem).split())}") from None


def _aws_text(item: Any, stream: TextIO, identifier: str | None = None, scalar_keys: list | None = None) -> None:
    """The AWS CLI's ``--output text``: scalars as they are, lists tab-separated, a dict's
    scalar values in key order, nested lists and dicts on lines of their own."""
    if isinstance(item, dict):
        if scalar_keys is None:
            scalars = [_scalar(v) for _, v in sorted(item.items()) if not isinstance(v, (dict, list))]
            nested = [(k, v) for k, v in sorted(item.items()) if isinstance(v, (dict, list))]
        else:
            scalars = [_scalar(item.get(k, "")) for k in scalar_keys]
            nested = [(k, item[k]) for k in sorted(set(item) - set(scalar_keys))]
        if scalars:
            stream.write("\t".join(([identifier.upper()] if identifier else []) + scalars) + "\n")
        for key, value in nested:
            _aws_text(value, stream, key)
    elif isinstance(item, list):
        if any(isinstance(element, dict) for element in item):
            keys = sorted({k for element in item if isinstance(element, dict)
                           for k, v in element.items() if not isinstance(v, (dict, list))})
            for element in item:
                _aws_text(element, stream, identifier, keys)
        else:
            scalars = [element for element in item if not isinstance(element, list)]
            if scalars:
                if identifier:
                    stream.writelines(f"{identifier.upper()}\t{_scalar(s)}\n" for s in scalars)
                else:
                    stream.write("\t".join(_scalar(s) for s in scalars) + "\n")
            for element in item:
                if isinstance(element, list):
                    _aws_text(element, stream, identifier)
    else:
        stream.write(_scalar(item) + "\n")


def _scalar(value: Any) -> str:
    """As the AWS CLI prints a scalar (``None``, ``True``), control characters escaped: a
    value may come from a log."""
    from .report import printable
    return printable(str(value))
