"""Every weakened copy of the default synth in ``evidence_weakenings.WEAKENINGS`` leaves the
control it breaks not satisfied (and each of those controls is satisfied unweakened)."""

from __future__ import annotations

import json

import pytest

from evidence_assemblies import cloudtrail_source_arn, copy_assembly, edit_template, template_path
from evidence_weakenings import WEAKENINGS
from trail_validators.evidence.assembly import read_assembly
from trail_validators.evidence.report import build_report


def statuses(cdk_out) -> dict[str, str]:
    return {control.id: control.status for control in build_report(read_assembly(cdk_out)).controls}


def test_the_table_covers_at_least_25_weakenings_and_every_new_control():
    assert len(WEAKENINGS) >= 25
    assert {"ST.13", "KMS.5", "ST.14", "ST.6", "ST.7", "ST.4"} <= {w.control_id for w in WEAKENINGS}


def test_every_weakened_control_is_satisfied_on_the_default_synth(default_cdk_out):
    found = statuses(default_cdk_out)
    assert {w.control_id: found[w.control_id] for w in WEAKENINGS} == {w.control_id: "satisfied" for w in WEAKENINGS}


@pytest.mark.parametrize("weakening", WEAKENINGS, ids=[w.name for w in WEAKENINGS])
def test_a_weakened_copy_leaves_its_control_not_satisfied(weakening, default_cdk_out, tmp_path):
    cdk_out = copy_assembly(default_cdk_out, tmp_path / "cdk.out")
    path = template_path(cdk_out, "SecureTrail")
    template = json.loads(path.read_text())
    weakening.change(template)
    path.write_text(json.dumps(template))
    assert statuses(cdk_out)[weakening.control_id] == "not_satisfied"


KEY_ADMINISTRATION = ["kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey",
                      "kms:DisableKey", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
                      "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource"]


def test_a_trail_key_whose_root_only_administers_and_grants_only_for_aws_resources_is_satisfied(default_cdk_out,
                                                                                                 tmp_path):
    from evidence_assemblies import trail_key

    def narrow(resources):
        statements = trail_key(resources)["KeyPolicy"]["Statement"]
        root = statements[0]["Principal"]
        statements[0]["Action"] = KEY_ADMINISTRATION
        statements.append({"Sid": "GrantsOnlyForAwsResources", "Effect": "Allow", "Principal": root,
                           "Action": "kms:CreateGrant", "Resource": "*",
                           "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}})
    cdk_out = edit_template(copy_assembly(default_cdk_out, tmp_path / "cdk.out"), "SecureTrail", narrow)
    found = statuses(cdk_out)
    assert {c: found[c] for c in ("KMS.5", "ST.1", "ST.2", "CIS.3.5", "KMS.4")} == dict.fromkeys(
        ("KMS.5", "ST.1", "ST.2", "CIS.3.5", "KMS.4"), "satisfied")


def test_in_the_organization_shape_a_source_arn_of_the_log_archive_account_is_not_the_trail(organization_cdk_out,
                                                                                          tmp_path):
    """The trail lives in the management account: a grant for a trail of the same name in the
    Log Archive account (where the bucket is) admits a trail this deployment does not own."""
    assert statuses(organization_cdk_out)["ST.1"] == "satisfied"

    other_account = cloudtrail_source_arn({"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":cloudtrail:us-east-1:", {"Ref": "AWS::AccountId"},
        ":trail/secure-org-trail"]]})
    cdk_out = edit_template(copy_assembly(organization_cdk_out, tmp_path / "cdk.out"), "SecureTrailLogArchive",
                            other_account)
    assert statuses(cdk_out)["ST.1"] == "not_satisfied"


def test_a_named_reader_in_another_account_decrypting_under_a_condition_keeps_kms_5(default_cdk_out, tmp_path):
    from evidence_assemblies import trail_key

    def reader(resources):
        trail_key(resources)["KeyPolicy"]["Statement"].append({
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:role/auditor"}, "Action": "kms:Decrypt",
            "Resource": "*", "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:*"}}})
    cdk_out = edit_template(copy_assembly(default_cdk_out, tmp_path / "cdk.out"), "SecureTrail", reader)
    assert statuses(cdk_out)["KMS.5"] == "satisfied"
