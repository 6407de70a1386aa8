"""The apps under examples/ synthesize as a user runs them: cdk-nag's packs registered
(any finding fails the synth), the output folder what `cdk synth` gives."""

import json
import runpy

import aws_cdk as cdk
import pytest

from conftest import REPO

EXAMPLES = REPO / "examples"


def synthesize_example(name: str, out, monkeypatch) -> dict[str, dict]:
    """Run ``examples/<name>``; its stacks' templates by stack name."""

    class App(cdk.App):  # what `cdk synth` would give the app: an output folder (and no bundling here)
        def __init__(self, **options):
            super().__init__(outdir=str(out), context={"aws:cdk:bundling-stacks": []}, **options)

    monkeypatch.setattr(cdk, "App", App)
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return stack_templates(out)


def stack_templates(out) -> dict[str, dict]:
    artifacts = json.loads((out / "manifest.json").read_text())["artifacts"]
    return {name: json.loads((out / artifact["properties"]["templateFile"]).read_text())
            for name, artifact in artifacts.items() if artifact["type"] == "aws:cloudformation:stack"}


def _of_type(template: dict, resource_type: str) -> list[dict]:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def test_the_single_stack_example_synthesizes_one_trail_with_its_own_alarm(tmp_path, monkeypatch):
    (template,) = synthesize_example("single_stack.py", tmp_path / "cdk.out", monkeypatch).values()
    (trail,) = _of_type(template, "AWS::CloudTrail::Trail")
    assert trail["Properties"]["IsOrganizationTrail"] is True
    assert [a for a in _of_type(template, "AWS::CloudWatch::Alarm")
            if a["Properties"].get("MetricName") == "TamperingFindings" and a["Properties"]["Threshold"] == 0]


def test_the_organization_example_synthesizes_a_log_archive_and_a_trail_stack(tmp_path, monkeypatch):
    templates = synthesize_example("organization.py", tmp_path / "cdk.out", monkeypatch)
    assert set(templates) == {"SecureTrailLogArchive", "SecureTrailTrail"}
    assert not _of_type(templates["SecureTrailLogArchive"], "AWS::CloudTrail::Trail")
    assert _of_type(templates["SecureTrailTrail"], "AWS::CloudTrail::Trail")
    assert not _of_type(templates["SecureTrailTrail"], "AWS::S3::Bucket")


@pytest.mark.parametrize("name", ["single_stack.py", "organization.py"])
def test_each_example_says_how_to_run_it(name):
    source = (EXAMPLES / name).read_text()
    assert "app.synth()" in source and "register_nag_packs(app)" in source and "pip install secure-trail" in source
