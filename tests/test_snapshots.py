"""Any change to the synthesized templates shows up here (update with --snapshot-update)."""

import json
import re

import pytest
from aws_cdk.assertions import Template

ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def masked(template: Template) -> dict:
    return json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template.to_json(), sort_keys=True)))


@pytest.mark.parametrize("which", ["default", "every_option_on"])
def test_template_matches_snapshot(which, template, full_template, snapshot):
    assert masked(template if which == "default" else full_template) == snapshot
