"""Every weakened copy of the default synth in ``evidence_weakenings.WEAKENINGS`` leaves the
control it breaks not satisfied (and each of those controls is satisfied unweakened)."""

from __future__ import annotations

import json

import pytest

from evidence_assemblies import copy_assembly, template_path
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
