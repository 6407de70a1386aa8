"""app.py and its context: the command-line face of the constructs."""

import json
import re
import subprocess
import sys

import aws_cdk as cdk
import pytest

from conftest import REPO, cdk_json_context
from secure_trail import SecureTrailConfigError
from secure_trail.context import props_from_context


def props_with(**context):
    return props_from_context(cdk.App(context={**cdk_json_context(), **context}).node)


def test_cdk_json_defaults_are_the_props_defaults():
    props = props_with()
    assert props.org_id == "o-exampleorg1"
    assert props.cloud_watch_logs and not props.insights and not props.s3_data_events
    assert props.object_lock is None and props.management_account_id is None
    assert props.log_archive_account_id is None  # the single-stack shape is the default
    assert (props.log_transition_days, props.log_expiration_days) == (90, 2557)


def test_command_line_strings_are_parsed():
    props = props_with(insights="true", logExpirationDays="3650", cloudWatchLogsRetentionDays="731",
                       logReaderArns="arn:aws:iam::123456789012:role/A, arn:aws:iam::123456789012:role/B",
                       objectLockMode="governance", objectLockDays="30")
    assert props.insights is True and props.log_expiration_days == 3650
    assert props.cloud_watch_logs_retention == cdk.aws_logs.RetentionDays.TWO_YEARS
    assert props.log_reader_arns == ("arn:aws:iam::123456789012:role/A", "arn:aws:iam::123456789012:role/B")
    assert props.object_lock.mode.value == "GOVERNANCE" and props.object_lock.retention_days == 30


@pytest.mark.parametrize(("context", "names"), [
    ({"insights": "maybe"}, "insights"),
    ({"logExpirationDays": "ten"}, "logExpirationDays"),
    ({"cloudWatchLogsRetentionDays": "42"}, "cloudWatchLogsRetentionDays"),
    ({"objectLockMode": "forever"}, "objectLockMode"),
    ({"orgId": ""}, "orgId is required"),
])
def test_bad_context_names_the_key(context, names):
    with pytest.raises(SecureTrailConfigError, match=names):
        props_with(**context)


@pytest.mark.slow
def test_app_synthesizes_with_all_packs_and_refuses_a_bad_org_id(tmp_path):
    ok = subprocess.run([sys.executable, "app.py"], cwd=REPO, capture_output=True, text=True,
                        env=_env(tmp_path / "ok"))
    assert ok.returncode == 0, ok.stderr[-3000:]
    summary = re.search(r"^cdk-nag: AwsSolutions, NIST.800.53.R5, HIPAA.Security, PCI.DSS.321 ran on (\d+) "
                        r"resources and passed: 0 unacknowledged findings \((\d+) acknowledged", ok.stderr, re.M)
    template = json.loads((tmp_path / "ok" / "SecureTrail.template.json").read_text())
    assert summary and int(summary[1]) == len(template["Resources"]) and int(summary[2]) > 0, ok.stderr[-2000:]
    controls = re.search(r"^Control Tower proactive controls: cdk-validator-cfnguard \S+ ran on (\d+) resources and "
                         r"passed: 0 unacknowledged failures \((\d+) acknowledged", ok.stderr, re.M)
    assert controls and int(controls[1]) == len(template["Resources"]) and int(controls[2]) > 0, ok.stderr[-2000:]
    (asset,) = (tmp_path / "ok").glob("asset.*")
    for bundled in ("trail_validators/handlers/access_log_auditor.py", "aws_lambda_powertools/__init__.py"):
        assert (asset / bundled).is_file(), bundled
    assert not (asset / "bin").exists()
    assert (REPO / "lambda_src/trail_validators/evidence").is_dir() and not (asset / "trail_validators/evidence").exists()
    assert not [p for p in asset.rglob("*") if p.suffix == ".pyc" or p.stem in ("trail_simulation", "access_log_samples")]
    bad = subprocess.run([sys.executable, "app.py"], cwd=REPO, capture_output=True, text=True,
                         env=_env(tmp_path / "bad", context='{"orgId": "o-BAD"}'))
    assert bad.returncode != 0 and "org_id: 'o-BAD' is not valid" in bad.stderr and "cdk-nag:" not in bad.stderr


@pytest.mark.slow
def test_app_synthesizes_the_organization_shape_into_two_environments(tmp_path):
    """-c logArchiveAccountId=222222222222 -c managementAccountId=111111111111: two stacks,
    each with its account and the one region in cdk.out/manifest.json, nag-clean."""
    done = subprocess.run([sys.executable, "app.py"], cwd=REPO, capture_output=True, text=True, env=_env(
        tmp_path, context='{"logArchiveAccountId": "222222222222", "managementAccountId": "111111111111"}'))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "passed: 0 unacknowledged findings" in done.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    stacks = {name: (a["environment"], a.get("dependencies", []))
              for name, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}
    assert {name: env for name, (env, _) in stacks.items()} == {
        "SecureTrailLogArchive": "aws://222222222222/us-east-1", "SecureTrailTrail": "aws://111111111111/us-east-1"}
    assert "SecureTrailLogArchive" in stacks["SecureTrailTrail"][1]
    bad = subprocess.run([sys.executable, "app.py"], cwd=REPO, capture_output=True, text=True, env=_env(
        tmp_path / "bad", context='{"logArchiveAccountId": "111111111111", "managementAccountId": "111111111111"}'))
    assert bad.returncode != 0 and "log_archive_account_id: '111111111111'" in bad.stderr
    elsewhere = subprocess.run([sys.executable, "app.py"], cwd=REPO, capture_output=True, text=True, env=_env(
        tmp_path / "elsewhere", context='{"logArchiveAccountId": "222222222222", "managementAccountId": '
                                        '"111111111111", "logArchiveRegion": "eu-west-1"}'))
    assert elsewhere.returncode != 0 and "log_archive_region: 'eu-west-1'" in elsewhere.stderr


def _env(outdir, context=None):
    import json
    import os
    env = dict(os.environ, CDK_OUTDIR=str(outdir))
    merged = {**cdk_json_context(), **(json.loads(context) if context else {})}
    env["CDK_CONTEXT_JSON"] = json.dumps(merged)
    return env
