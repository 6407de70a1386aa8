"""Writes docs/configuration.md: every prop of SecureTrailProps and AnalyticsProps with its type,
default and docstring, and every CDK context key with the prop it sets and its default.

    .venv/bin/python docs/generate_configuration.py      # or: make docs

Everything is read from the code: the props' source (``inspect.getsource`` + ``ast``: a
field's doc is the string literal after it), their defaults (``dataclasses.fields``), the
context keys ``secure_trail.context`` maps onto props, the keys ``app.py`` reads for itself,
and the values ``cdk.json`` sets. ``tests/test_docs.py`` checks that the page is current.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import re
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "configuration.md"

# Node for jsii: the one make setup puts beside this interpreter, if there is one.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
try:
    import secure_trail  # noqa: F401
except ImportError:  # a checkout without `make setup`'s editable install
    sys.path[:0] = [str(REPO / "constructs"), str(REPO / "lambda_src")]

from secure_trail import AnalyticsProps, ObjectLock, SecureTrailProps  # noqa: E402
from secure_trail import context as context_module  # noqa: E402
from secure_trail.parts.guardrails import GuardrailsProps  # noqa: E402
from secure_trail.props.analytics import analytics_from_context  # noqa: E402

# Context keys read outside CONTEXT_KEYS (by props_from_context and analytics_from_context):
# the prop each one sets, and the default when it is absent. Checked against the code below.
NESTED_KEYS: dict[str, tuple[str, Any]] = {
    "objectLockMode": ("object_lock (ObjectLock.mode: GOVERNANCE or COMPLIANCE)", None),
    "objectLockDays": ("object_lock (ObjectLock.retention_days), when objectLockMode is set",
                       context_module.DEFAULT_OBJECT_LOCK_DAYS),
    "analyticsEndpoint": ("analytics (AnalyticsProps.endpoint)", AnalyticsProps.endpoint),
    "analyticsService": ("analytics (AnalyticsProps.service), only with analyticsEndpoint",
                         AnalyticsProps.service),
    "analyticsCollection": ("analytics (AnalyticsProps.collection)", AnalyticsProps.collection),
    "guardrails": ("GuardrailsProps (organization shape): the Trail stack's control policies, see Guardrails "
                   "(guardrails.md)", False),
    "guardrailsBreakGlassRoleArn": ("GuardrailsProps (break_glass_role_arn), required with guardrails",
                                    None),
    "guardrailsTargetIds": ("GuardrailsProps (target_ids: root or OU ids), required with guardrails",
                            None),
    "guardrailsResourceControlPolicy": ("GuardrailsProps (resource_control_policy): also the TLS "
                                        "resource control policy", GuardrailsProps.resource_control_policy),
}
# Keys app.py reads for itself (not props): what each one decides. Checked against app.py.
APP_KEYS: dict[str, str] = {
    "homeRegion": "the region of the stack(s) and the trail's home region",
    "stackName": "single stack: the CloudFormation stack name",
    "trailAccountId": "organization shape: the account of the Trail stack (a delegated administrator); "
                      "unset: `managementAccountId`",
    "logArchiveRegion": "organization shape: refused unless it is `homeRegion` (CloudTrail needs the key "
                        "and the bucket in the trail's region)",
    "logArchiveStackName": "organization shape: the Log Archive stack's name",
    "trailStackName": "organization shape: the Trail stack's name",
}
APP_FALLBACK_TEXT = {"os.environ.get('CDK_DEFAULT_REGION')": "the CLI's region (`CDK_DEFAULT_REGION`)"}


@dataclasses.dataclass(frozen=True)
class Prop:
    name: str
    type: str
    default: str
    doc: str


def field_docs(cls: type) -> dict[str, tuple[str, str]]:
    """Field name -> (annotation as written, docstring) from the class's own source."""
    source = textwrap.dedent(inspect.getsource(cls))
    (node,) = ast.parse(source).body
    docs: dict[str, tuple[str, str]] = {}
    body = node.body
    for field, after in zip(body, body[1:] + [None]):
        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name):
            doc = ""
            if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str):
                doc = inspect.cleandoc(after.value.value)
            docs[field.target.id] = (ast.get_source_segment(source, field.annotation) or "", doc)
    return docs


def format_value(value: Any) -> str:
    if value is dataclasses.MISSING:
        return "required"
    if isinstance(value, enum.Enum):
        return f"`{type(value).__name__}.{value.name}`"
    if isinstance(value, (str, bool, int, float, type(None), tuple, list)):
        return f"`{value!r}`" if not isinstance(value, list) else f"`{json.dumps(value)}`"
    # a jsii enum-like class (s3.StorageClass): name the constant it is
    for name in dir(type(value)):
        if name.isupper() and getattr(getattr(type(value), name), "value", object()) == getattr(value, "value", None):
            return f"`{type(value).__name__}.{name}`"
    return f"`{value!r}`"


def props_of(cls: type) -> list[Prop]:
    docs = field_docs(cls)
    result = []
    for field in dataclasses.fields(cls):
        annotation, doc = docs[field.name]
        default = field.default
        if default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        result.append(Prop(field.name, annotation, format_value(default), rst_to_markdown(doc)))
    return result


def rst_to_markdown(text: str) -> str:
    return " ".join(text.replace("``", "`").split())


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def string_calls(tree: ast.AST, function: str) -> Iterator[ast.Call]:
    """Calls of ``function`` (a name or an attribute) whose first argument is a string literal."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            callee = node.func
            name = callee.id if isinstance(callee, ast.Name) else callee.attr if isinstance(callee, ast.Attribute) else ""
            if name == function:
                yield node


def parser_texts() -> dict[str, str]:
    """Context key -> the parser expression CONTEXT_KEYS gives it, as written."""
    source = inspect.getsource(context_module)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "CONTEXT_KEYS":
            return {key.value: ast.get_source_segment(source, value.elts[1])
                    for key, value in zip(node.value.keys, node.value.values)}
    raise SystemExit("secure_trail.context has no CONTEXT_KEYS literal")


def value_form(parser: str) -> str:
    if "_string_list" in parser:
        return "a list (comma-separated with `-c`)"
    if "_retention" in parser:
        return "days, a CloudWatch Logs retention value"
    if "_bool" in parser:
        return "`true` or `false`"
    if "_int" in parser:
        return "a whole number"
    return "text"


def app_reads() -> dict[str, str]:
    """Context key app.py reads -> its fallback when the key is absent or empty."""
    source = (REPO / "app.py").read_text()
    tree = ast.parse(source)
    fallbacks: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            first = node.values[0]
            if isinstance(first, ast.Call) and list(string_calls(first, "try_get_context")):
                text = ast.get_source_segment(source, node.values[1]) or ""
                try:
                    fallback = format_value(ast.literal_eval(node.values[1]))
                except ValueError:
                    fallback = APP_FALLBACK_TEXT.get(text.replace('"', "'"), f"`{text}`")
                fallbacks[first.args[0].value] = fallback
    for call in string_calls(tree, "try_get_context"):
        fallbacks.setdefault(call.args[0].value, "`None`")
    return fallbacks


def examples() -> set[str]:
    """The example values app.py warns about (EXAMPLE_* constants)."""
    tree = ast.parse((REPO / "app.py").read_text())
    return {node.value.value for node in tree.body if isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id.startswith("EXAMPLE_")
            and isinstance(node.value, ast.Constant)}


def cdk_json_value(context: dict[str, Any], key: str, example_values: set[str]) -> str:
    if key not in context:
        return "not set"
    value = context[key]
    if value == "":
        return "empty (unset)"
    text = f"`{json.dumps(value)}`"
    if (isinstance(value, list) and example_values & set(value)) or (isinstance(value, str) and value in example_values):
        text += " (**example: replace**)"
    return text


def check_keys(parsers: dict[str, str], app_keys: dict[str, str], context: dict[str, Any]) -> None:
    """Every key the code reads is documented here, and nothing else: a new key fails the docs."""
    read = set(parsers)
    for function in (context_module.props_from_context, analytics_from_context,
                     context_module.guardrails_from_context):
        read |= {call.args[0].value for call in string_calls(ast.parse(textwrap.dedent(inspect.getsource(function))), "get")}
    documented = set(parsers) | set(NESTED_KEYS)
    if read != documented:
        raise SystemExit(f"context keys read but not documented: {sorted(read - documented)}; "
                         f"documented but not read: {sorted(documented - read)} (edit NESTED_KEYS)")
    if set(app_keys) != set(APP_KEYS):
        raise SystemExit(f"app.py context keys {sorted(app_keys)} differ from APP_KEYS {sorted(APP_KEYS)}")
    unknown = {key for key in context if not key.startswith("@")} - documented - set(app_keys)
    if unknown:
        raise SystemExit(f"cdk.json sets context keys nothing reads: {sorted(unknown)}")


def prop_section(title: str, cls: type, anchor_prefix: str) -> list[str]:
    lines = [f"## {title}", "", rst_to_markdown(inspect.getdoc(cls) or ""), ""]
    for prop in props_of(cls):
        lines += [f"### `{anchor_prefix}{prop.name}`", "",
                  f"Type `{prop.type}`; default {prop.default}.", ""]
        if prop.doc:
            lines += [prop.doc, ""]
    return lines


def generate() -> str:
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    parsers = parser_texts()
    app_keys = app_reads()
    check_keys(parsers, app_keys, context)
    example_values = examples()
    prop_defaults = {prop.name: prop.default for prop in props_of(SecureTrailProps)}
    lines = [
        "# Configuration",
        "",
        "<!-- Generated by docs/generate_configuration.py (make docs) from the props' docstrings,",
        "     secure_trail.context, app.py and cdk.json: edit those, then regenerate. -->",
        "",
        "Every default of secure-trail is on this page, and only here. The constructs take the",
        "props below as keyword arguments (`SecureTrail(stack, \"Trail\", org_id=..., ...)`) or as",
        "one `SecureTrailProps`; the app (`app.py`) builds the same props from CDK context",
        "(`cdk.json`, or `-c key=value`). Props are validated at synth time, and a bad value fails",
        "naming the prop, the value and the expected form.",
        "",
        "## Context keys",
        "",
        "A key that is absent or empty leaves the prop's default. Booleans are `true` or `false`",
        "(JSON booleans, or those words with `-c`); `1`, `0` and `yes` are refused. Whole numbers",
        "are refused when they are a boolean (`true` is not 1 day) or a fraction, naming the key.",
        "Values are matched whole: a trailing newline in an id, a name or an ARN is an error.",
        "",
        "| key | sets | value | `cdk.json` | default |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, (prop, _parse) in context_module.CONTEXT_KEYS.items():
        lines.append(f"| `{key}` | [`{prop}`](#{prop}) | {value_form(parsers[key])} | "
                     f"{cdk_json_value(context, key, example_values)} | {prop_defaults[prop]} |")
    for key, (prop, default) in NESTED_KEYS.items():
        name = prop.split(" ", 1)[0]
        lines.append(f"| `{key}` | [`{name}`](#{re.sub(r'[^a-z0-9_-]', '', name.lower())}) {cell(prop.split(' ', 1)[1])} | "
                     f"{'`true` or `false`' if isinstance(default, bool) else 'a whole number' if isinstance(default, int) else 'text'} | "
                     f"{cdk_json_value(context, key, example_values)} | {format_value(default)} |")
    lines += ["", "Keys the app reads for itself (they are not props):", "",
              "| key | decides | `cdk.json` | default |", "| --- | --- | --- | --- |"]
    for key, fallback in app_keys.items():
        lines.append(f"| `{key}` | {cell(APP_KEYS[key])} | {cdk_json_value(context, key, example_values)} | {fallback} |")
    lines += ["", "With `logArchiveAccountId` set the app synthesizes the organization shape (two stacks);",
              "see [Deploying](deploying.md).", ""]
    lines += prop_section("SecureTrailProps", SecureTrailProps, "")
    lines += prop_section("ObjectLock", ObjectLock, "ObjectLock.")
    lines += prop_section("AnalyticsProps", AnalyticsProps, "analytics.")
    lines += prop_section("GuardrailsProps", GuardrailsProps, "guardrails.")
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    PAGE.write_text(generate())
    print(f"wrote {PAGE.relative_to(REPO)}")


if __name__ == "__main__":
    main()
