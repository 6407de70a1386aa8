"""`secure-trail evidence` on the app as `make synth` runs it: every control satisfied or not
applicable (with why), and each control falls to not_satisfied when the template property
that satisfies it is removed or weakened, with --compare exiting 1 naming it."""

from __future__ import annotations

import json

import pytest

from evidence_assemblies import (bucket_id, bucket_policy, copy_assembly, edit_template,
                                 logical_ids, of_type, trail, trail_key)
from trail_validators.cli.main import main
from trail_validators.evidence.assembly import read_assembly
from trail_validators.evidence.controls import CONTROLS
from trail_validators.evidence.report import build_report
from trail_validators.contract.monitoring_controls import MONITORING_CONTROLS

MONITORING_IDS = {control.control_id for control in MONITORING_CONTROLS} | {
    f"CIS.{control.cis_section}" for control in MONITORING_CONTROLS}


def statuses(cdk_out) -> dict[str, object]:
    return {control.id: control for control in build_report(read_assembly(cdk_out)).controls}


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["default", "organization"])
@pytest.mark.parametrize("control_id", [control.id for control in CONTROLS])
def test_default_synth_every_control_satisfied_or_not_applicable(control_id, shape, request):
    cdk_out = request.getfixturevalue(f"{shape}_cdk_out")
    control = statuses(cdk_out)[control_id]
    assert control.status in ("satisfied", "not_applicable"), (control.status, control.reason)
    assert control.reason
    if control.status == "satisfied":
        assert control.evidence and all(item.holds for item in control.evidence)


def test_the_two_account_shape_is_one_report_across_both_stacks(organization_cdk_out):
    report = build_report(read_assembly(organization_cdk_out))
    assert set(report.stacks) == {"SecureTrailLogArchive", "SecureTrailTrail"}
    controls = {control.id: control for control in report.controls}
    # The trail (Trail stack) writes to the bucket and encrypts with the key of the Log Archive stack.
    assert {item.stack for item in controls["CloudTrail.7"].evidence} == {"SecureTrailLogArchive"}
    assert {item.stack for item in controls["CloudTrail.2"].evidence} == {"SecureTrailTrail", "SecureTrailLogArchive"}
    retained = {(item.stack, item.resource_type) for item in controls["ST.9"].evidence}
    assert ("SecureTrailLogArchive", "AWS::KMS::Key") in retained
    assert ("SecureTrailTrail", "AWS::Logs::LogGroup") in retained


def _drop_statement(document: dict, condition_key: str) -> None:
    document["Statement"] = [s for s in document["Statement"]
                             if condition_key not in json.dumps(s.get("Condition", {}))]


def _strip_source_arn(resources: dict) -> None:
    for statement in bucket_policy(resources, "trail")["Statement"]:
        if statement.get("Sid") == "CloudTrailWrite":
            del statement["Condition"]["StringEquals"]["aws:SourceArn"]


def _source_arn_if_exists(resources: dict) -> None:
    for statement in trail_key(resources)["KeyPolicy"]["Statement"]:
        if statement.get("Sid") == "CloudTrailDescribeKey":
            statement["Condition"] = {"StringEqualsIfExists": statement["Condition"]["StringEquals"]}


def _public_policies_allowed(resources: dict) -> None:
    resources[bucket_id(resources, "access_log")]["Properties"]["PublicAccessBlockConfiguration"][
        "BlockPublicPolicy"] = False


def _public_read(resources: dict) -> None:
    bucket_policy(resources, "trail")["Statement"].append(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"})


def _tls_deny_on_bucket_only(resources: dict) -> None:
    for statement in bucket_policy(resources, "trail")["Statement"]:
        if "aws:SecureTransport" in json.dumps(statement.get("Condition", {})):
            statement["Resource"] = statement["Resource"][0]  # the bucket, not its objects


def _set_trail(name, value):
    def change(resources):
        if value is None:
            trail(resources).pop(name)
        else:
            trail(resources)[name] = value
    return change


WEAKENINGS = {
    "remove the TLS deny": ("S3.5", lambda r: _drop_statement(bucket_policy(r, "trail"), "aws:SecureTransport")),
    "TLS deny on the bucket, not its objects": ("S3.5", _tls_deny_on_bucket_only),
    "remove the TLS 1.2 deny": ("ST.3", lambda r: _drop_statement(bucket_policy(r, "trail"), "s3:TlsVersion")),
    "log file validation off": ("CloudTrail.4", _set_trail("EnableLogFileValidation", False)),
    "digests off also silences ST.6": ("ST.6", _set_trail("EnableLogFileValidation", False)),
    "drop key rotation": ("KMS.4", lambda r: trail_key(r).pop("EnableKeyRotation")),
    "single-region trail": ("CloudTrail.1", _set_trail("IsMultiRegionTrail", False)),
    "write-only management events": ("CIS.3.1", lambda r: trail(r)["AdvancedEventSelectors"][0]["FieldSelectors"]
                                     .append({"Field": "readOnly", "Equals": ["false"]})),
    "no SourceArn on the bucket grant": ("ST.1", _strip_source_arn),
    "SourceArn only if it exists": ("ST.1", _source_arn_if_exists),
    "no KMS key on the trail": ("CloudTrail.2", _set_trail("KMSKeyId", None)),
    "a public access block off": ("S3.8", _public_policies_allowed),
    "a public read grant": ("S3.2", _public_read),
    "no access logging": ("CloudTrail.7", lambda r: r[bucket_id(r, "trail")]["Properties"].pop("LoggingConfiguration")),
    "unversioned access-log bucket": ("S3.14", lambda r: r[bucket_id(r, "access_log")]["Properties"]
                                      .pop("VersioningConfiguration")),
    "ACLs back on": ("S3.12", lambda r: r[bucket_id(r, "trail")]["Properties"].pop("OwnershipControls")),
    "unencrypted topic": ("SNS.1", lambda r: of_type(r, "AWS::SNS::Topic")[0]["Properties"].pop("KmsMasterKeyId")),
    "trail bucket deleted with the stack": ("ST.9", lambda r: r[bucket_id(r, "trail")].pop("DeletionPolicy")),
    "tampering alarm without action": ("ST.6", lambda r: [a["Properties"].pop("AlarmActions") for a in
                                                         of_type(r, "AWS::CloudWatch::Alarm")
                                                         if a["Properties"].get("MetricName") == "TamperingFindings"]),
    "not an organization trail": ("ST.8", _set_trail("IsOrganizationTrail", False)),
    "logging stopped": ("CloudTrail.3", _set_trail("IsLogging", False)),
    "log group kept 30 days": ("ST.10", lambda r: of_type(r, "AWS::Logs::LogGroup")[0]["Properties"]
                               .update(RetentionInDays=30)),
}


@pytest.mark.parametrize("weakening", WEAKENINGS)
def test_a_weakened_template_fails_its_control_and_compare_exits_1_naming_it(weakening, default_cdk_out, tmp_path,
                                                                              capsys):
    control_id, change = WEAKENINGS[weakening]
    weakened = edit_template(copy_assembly(default_cdk_out, tmp_path / "cdk.out"), "SecureTrail", change)
    assert statuses(default_cdk_out)[control_id].status == "satisfied"
    control = statuses(weakened)[control_id]
    assert control.status == "not_satisfied"
    assert any(not item.holds for item in control.evidence)

    assert main(["evidence", str(weakened), "--compare", str(default_cdk_out), "--format", "json"]) == 1
    out, err = capsys.readouterr()
    assert f"regressed: {control_id} went from satisfied to not_satisfied" in err
    regressions = [c for c in json.loads(out)["changes"] if c["kind"] == "control_regressed"]
    assert control_id in {c["control_id"] for c in regressions}


def test_compare_names_the_security_relevant_property_changes(default_cdk_out, tmp_path, capsys):
    def change(resources):
        _drop_statement(bucket_policy(resources, "trail"), "s3:TlsVersion")
        bucket_policy(resources, "trail")["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "s3:*"})
        trail_key(resources)["EnableKeyRotation"] = False
        of_type(resources, "AWS::Logs::LogGroup")[0]["Properties"]["RetentionInDays"] = 30
        resources.pop(logical_ids(resources, "AWS::CloudWatch::Alarm")[0])
    weakened = edit_template(copy_assembly(default_cdk_out, tmp_path / "cdk.out"), "SecureTrail", change)
    assert main(["evidence", str(weakened), "--compare", str(default_cdk_out), "--format", "json"]) == 1
    changes = json.loads(capsys.readouterr().out)["changes"]
    kinds = {(c["kind"], c["resource_type"], c["property_path"]) for c in changes}
    assert ("statement_removed", "AWS::S3::BucketPolicy", "PolicyDocument.Statement") in kinds
    assert ("statement_added", "AWS::S3::BucketPolicy", "PolicyDocument.Statement") in kinds
    assert ("property_changed", "AWS::KMS::Key", "EnableKeyRotation") in kinds
    assert ("property_changed", "AWS::Logs::LogGroup", "RetentionInDays") in kinds
    assert ("resource_removed", "AWS::CloudWatch::Alarm", None) in kinds
    removed = next(c for c in changes if c["kind"] == "statement_removed")
    assert removed["old"]["Condition"] == {"NumericLessThan": {"s3:TlsVersion": 1.2}}


def test_compare_with_itself_is_quiet_and_exits_0(default_cdk_out, capsys):
    assert main(["evidence", str(default_cdk_out), "--compare", str(default_cdk_out), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["changes"] == []


def test_the_report_is_the_same_for_the_same_assembly(default_cdk_out, capsys):
    """No timestamps: two runs give the same bytes, so the report diffs cleanly in a pull request."""
    outputs = []
    for _ in range(2):
        assert main(["evidence", str(default_cdk_out), "--format", "html"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]


def test_cloudwatch_logs_off_makes_the_monitoring_controls_not_applicable(default_cdk_out, tmp_path):
    """As cloudWatchLogs=false synthesizes the trail (cdk-nag refuses it, so a copy is edited)."""
    def no_delivery(resources):
        for name in ("CloudWatchLogsLogGroupArn", "CloudWatchLogsRoleArn"):
            trail(resources).pop(name)
    cdk_out = edit_template(copy_assembly(default_cdk_out, tmp_path / "cdk.out"), "SecureTrail", no_delivery)
    controls = statuses(cdk_out)
    for control_id in MONITORING_IDS:
        assert controls[control_id].status == "not_applicable"
        assert "CloudWatch Logs delivery is off" in controls[control_id].reason
    assert controls["CloudTrail.5"].status == "not_satisfied"
    assert controls["ST.10"].status == "not_applicable"


def test_a_decoy_bucket_with_the_trail_buckets_name_is_not_taken_for_it(organization_cdk_out, tmp_path):
    """The Trail stack names its bucket by name; a second bucket claiming that name (a decoy
    that satisfies everything) makes the reference ambiguous, so nothing is vouched for."""
    def decoy(resources):
        name = trail(resources)["S3BucketName"]
        resources["Decoy"] = {"Type": "AWS::S3::Bucket", "Properties": {
            "BucketName": name, "LoggingConfiguration": {"DestinationBucketName": "elsewhere"}}}
    cdk_out = edit_template(copy_assembly(organization_cdk_out, tmp_path / "cdk.out"), "SecureTrailTrail", decoy)
    control = statuses(cdk_out)["CloudTrail.7"]
    assert control.status == "not_satisfied" and "the trail's bucket is not in the assembly" in control.reason


def test_the_control_table_is_data_over_known_checks_and_the_monitoring_table():
    from pathlib import Path

    from trail_validators.evidence import checks
    ids = [control.id for control in CONTROLS]
    assert len(ids) == len(set(ids)) and all(control.check in checks.CHECKS for control in CONTROLS)
    assert MONITORING_IDS <= set(ids)
    sources = "".join(path.read_text() for path in Path(checks.__file__).parent.parent.rglob("*.py"))
    assert not [c.control_id for c in MONITORING_CONTROLS if c.filter_pattern in sources]  # imported, never copied


def test_the_readme_excerpt_is_what_the_report_says(default_cdk_out, capsys):
    from conftest import REPO
    section = (REPO / "docs" / "evidence.md").read_text()
    excerpt = [line for line in section.splitlines() if line.startswith("| ") and " | FAILS: " in line
               or line.startswith("| ") and " | ok: " in line]
    assert main(["evidence", str(default_cdk_out), "--format", "markdown"]) == 0
    generated = capsys.readouterr().out.splitlines()
    assert excerpt and all(line in generated for line in excerpt)
    summary = next(line for line in generated if line.startswith("Stacks: "))
    assert f"> {summary}" in section
