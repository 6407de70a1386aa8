"""The AWS Control Tower proactive controls (the cdk-validator-cfnguard plugin, its bundled rules
and cfn-guard) pass on the default single stack, the organization shape and every option on,
as app.py registers them; each exemption sits on its resource; the trail key passes
CT.KMS.PR.3 by its policy, not by an exemption."""

from __future__ import annotations

import copy
import json
import platform
import re
import subprocess
import tarfile
from pathlib import Path

import aws_cdk as cdk
import cdklabs.cdk_validator_cfnguard as plugin_package
import pytest
from aws_cdk import Validations

from conftest import build_organization, build_stack, default_props, full_props, organization_props
from secure_trail.compliance import (CONTROL_TOWER_PLUGIN, CONTROL_TOWER_RULES, control_tower_summary,
                                     register_control_tower_controls)

KMS_GRANTS_RULE = "kms_create_grant_aws_service_check"  # CT.KMS.PR.3
# The resources each exemption may sit on (construct path below the stack's SecureTrail).
EXEMPTED = {
    "cloud_trail_encryption_enabled_check": re.compile(r"^SecureTrailTrail/SecureTrail/Trail/Trail$"),
    "lambda_inside_vpc_check": re.compile(r"/(Planner|Worker|Watch|Auditor|Watcher|Summarizer)/Function/Resource$"),
    "s3_bucket_logging_enabled_check": re.compile(r"/(AccessLogs|Backfill)/Bucket/Resource$"),
    "s3_event_notifications_enabled_check": re.compile(r"/Backfill/Bucket/Resource$"),
    "s3_bucket_default_encryption_kms_check": re.compile(r"/AccessLogs/Bucket/Resource$"),
    "s3_bucket_object_lock_enabled_check": re.compile(r"/(AccessLogs|TrailLogs|Backfill)/Bucket/Resource$"),
    "sqs_dlq_check": re.compile(r"/DeadLetters/Resource$"),
}


def _synthesize(stacks: tuple[cdk.Stack, ...]) -> dict:
    """Synthesize the stacks' app with the controls registered as app.py does; the verdict,
    the line app.py prints, the plugin's entry of the validation report and the output folder."""
    app = stacks[0].node.root
    register_control_tower_controls(app)
    app.synth()  # raises on any failure not acknowledged
    passed, line = control_tower_summary(app)
    report = json.loads((Path(app.outdir) / "validation-report.json").read_text())
    (entry,) = [entry for entry in report["pluginReports"] if entry["pluginName"] == CONTROL_TOWER_PLUGIN]
    return {"passed": passed, "line": line, "entry": entry, "outdir": Path(app.outdir), "app": app}


@pytest.fixture(scope="module")
def single() -> dict:
    return _synthesize((build_stack(default_props()),))


@pytest.fixture(scope="module")
def organization() -> dict:
    return _synthesize(build_organization(organization_props()))


@pytest.fixture(scope="module")
def every_option_on() -> dict:
    return _synthesize((build_stack(full_props()),))


@pytest.fixture(scope="module", params=("single", "organization", "every_option_on"))
def synth(request) -> dict:
    return request.getfixturevalue(request.param)


def test_every_control_passes_or_is_acknowledged_on_its_resource(synth):
    assert synth["passed"], synth["line"]
    assert synth["entry"]["conclusion"] == "success"
    assert "error" not in (synth["entry"].get("metadata") or {})
    assert synth["entry"]["violations"] == []
    assert re.fullmatch(r"Control Tower proactive controls: cdk-validator-cfnguard \S+ ran on \d+ resources and "
                        r"passed: 0 unacknowledged failures \(\d+ acknowledged through \d+ exemptions, .*\)\.",
                        synth["line"])


def test_only_the_documented_exemptions_are_used_each_on_its_resource(synth):
    acknowledged = synth["entry"].get("suppressedViolations", [])
    assert acknowledged, "the plugin reported nothing at all: did it run?"
    for violation in acknowledged:
        rule = violation["ruleName"]
        assert rule in EXEMPTED, violation
        assert violation["acknowledgedId"] == f"{CONTROL_TOWER_PLUGIN}::{rule}"
        control = next(ct for ct, name in CONTROL_TOWER_RULES.items() if name == rule)
        assert violation["reason"].startswith(f"{control}: ") and len(violation["reason"]) > 60
        for construct in violation["violatingConstructs"]:
            assert EXEMPTED[rule].search(construct["constructPath"]), (rule, construct["constructPath"])


def test_the_keys_pass_ct_kms_pr_3_by_their_policy(synth):
    rules = {v["ruleName"] for v in synth["entry"].get("suppressedViolations", [])}
    assert KMS_GRANTS_RULE not in rules
    assert KMS_GRANTS_RULE not in CONTROL_TOWER_RULES.values()


def test_no_control_is_acknowledged_on_a_stack_or_the_app(synth):
    app = synth["app"]
    for scope in (app, *[c for c in app.node.find_all() if isinstance(c, cdk.Stack)]):
        for entry in scope.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                assert not any(rule.startswith(f"{CONTROL_TOWER_PLUGIN}::") for rule in entry.data), scope.node.path


def _plugin_archive() -> tarfile.TarFile:
    (archive,) = (Path(plugin_package.__file__).parent / "_jsii").glob("*.tgz")
    return tarfile.open(archive)


@pytest.fixture(scope="module")
def guard(tmp_path_factory) -> tuple[Path, Path]:
    """The plugin's own cfn-guard binary and its CT.KMS.PR.3 rule, taken from the package. (The
    plugin cannot be called from Python on a failing key: the violation it then returns has no
    logical id, which jsii refuses to pass back; inside synth the report stays in JavaScript.)"""
    folder = tmp_path_factory.mktemp("guard")
    machine = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}[platform.machine()]
    binary = f"package/bin/ubuntu/{machine}/cfn-guard"
    rule = "package/rules/control-tower/cfn-guard/keymanagementservice/ct-kms-pr-3.guard"
    with _plugin_archive() as tar:
        tar.extractall(folder, members=[tar.getmember(binary), tar.getmember(rule)], filter="data")
    (folder / binary).chmod(0o755)
    return folder / binary, folder / rule


def _kms_grant_failures(guard: tuple[Path, Path], template: dict, folder: Path) -> set[str]:
    """The logical ids of the keys that fail CT.KMS.PR.3, as the plugin runs cfn-guard."""
    binary, rule = guard
    path = folder / "Weakened.template.json"
    path.write_text(json.dumps(template))
    run = subprocess.run([str(binary), "validate", "--rules", str(rule), "--data", str(path), "--output-format", "json",
                          "--show-summary", "none", "--structured"], capture_output=True, text=True, check=False)
    assert run.returncode in (0, 19), run.stderr  # 19: a rule failed
    (result,) = json.loads(run.stdout)
    assert result["name"] == str(path)
    return set(re.findall(r'"path": "/Resources/([^/"]+)', json.dumps(result["not_compliant"])))


def _without_grant_condition(template: dict, key_id: str) -> dict:
    weakened = copy.deepcopy(template)
    for statement in weakened["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]:
        if statement.get("Sid") == "DenyGrantsNotForAwsResources":
            del statement["Condition"]
            return weakened
    raise AssertionError(f"{key_id} has no DenyGrantsNotForAwsResources statement")


def test_the_trail_key_fails_ct_kms_pr_3_without_the_create_grant_condition(single, guard, tmp_path):
    template = json.loads((single["outdir"] / "SecureTrail.template.json").read_text())
    (key_id,) = [logical_id for logical_id, resource in template["Resources"].items()
                 if resource["Type"] == "AWS::KMS::Key" and logical_id.startswith("SecureTrailKey")]
    assert _kms_grant_failures(guard, template, tmp_path) == set()
    assert _kms_grant_failures(guard, _without_grant_condition(template, key_id), tmp_path) == {key_id}


def _bundled_rules() -> dict[str, str]:
    """Each bundled Control Tower rule file's text, by file name (``ct-s3-pr-2``)."""
    with _plugin_archive() as tar:
        return {Path(member.name).stem: tar.extractfile(member).read().decode()
                for member in tar.getmembers()
                if member.name.startswith("package/rules/control-tower/cfn-guard/") and member.name.endswith(".guard")}


def test_each_acknowledged_control_is_the_bundled_rule_of_that_name():
    rules = _bundled_rules()
    for control, rule_name in CONTROL_TOWER_RULES.items():
        text = rules[control.lower().replace(".", "-")]
        assert re.search(rf"^rule {rule_name} when", text, re.MULTILINE), control
        assert f"[{control}]:" in text


def test_a_plugin_error_or_a_missing_report_is_never_a_pass(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    assert control_tower_summary(app)[0] is False  # no report at all
    (tmp_path / "validation-report.json").write_text(json.dumps({"pluginReports": [{
        "pluginName": CONTROL_TOWER_PLUGIN, "conclusion": "failure",
        "metadata": {"error": "Unable to deserialize value"}, "violations": []}]}))
    passed, line = control_tower_summary(app)
    assert passed is False and "Unable to deserialize value" in line
