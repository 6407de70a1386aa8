"""The apps under examples/ synthesize as a user runs them: cdk-nag's packs registered
(any finding fails the synth), the output folder what `cdk synth` gives."""

import json
import runpy

import pytest

from conftest import REPO, synthesize_apps_into

EXAMPLES = REPO / "examples"


def synthesize_example(name: str, out, monkeypatch) -> dict[str, dict]:
    """Run ``examples/<name>``; its stacks' templates by stack name."""
    synthesize_apps_into(out, monkeypatch)
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


BROUGHT = {"bucket": "org-cloudtrail-logs-111111111111",
           "key": "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab",
           "topic": "arn:aws:sns:eu-west-1:111111111111:org-trail-delivery", "log_group": "org-cloudtrail"}


def assert_uses_exactly_the_brought_parts(out) -> None:
    """What examples/bring_your_own.py must synthesize (from the checkout, and from the
    installed wheel in tests/validators/test_wheel_install.py)."""
    templates = stack_templates(out)
    assert set(templates) == {"BringYourOwn"}
    template = templates["BringYourOwn"]
    (trail,) = _of_type(template, "AWS::CloudTrail::Trail")
    props = trail["Properties"]
    assert props["S3BucketName"] == BROUGHT["bucket"]
    assert props["KMSKeyId"] == BROUGHT["key"]
    assert props["SnsTopicName"] == BROUGHT["topic"]
    assert f":log-group:{BROUGHT['log_group']}:*" in json.dumps(props["CloudWatchLogsLogGroupArn"])
    # Neither a trail bucket nor an access-log bucket: only the digest validator's own backfill bucket.
    assert [json.dumps(b["Properties"].get("BucketName")) for b in _of_type(template, "AWS::S3::Bucket")] == [
        '"secure-org-trail-backfill-111111111111-eu-west-1"']
    assert [g for g in _of_type(template, "AWS::Logs::LogGroup")
            if not json.dumps(g["Properties"].get("LogGroupName", "")).startswith(('"/aws/lambda/', '"/aws/vendedlogs/'))
            and "backfill" not in json.dumps(g["Properties"].get("LogGroupName", ""))] == []  # the validators' own
    assert {"SecureTrailHandoverBucket", "SecureTrailHandoverKey", "SecureTrailHandoverTopic"} <= set(
        template["Outputs"])
    handover = json.loads((out / "BringYourOwn.secure-trail-handover.json").read_text())
    bucket = {s["Sid"]: s for s in handover["parts"]["bucket"]["statements"]}
    assert {"SecureTrailCloudTrailAclCheck", "SecureTrailCloudTrailWrite"} <= set(bucket)
    assert json.dumps(bucket["SecureTrailCloudTrailWrite"]["Resource"]).count(f"{BROUGHT['bucket']}/AWSLogs/") == 2
    assert BROUGHT["key"] in handover["parts"]["key"]["policy"]
    assert {"SecureTrailCloudTrailEncrypt", "SecureTrailCloudTrailDescribeKey"} <= {
        s["Sid"] for s in handover["parts"]["key"]["statements"]}
    assert [s["Resource"] for s in handover["parts"]["topic"]["statements"]] == [BROUGHT["topic"]]
    # The example registers the four cdk-nag packs: a finding would have failed its synth.
    report = json.loads((out / "validation-report.json").read_text())
    assert [r for r in report["pluginReports"] if r["summary"]["status"] != "success"] == []
    assert "Fn::" not in json.dumps(handover) and "Ref" not in json.dumps(handover)  # plain JSON an owner applies


def test_the_bring_your_own_example_uses_exactly_the_brought_parts(tmp_path, monkeypatch):
    synthesize_example("bring_your_own.py", tmp_path / "cdk.out", monkeypatch)
    assert_uses_exactly_the_brought_parts(tmp_path / "cdk.out")


@pytest.mark.parametrize("name", ["single_stack.py", "organization.py", "bring_your_own.py"])
def test_each_example_says_how_to_run_it(name):
    source = (EXAMPLES / name).read_text()
    assert "app.synth()" in source and "register_nag_packs(app)" in source and "pip install secure-trail" in source
