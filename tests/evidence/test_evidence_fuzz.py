"""Whatever a template holds where a value should be, the report is built, rendered and
compared without an exception: a malformed property is evidence that fails, never a crash."""

from __future__ import annotations

import copy
import json
import random

import pytest

from trail_validators.evidence.assembly import Assembly, Stack
from trail_validators.evidence.compare import property_changes, status_changes
from trail_validators.evidence.render_html import render_html
from trail_validators.evidence.render_markdown import render_markdown
from trail_validators.evidence.report import build_report

REPLACEMENTS = [None, True, False, 0, -1, 1.2, "", "*", "true", "<b>\x00\ufffe", [], {}, [None], [[]], {"Ref": "Nope"},
                {"Ref": None}, {"Ref": []}, {"Fn::GetAtt": 5}, {"Fn::GetAtt": []}, {"Fn::GetAtt": [[], {}]},
                {"Fn::Join": ["", [1]]}, {"Fn::Join": [None, None]}, {"Fn::Join": "x"}, [{"a": 1}], {"Type": []}]
ROUNDS = 300


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, path + (index,))


def _replace(resources, path, replacement) -> None:
    target = resources
    for step in path[:-1]:
        if not isinstance(target, (dict, list)) or (isinstance(target, list) and not isinstance(step, int)):
            return
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(target, dict) and isinstance(path[-1], str) or \
            isinstance(target, list) and isinstance(path[-1], int) and path[-1] < len(target):
        target[path[-1]] = copy.deepcopy(replacement)


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["default", "organization"])
def test_malformed_template_values_never_crash_the_report(shape, request):
    cdk_out = request.getfixturevalue(f"{shape}_cdk_out")
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    stacks = [name for name, artifact in manifest["artifacts"].items()
              if artifact["type"] == "aws:cloudformation:stack"]
    originals = {name: json.loads((cdk_out / f"{name}.template.json").read_text())["Resources"] for name in stacks}
    original = Assembly("old", tuple(Stack(name, "", "", originals[name]) for name in stacks), None)
    old_report = build_report(original)
    rng = random.Random(16)
    paths = {name: [path for path in _paths(originals[name]) if len(path) >= 2] for name in stacks}
    for _ in range(ROUNDS):
        templates = copy.deepcopy(originals)
        for _ in range(rng.randint(1, 5)):
            name = rng.choice(stacks)
            _replace(templates[name], rng.choice(paths[name]), rng.choice(REPLACEMENTS))
        assembly = Assembly("new", tuple(Stack(name, "", "", templates[name]) for name in stacks), None)
        report = build_report(assembly)
        render_html(report)
        render_markdown(report)
        json.dumps(report.to_dict())
        status_changes(old_report, report)
        property_changes(original, assembly)
