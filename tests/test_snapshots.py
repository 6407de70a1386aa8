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


@pytest.mark.parametrize("which", ["log_archive", "trail", "log_archive_every_option_on", "trail_every_option_on"])
def test_organization_templates_match_snapshot(which, log_archive_template, trail_template,
                                               full_log_archive_template, full_trail_template, snapshot):
    """The organization shape: the Log Archive stack and the Trail stack."""
    template = {"log_archive": log_archive_template, "trail": trail_template,
                "log_archive_every_option_on": full_log_archive_template,
                "trail_every_option_on": full_trail_template}[which]
    assert masked(template) == snapshot
