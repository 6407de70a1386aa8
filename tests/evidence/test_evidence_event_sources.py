"""The monitoring controls follow what the trail's selectors leave out: a filter sees only
the events the trail delivers (as Security Hub fails CloudWatch.7 when KMS events are left
out), and the trail controls need every read and write management event."""

from __future__ import annotations

import pytest

from evidence_assemblies import copy_assembly, edit_template, trail
from trail_validators.evidence.assembly import read_assembly
from trail_validators.evidence.report import build_report

STACK = "SecureTrail"
MANAGEMENT = {"Field": "eventCategory", "Equals": ["Management"]}
KMS_LEFT_OUT = [MANAGEMENT, {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}]


def report_with_management_selector(default_cdk_out, tmp_path, field_selectors=None, basic=None) -> dict:
    def change(resources):
        properties = trail(resources)
        if basic is not None:
            properties.pop("AdvancedEventSelectors")
            properties["EventSelectors"] = basic
        else:
            properties["AdvancedEventSelectors"][0]["FieldSelectors"] = field_selectors
    cdk_out = edit_template(copy_assembly(default_cdk_out, tmp_path / "cdk.out"), STACK, change)
    return {control.id: control for control in build_report(read_assembly(cdk_out)).controls}


def test_every_management_event_logged_satisfies_the_kms_monitoring_control(default_cdk_out):
    controls = {control.id: control for control in build_report(read_assembly(default_cdk_out)).controls}
    assert controls["CloudWatch.7"].status == controls["CloudWatch.4"].status == "satisfied"


def test_kms_events_left_out_leave_the_kms_controls_not_satisfied_saying_why(default_cdk_out, tmp_path):
    controls = report_with_management_selector(default_cdk_out, tmp_path, KMS_LEFT_OUT)
    for control_id in ("CloudWatch.7", "CIS.4.7"):
        assert controls[control_id].status == "not_satisfied"
        (evidence,) = controls[control_id].evidence
        assert "leaves out kms.amazonaws.com" in evidence.why and "exclude_sources" in evidence.why
    assert controls["CloudWatch.4"].status == "satisfied"  # IAM events still arrive
    assert controls["CloudTrail.1"].status == controls["CIS.3.1"].status == "not_satisfied"


def test_rds_data_events_left_out_touch_no_monitoring_control(default_cdk_out, tmp_path):
    controls = report_with_management_selector(
        default_cdk_out, tmp_path, [MANAGEMENT, {"Field": "eventSource", "NotEquals": ["rdsdata.amazonaws.com"]}])
    assert controls["CloudWatch.7"].status == "satisfied"
    assert controls["CloudTrail.1"].status == "not_satisfied"


@pytest.mark.parametrize("read_only", ["true", "false"])
def test_only_read_or_only_write_management_events_leave_every_monitoring_control_not_satisfied(
        default_cdk_out, tmp_path, read_only):
    controls = report_with_management_selector(
        default_cdk_out, tmp_path, [MANAGEMENT, {"Field": "readOnly", "Equals": [read_only]}])
    for control_id in ("CloudWatch.1", "CloudWatch.4", "CloudWatch.7"):
        assert controls[control_id].status == "not_satisfied"
        assert "readOnly" in controls[control_id].evidence[0].why
    assert controls["CloudTrail.1"].status == "not_satisfied"


def test_an_unknown_filter_on_the_management_selector_is_not_taken_as_delivering(default_cdk_out, tmp_path):
    controls = report_with_management_selector(
        default_cdk_out, tmp_path, [MANAGEMENT, {"Field": "eventSource", "StartsWith": ["iam"]}])
    assert controls["CloudWatch.4"].status == "not_satisfied"
    assert "cannot be told" in controls["CloudWatch.4"].evidence[0].why


def test_basic_event_selectors_excluding_kms_leave_cloudwatch_7_not_satisfied(default_cdk_out, tmp_path):
    controls = report_with_management_selector(default_cdk_out, tmp_path, basic=[
        {"IncludeManagementEvents": True, "ReadWriteType": "All",
         "ExcludeManagementEventSources": ["kms.amazonaws.com"]}])
    assert controls["CloudWatch.7"].status == "not_satisfied"
    assert controls["CloudWatch.4"].status == "satisfied"
