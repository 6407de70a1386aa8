"""Any change to the synthesized templates shows up here, as a reviewer reads it: the default
single stack, and the every-option-on template of each shape (update with
--snapshot-update). The assertion tests pin the properties each part must have."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk.assertions import Template
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

ASSET_HASH = re.compile(r"[0-9a-f]{64}")
WIDTH = 120


def compact_json(value, indent: int = 0, prefix: int = 0) -> str:
    """Sorted JSON, each value on one line where it fits in WIDTH characters."""
    one_line = json.dumps(value, sort_keys=True)
    if indent + prefix + len(one_line) <= WIDTH or not isinstance(value, (dict, list)) or not value:
        return one_line
    pad = " " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(key)}: {compact_json(item, indent + 1, len(json.dumps(key)) + 2)}"
                 for key, item in sorted(value.items())]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    return "[\n" + ",\n".join(f"{pad}{compact_json(item, indent + 1)}" for item in value) + "\n" + " " * indent + "]"


class TemplateSnapshot(SingleFileSnapshotExtension):
    file_extension = "json"
    _write_mode = WriteMode.TEXT

    def serialize(self, data, **_options) -> str:
        return compact_json(json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(data)))) + "\n"


@pytest.fixture
def template_snapshot(snapshot):
    return snapshot.use_extension(TemplateSnapshot)


def test_the_default_template_matches_its_snapshot(template, template_snapshot):
    assert template.to_json() == template_snapshot


@pytest.mark.parametrize("stack", ["single", "organization_log_archive", "organization_trail"])
def test_every_option_on_template_matches_its_snapshot(stack, full_template, full_log_archive_template,
                                                       full_trail_template, template_snapshot):
    template: Template = {"single": full_template, "organization_log_archive": full_log_archive_template,
                          "organization_trail": full_trail_template}[stack]
    assert template.to_json() == template_snapshot
