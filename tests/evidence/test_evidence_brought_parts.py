"""A trail that uses a bucket, key, topic and log group the assembly does not hold: the
report judges what it can see and calls every control that rests on a brought part not
applicable, with the part named; it never reports one satisfied by assumption, and a part
named but not handed over is missing, not brought."""

from __future__ import annotations

import dataclasses
import json

import pytest

from conftest import DEPLOY_ACCOUNT, REGION
from shape_fixtures import BROUGHT_BUCKET as BUCKET
from shape_fixtures import BROUGHT_KEY_ARN as KEY_ARN
from shape_fixtures import BROUGHT_LOG_GROUP as LOG_GROUP
from shape_fixtures import BROUGHT_TOPIC_ARN as TOPIC_ARN
from trail_validators.contract.handover import HANDOVER_PARTS, handover_output_id
from trail_validators.evidence.assembly import Assembly, read_assembly
from trail_validators.evidence.checks import CHECKS
from trail_validators.evidence.controls import CONTROLS
from trail_validators.evidence.model import NotApplicable
from trail_validators.evidence.report import build_report

NAMES = {"bucket": BUCKET, "key": KEY_ARN, "topic": TOPIC_ARN, "log-group": LOG_GROUP}


@pytest.fixture(scope="module")
def brought(brought_parts) -> Assembly:
    return read_assembly(brought_parts[1])


def results(assembly: Assembly) -> dict:
    return {control.id: control for control in build_report(assembly).controls}


def edited(assembly: Assembly, change) -> Assembly:
    (stack,) = assembly.stacks
    template = json.loads(json.dumps({"Resources": stack.resources, "Outputs": stack.outputs}))
    change(template)
    stacks = (dataclasses.replace(stack, resources=template["Resources"], outputs=template["Outputs"]),)
    return Assembly(directory=assembly.directory, stacks=stacks, nag_report=assembly.nag_report)


def test_no_control_on_a_brought_part_is_satisfied_and_each_names_the_part(brought):
    found = results(brought)
    on_brought = [control for control in CONTROLS if control.parts]
    assert {part for control in on_brought for part in control.parts} == set(HANDOVER_PARTS)
    assert {c.id: found[c.id].status for c in on_brought} == {c.id: "not_applicable" for c in on_brought}
    for control in on_brought:
        if not isinstance(CHECKS[control.check](brought, **control.args), NotApplicable):  # else its own reason
            assert any(NAMES[part] in found[control.id].reason for part in control.parts), control.id


def test_what_the_assembly_shows_is_still_judged(brought):
    found = results(brought)
    assert found["CloudTrail.5"].status == found["CIS.3.2"].status == found["ST.8"].status == "satisfied"
    assert [c.id for c in found.values() if c.status == "not_satisfied"] == []


def test_a_visible_failure_beside_a_brought_part_is_not_satisfied(brought):
    """The trail key is brought, but the validator-state key is the stack's own: KMS.4 judges it."""
    def no_rotation(template):
        for body in template["Resources"].values():
            if body["Type"] == "AWS::KMS::Key":
                body["Properties"]["EnableKeyRotation"] = False
    assert results(edited(brought, no_rotation))["KMS.4"].status == "not_satisfied"


@pytest.mark.parametrize("part, control_id", [("bucket", "S3.5"), ("key", "CIS.3.5"), ("topic", "ST.4")])
def test_a_part_named_but_not_handed_over_is_missing_not_brought(brought, part, control_id):
    """A trail pointed at a bucket, key or topic elsewhere that the stack does not hand over
    is a weakening (the trail writes somewhere the deployment does not control)."""
    def drop(template):
        del template["Outputs"][handover_output_id(part)]
    assert results(edited(brought, drop))[control_id].status == "not_satisfied"


def test_a_log_group_no_metric_filter_watches_is_missing_not_brought(brought):
    def elsewhere(template):
        for body in template["Resources"].values():
            if body["Type"] == "AWS::CloudTrail::Trail":
                body["Properties"]["CloudWatchLogsLogGroupArn"] = (
                    f"arn:aws:logs:{REGION}:{DEPLOY_ACCOUNT}:log-group:somewhere-else:*")
    assert results(edited(brought, elsewhere))["CIS.4.3"].status == "not_satisfied"
