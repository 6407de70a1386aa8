"""``organization_stacks`` configured as ``SecureTrail`` is: by keyword arguments, the
halves with the ``metric_*`` methods of the validators each runs."""

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template

from conftest import LOG_ARCHIVE_ACCOUNT, MANAGEMENT_ACCOUNT, ORG_ID, REGION, TRAIL_NAME, cdk_json_context
from secure_trail import LogArchiveStack, SecureTrailConfigError, TrailStack, organization_stacks
from secure_trail.monitoring import NO_ALERT_SUBSCRIPTIONS

KEYWORDS = {"org_id": ORG_ID, "trail_name": TRAIL_NAME, "log_archive_account_id": LOG_ARCHIVE_ACCOUNT,
            "management_account_id": MANAGEMENT_ACCOUNT}


def app() -> cdk.App:
    return cdk.App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []})


@pytest.fixture(scope="module")
def keyword_stacks() -> tuple[LogArchiveStack, TrailStack]:
    return organization_stacks(app(), region=REGION, **KEYWORDS)


def test_keyword_arguments_synthesize_the_same_two_stacks_as_a_props_object(keyword_stacks, org_stacks):
    assert [s.stack_name for s in keyword_stacks] == [s.stack_name for s in org_stacks]
    for by_keywords, by_props in zip(keyword_stacks, org_stacks):
        assert Template.from_stack(by_keywords).to_json() == Template.from_stack(by_props).to_json()
    assert (keyword_stacks[0].account, keyword_stacks[1].account) == (LOG_ARCHIVE_ACCOUNT, MANAGEMENT_ACCOUNT)


def test_without_subscriptions_both_stacks_warn_with_the_id_to_acknowledge(keyword_stacks):
    for stack in keyword_stacks:
        warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(NO_ALERT_SUBSCRIPTIONS))
        assert warnings, stack.stack_name


def test_keywords_beside_props_unknown_keywords_or_no_org_id_are_refused(org_stacks):
    props = org_stacks[0].log_archive.props
    with pytest.raises(TypeError, match="either props or keyword arguments"):
        organization_stacks(app(), props, region=REGION, trail_name="other")
    with pytest.raises(TypeError, match="unexpected keyword argument log_archive_acount_id"):
        organization_stacks(app(), region=REGION, **{**KEYWORDS, "log_archive_acount_id": "1"})
    with pytest.raises(TypeError, match="missing the keyword argument org_id"):
        organization_stacks(app(), region=REGION, log_archive_account_id=LOG_ARCHIVE_ACCOUNT)


def test_keyword_arguments_are_validated_like_props():
    with pytest.raises(SecureTrailConfigError, match="log_archive_account_id"):
        organization_stacks(app(), region=REGION, **{**KEYWORDS, "log_archive_account_id": "2222"})


def test_the_log_archive_half_has_the_log_validators_metrics_and_the_trail_half_the_posture_metric(keyword_stacks):
    log_archive, trail = keyword_stacks[0].log_archive, keyword_stacks[1].org_trail
    alarmed = {a["Properties"].get("MetricName")
               for a in Template.from_stack(keyword_stacks[0]).find_resources("AWS::CloudWatch::Alarm").values()}
    assert {log_archive.metric_tampering_findings().metric_name,
            log_archive.metric_non_tls_successes().metric_name} <= alarmed
    assert log_archive.metric_posture_findings().metric_name == trail.metric_posture_findings().metric_name
    assert not hasattr(trail, "metric_tampering_findings")  # no digest validator in the trail's account


def test_the_metric_of_a_validator_switched_off_is_an_error_in_either_half():
    log_archive, trail = organization_stacks(app(), region=REGION, watch_posture=False, validate_digests=False,
                                             **KEYWORDS)
    with pytest.raises(SecureTrailConfigError, match="watch_posture"):
        trail.org_trail.metric_posture_findings()
    with pytest.raises(SecureTrailConfigError, match="validate_digests"):
        log_archive.log_archive.metric_chain_gaps()
