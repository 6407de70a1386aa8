"""cfn-lint finds no error and no warning in the synthesized templates."""

import json

import pytest
from cfnlint.api import lint

from conftest import REGION


@pytest.mark.parametrize("which", ["default", "every_option_on", "log_archive", "trail",
                                   "log_archive_every_option_on", "trail_every_option_on"])
def test_templates_have_no_cfn_lint_errors_or_warnings(which, request):
    synthesized = request.getfixturevalue({
        "default": "template", "every_option_on": "full_template", "log_archive": "log_archive_template",
        "trail": "trail_template", "log_archive_every_option_on": "full_log_archive_template",
        "trail_every_option_on": "full_trail_template"}[which])
    matches = lint(json.dumps(synthesized.to_json()), regions=[REGION])
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches
            if m.rule.id[0] in "EW"] == []


def test_cfn_lint_does_report_a_redundant_depends_on():
    """The empty list above means something: this cfn-lint flags what the templates had."""
    redundant = {"Resources": {
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Queue": {"Type": "AWS::SQS::Queue", "DependsOn": ["Topic"],
                  "Properties": {"QueueName": {"Fn::GetAtt": ["Topic", "TopicName"]}}}}}
    assert "W3005" in {m.rule.id for m in lint(json.dumps(redundant), regions=[REGION])}
