"""Typed advanced event selectors and Insights types: what CloudTrail refuses fails at
synth naming the selector, the field and the fix; what it accepts reaches the trail."""

import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from conftest import default_props
from secure_trail import (AdvancedEventSelector, FieldSelector, InsightType, ManagementEventSources, SecureTrail,
                          SecureTrailConfigError, data_events, management_events)

MANAGEMENT = FieldSelector("eventCategory", equals=["Management"])


def invalid(**overrides):
    with pytest.raises(SecureTrailConfigError) as raised:
        default_props(**overrides).validate()
    return str(raised.value)


@pytest.mark.parametrize(("selectors", "names"), [
    ([], ["exactly one management_events"]),
    ([data_events("AWS::S3::Object")], ["exactly one management_events"]),
    ([management_events(), management_events(read_only=True)], ["2 management selectors", "combine"]),
    (management_events(), ["a list of AdvancedEventSelector"]),
    (["Management"], ["advanced_event_selectors[0]", "an AdvancedEventSelector"]),
    ([AdvancedEventSelector([FieldSelector("readOnly", equals=["true"])])], ["eventCategory field selector"]),
    ([AdvancedEventSelector([FieldSelector("eventCategory", equals=["Insight"])])], ["'Management' or 'Data'"]),
    ([AdvancedEventSelector([FieldSelector("eventCategory", not_equals=["Data"])])],
     ["only the equals operator on eventCategory"]),
    ([AdvancedEventSelector([MANAGEMENT, FieldSelector("eventSource", not_equals=["s3.amazonaws.com"])])],
     ["eventSource", "kms.amazonaws.com, rdsdata.amazonaws.com"]),
    ([AdvancedEventSelector([MANAGEMENT, FieldSelector("eventSource", equals=["kms.amazonaws.com"])])],
     ["eventSource", "not_equals"]),
    ([AdvancedEventSelector([MANAGEMENT, FieldSelector("eventName", equals=["PutObject"])])],
     ["field: 'eventName'", "eventCategory, readOnly, eventSource in a Management"]),
    ([AdvancedEventSelector([MANAGEMENT, FieldSelector("readOnly", equals=["yes"])])], ["readOnly", "['true']"]),
    ([AdvancedEventSelector([MANAGEMENT, FieldSelector("readOnly")])], ["at least one operator"]),
    ([AdvancedEventSelector([MANAGEMENT, MANAGEMENT])], ["each field once"]),
    ([AdvancedEventSelector([])], ["at least the eventCategory"]),
    ([management_events(), AdvancedEventSelector([FieldSelector("eventCategory", equals=["Data"])])],
     ["advanced_event_selectors[1] resources.type", "exactly one resource type"]),
    ([management_events(), data_events("AWS::S3::Object", event_names=[""])], ["strings of 1-2048"]),
    ([management_events(), data_events("AWS::S3::Object", arn_starts_with=[f"arn:aws:s3:::b{n}/" for n in range(500)])],
     ["at most 500 values"]),
    ([management_events(name="")], ["name", "1-1000"]),
])
def test_a_selector_cloudtrail_refuses_fails_naming_what_to_change(selectors, names):
    message = invalid(advanced_event_selectors=selectors)
    assert "advanced_event_selectors" in message
    for name in names:
        assert name in message, message


@pytest.mark.parametrize(("overrides", "names"), [
    ({"insight_types": ["ApiCallRateInsight"]}, ["insight_types", "InsightType values"]),
    ({"insight_types": InsightType.API_CALL_RATE}, ["a list of InsightType"]),
    ({"insight_types": [InsightType.API_ERROR_RATE] * 2}, ["each InsightType once"]),
    ({"insight_types": [InsightType.API_ERROR_RATE], "insights": True}, ["insights", "pass one of the two"]),
    ({"insight_types": [InsightType.API_CALL_RATE], "advanced_event_selectors": [management_events(read_only=True)]},
     ["write management events"]),
])
def test_bad_insight_types_fail_naming_what_to_change(overrides, names):
    message = invalid(**overrides)
    for name in names:
        assert name in message, message


def test_the_helpers_build_selectors_cloudtrail_accepts():
    default_props(advanced_event_selectors=[
        management_events(exclude_sources=[ManagementEventSources.KMS, "rdsdata.amazonaws.com"]),
        data_events("AWS::DynamoDB::Table", read_only=False),
        data_events("AWS::S3::Object", event_names=["GetObject"], arn_starts_with=["arn:aws:s3:::shared/"])],
        insight_types=[InsightType.API_ERROR_RATE]).validate()
    assert management_events(exclude_sources=[ManagementEventSources.KMS]).excluded_sources == ("kms.amazonaws.com",)


@pytest.fixture(scope="module")
def selector_template() -> dict:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "S", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    SecureTrail(stack, "Trail", org_id="o-a1b2c3d4e5", trail_name="org-trail", insight_types=[
        InsightType.API_ERROR_RATE], lambda_data_events=True, advanced_event_selectors=[
        management_events(exclude_sources=[ManagementEventSources.KMS]),
        data_events("AWS::S3::Object", read_only=False, arn_not_starts_with=["arn:aws:s3:::scratch/"]),
        data_events("AWS::DynamoDB::Table")])
    (trail,) = Template.from_stack(stack).find_resources("AWS::CloudTrail::Trail").values()
    return trail["Properties"]


def _fields(selector: dict) -> dict[str, dict]:
    return {f["Field"]: {k: v for k, v in f.items() if k != "Field"} for f in selector["FieldSelectors"]}


def test_the_trail_logs_exactly_the_selectors_given_and_those_the_flags_add(selector_template):
    selectors = selector_template["AdvancedEventSelectors"]
    assert [s["Name"] for s in selectors] == ["Management events except kms.amazonaws.com",
                                              "AWS::S3::Object data events", "AWS::DynamoDB::Table data events",
                                              "Lambda invoke data events"]
    assert _fields(selectors[0]) == {"eventCategory": {"Equals": ["Management"]},
                                     "eventSource": {"NotEquals": ["kms.amazonaws.com"]}}
    assert _fields(selectors[2]) == {"eventCategory": {"Equals": ["Data"]},
                                     "resources.type": {"Equals": ["AWS::DynamoDB::Table"]}}
    assert selector_template["InsightSelectors"] == [{"InsightType": "ApiErrorRateInsight"}]


def test_an_s3_object_selector_given_still_leaves_out_both_log_buckets(selector_template):
    arn = _fields(selector_template["AdvancedEventSelectors"][1])["resources.ARN"]
    prefixes = json.dumps(arn["NotStartsWith"])
    assert arn["NotStartsWith"][0] == "arn:aws:s3:::scratch/" and len(arn["NotStartsWith"]) == 3
    assert len(re.findall(r"TrailLogs|AccessLogs", prefixes)) == 2, prefixes
