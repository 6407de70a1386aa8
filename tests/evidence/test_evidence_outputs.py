"""The report's three formats and its input handling: strict HTML5 with every control id,
no script and nothing a strict CSP blocks; JSON valid against the schema the package
ships; Markdown tables that hostile text cannot break; bad input is one line and exit 2."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from importlib.resources import files

import html5lib
import jsonschema
import pytest

from evidence_assemblies import bucket_policy, copy_assembly, edit_template, trail
from trail_validators.cli.main import main
from trail_validators.evidence import assembly as assembly_module
from trail_validators.evidence.controls import CONTROLS

HOSTILE = '</pre></td><script>alert(1)</script><img src=x onerror=alert(2)>| col | `x` [l](http://e.x) \x1b[31m'
SCHEMA = json.loads(files("trail_validators.evidence").joinpath("schema.json").read_text())


@pytest.fixture(scope="module")
def hostile_cdk_out(default_cdk_out, tmp_path_factory):
    """Template strings an attacker controls: a Sid, a tag value, a topic name, a logical id."""
    def poison(resources):
        statement = bucket_policy(resources, "trail")["Statement"][0]
        statement["Sid"] = HOSTILE
        trail(resources)["Tags"] = [{"Key": "owner", "Value": HOSTILE}]
        resources[HOSTILE] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": HOSTILE}}
    return edit_template(copy_assembly(default_cdk_out, tmp_path_factory.mktemp("hostile") / "cdk.out"),
                         "SecureTrail", poison)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["evidence", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def strict_html(text: str):
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(text)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["default", "hostile"])
def test_html_is_strict_html5_with_every_control_and_no_script(which, request, capsys):
    code, page, _ = run(capsys, request.getfixturevalue(f"{which}_cdk_out"), "--format", "html")
    assert code == 0
    document = strict_html(page)
    ids = {row.get("id") for row in document.iter("tr") if row.get("id")}
    assert ids == {f"control-{control.id}" for control in CONTROLS}
    assert not list(document.iter("script")) and not list(document.iter("img")) and "<script" not in page
    assert not [e for e in document.iter()
                if any(a.startswith("on") or a in ("style", "src", "href") for a in e.attrib)]
    assert not [e for e in document.iter() if e.tag in ("link", "iframe", "object", "embed", "base", "form")]
    (style,) = list(document.iter("style"))
    assert "url(" not in style.text and "@import" not in style.text


def test_hostile_strings_are_shown_escaped(hostile_cdk_out, capsys):
    _, page, _ = run(capsys, hostile_cdk_out, "--format", "html")
    text = "".join(strict_html(page).itertext())
    assert "<script>alert(1)</script>" in text  # shown as text, never parsed as markup
    _, markdown, _ = run(capsys, hostile_cdk_out, "--format", "markdown")
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 4 for row in rows)  # three cells, none split by a |
    assert "\x1b" not in markdown and "\\<script" in markdown
    assert not re.search(r"(?<!\\)[<>\[\]`]", markdown.replace("<br>", ""))  # no live markup or link


def test_html_works_under_its_own_strict_content_security_policy(default_cdk_out, capsys):
    _, page, _ = run(capsys, default_cdk_out, "--format", "html")
    document = strict_html(page)
    (meta,) = [m for m in document.iter("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    (style,) = list(document.iter("style"))
    digest = base64.b64encode(hashlib.sha256(style.text.encode()).digest()).decode()
    assert meta.get("content") == f"default-src 'none'; style-src 'sha256-{digest}'"
    assert "@media print" in style.text
    body = "".join(document.find("body").itertext())
    assert re.search(r"\d+ of \d+ controls satisfied", body)


@pytest.mark.parametrize("compare", [False, True])
def test_json_validates_against_the_shipped_schema(default_cdk_out, tmp_path, compare, capsys):
    extra = []
    if compare:
        older = edit_template(copy_assembly(default_cdk_out, tmp_path / "old"), "SecureTrail",
                              lambda r: trail(r).update(IsMultiRegionTrail=False))
        extra = ["--compare", older]
    code, out, _ = run(capsys, default_cdk_out, "--format", "json", *extra)
    report = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert [c["id"] for c in report["controls"]] == [control.id for control in CONTROLS]
    assert code == 0 and (report["changes"] != []) == compare  # an improvement is a change, not a regression


def test_output_file_format_follows_its_extension(default_cdk_out, tmp_path, capsys):
    for name, check in (("r.html", strict_html), ("r.json", json.loads), ("r.md", lambda t: t.index("| ---"))):
        assert run(capsys, default_cdk_out, "--output", tmp_path / name)[0] == 0
        check((tmp_path / name).read_text())


def _manifest(cdk_out, change):
    path = cdk_out / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _outside(tmp_path, cdk_out):
    (tmp_path / "secret.json").write_text("{}")
    _manifest(cdk_out, lambda m: m["artifacts"]["SecureTrail"]["properties"].update(templateFile="../secret.json"))


def _symlink_outside(tmp_path, cdk_out):
    (tmp_path / "secret.json").write_text('{"Resources": {}}')
    os.remove(cdk_out / "SecureTrail.template.json")
    os.symlink(tmp_path / "secret.json", cdk_out / "SecureTrail.template.json")


BAD_INPUTS = {
    "no such folder": (lambda tmp, out: os.rename(out, tmp / "gone"), "is not a directory"),
    "no manifest": (lambda tmp, out: os.remove(out / "manifest.json"), "is not a cloud assembly"),
    "manifest not JSON": (lambda tmp, out: (out / "manifest.json").write_text("{"), "is not valid JSON"),
    "manifest pointing outside": (_outside, "points outside the cloud assembly"),
    "template symlinked outside": (_symlink_outside, "points outside the cloud assembly"),
    "template missing": (lambda tmp, out: os.remove(out / "SecureTrail.template.json"), "missing"),
    "template not a template": (lambda tmp, out: (out / "SecureTrail.template.json").write_text("[1]"),
                                "not a CloudFormation template"),
    "template nested too deep": (lambda tmp, out: (out / "SecureTrail.template.json").write_text(
        "[" * 100_000 + "]" * 100_000), "is not valid JSON"),
    "validation report of the wrong shape": (lambda tmp, out: (out / "validation-report.json").write_text(
        '{"pluginReports": {"a": 1}}'), "'pluginReports' is not a list"),
    "validation report violations not a list": (lambda tmp, out: (out / "validation-report.json").write_text(
        '{"pluginReports": [{"pluginName": "x", "conclusion": "failure", "violations": "<b>"}]}'),
        "violations is not a list"),
    "no stack at all": (lambda tmp, out: _manifest(out, lambda m: m.update(artifacts={})), "lists no CloudFormation"),
    "a nested assembly outside": (lambda tmp, out: _manifest(out, lambda m: m["artifacts"].update(
        Stage={"type": "cdk:cloud-assembly", "properties": {"directoryName": "/"}})), "points outside"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_and_exit_2(case, default_cdk_out, tmp_path, capsys):
    cdk_out = copy_assembly(default_cdk_out, tmp_path / "cdk.out")
    spoil, message = BAD_INPUTS[case]
    spoil(tmp_path, cdk_out)
    code, out, err = run(capsys, cdk_out, "--format", "json")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


def test_a_template_over_the_size_cap_is_refused(default_cdk_out, tmp_path, capsys, monkeypatch):
    cdk_out = copy_assembly(default_cdk_out, tmp_path / "cdk.out")
    monkeypatch.setattr(assembly_module, "MAX_FILE_BYTES", 1000)
    code, _, err = run(capsys, cdk_out)
    assert code == 2 and "over the 1,000-byte limit" in err


def test_a_failed_nag_report_is_a_failed_control(default_cdk_out, tmp_path, capsys):
    cdk_out = copy_assembly(default_cdk_out, tmp_path / "cdk.out")
    (cdk_out / "validation-report.json").write_text(json.dumps({"pluginReports": [
        {"pluginName": "AwsSolutions", "conclusion": "failure", "violations": [{"ruleName": "AwsSolutions-S1"}]}]}))
    _, out, _ = run(capsys, cdk_out, "--format", "json")
    (nag,) = [c for c in json.loads(out)["controls"] if c["id"] == "ST.12"]
    assert nag["status"] == "not_satisfied" and "AwsSolutions reported 1 unacknowledged" in nag["reason"]


def test_a_hostile_template_path_stays_one_line(default_cdk_out, tmp_path, capsys):
    cdk_out = copy_assembly(default_cdk_out, tmp_path / "cdk.out")
    _manifest(cdk_out, lambda m: m["artifacts"]["SecureTrail"]["properties"].update(
        templateFile="x\nsecure-trail: all controls satisfied\x1b[2J.json"))
    code, _, err = run(capsys, cdk_out)
    assert code == 2 and len(err.splitlines()) == 1 and "\x1b" not in err and "\\x0a" in err
