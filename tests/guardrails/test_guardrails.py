"""The control policies, evaluated: the break-glass role passes, any other principal is
denied, unrelated resources and actions are untouched; attached, sized and nag-clean."""

import json

import pytest
from aws_cdk.assertions import Template

from secure_trail import NAG_PACKS
from secure_trail.names import deployment_names
from secure_trail.parts.guardrails import (SCP_MAX_CHARACTERS, GuardrailsProps, resource_control_policy,
                                           service_control_policy)
from secure_trail.props import SecureTrailConfigError
from secure_trail.shapes.organization import organization_stacks
from conftest import LOG_ARCHIVE_ACCOUNT, MANAGEMENT_ACCOUNT, ORG_ID, REGION, TRAIL_NAME, organization_props
from iam_eval import denied

BREAK_GLASS = f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/BreakGlass"
OTHER = "arn:aws:iam::333333333333:role/Admin"
TARGETS = ("r-ab12", "ou-ab12-cdefgh12")
NAMES = deployment_names(org_id=ORG_ID, trail_name=TRAIL_NAME, region=REGION,
                         management_account_id=MANAGEMENT_ACCOUNT, log_archive_account_id=LOG_ARCHIVE_ACCOUNT,
                         partition="aws")
SCP = service_control_policy(NAMES, BREAK_GLASS)
KEY_CONTEXT = {"kms:ResourceAliases": [NAMES.log_key_alias]}
KEY_ARN = f"arn:aws:kms:{REGION}:{LOG_ARCHIVE_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

PROTECTED = [
    ("cloudtrail:StopLogging", NAMES.trail_arn, {}),
    ("cloudtrail:PutEventSelectors", NAMES.trail_arn, {}),
    ("s3:DeleteObject", f"{NAMES.trail_bucket_arn}/AWSLogs/o-x/log.json.gz", {}),
    ("s3:PutLifecycleConfiguration", NAMES.trail_bucket_arn, {}),
    ("s3:DeleteBucketPolicy", NAMES.access_log_bucket_arn, {}),
    ("kms:ScheduleKeyDeletion", KEY_ARN, KEY_CONTEXT),
    ("kms:PutKeyPolicy", KEY_ARN, KEY_CONTEXT),
    ("lambda:PutFunctionConcurrency", f"arn:aws:lambda:{REGION}:{LOG_ARCHIVE_ACCOUNT}:function:{TRAIL_NAME}-x", {}),
    ("events:DisableRule", f"arn:aws:events:{REGION}:{LOG_ARCHIVE_ACCOUNT}:rule/{TRAIL_NAME}-x", {}),
    ("lambda:DeleteFunctionConcurrency", f"arn:aws:lambda:{REGION}:{LOG_ARCHIVE_ACCOUNT}:function:{TRAIL_NAME}-x", {}),
    ("sns:Unsubscribe", f"arn:aws:sns:{REGION}:{LOG_ARCHIVE_ACCOUNT}:{TRAIL_NAME}-alerts", {}),
    ("sns:SetTopicAttributes", f"arn:aws:sns:{REGION}:{LOG_ARCHIVE_ACCOUNT}:{TRAIL_NAME}-alerts", {}),
]


@pytest.mark.parametrize("action,resource,context", PROTECTED, ids=[p[0] for p in PROTECTED])
def test_any_other_principal_is_denied_and_the_break_glass_role_is_not(action, resource, context):
    assert denied(SCP, action, resource, {**context, "aws:PrincipalArn": OTHER})
    assert not denied(SCP, action, resource, {**context, "aws:PrincipalArn": BREAK_GLASS})


@pytest.mark.parametrize("action,resource,context", [
    ("cloudtrail:StopLogging", f"arn:aws:cloudtrail:{REGION}:{MANAGEMENT_ACCOUNT}:trail/other-trail", {}),
    ("s3:DeleteObject", "arn:aws:s3:::someone-elses-bucket/file", {}),
    ("kms:ScheduleKeyDeletion", KEY_ARN, {"kms:ResourceAliases": ["alias/other"]}),
    ("s3:GetObject", f"{NAMES.trail_bucket_arn}/AWSLogs/o-x/log.json.gz", {}),
    ("lambda:UpdateFunctionCode", f"arn:aws:lambda:{REGION}:{LOG_ARCHIVE_ACCOUNT}:function:app", {}),
    ("sns:DeleteTopic", f"arn:aws:sns:{REGION}:{LOG_ARCHIVE_ACCOUNT}:app-alerts", {}),
])
def test_unrelated_resources_and_actions_are_untouched(action, resource, context):
    assert not denied(SCP, action, resource, {**context, "aws:PrincipalArn": OTHER})


def test_the_rcp_denies_s3_and_kms_without_tls_but_not_aws_services():
    rcp = resource_control_policy()
    plain = {"aws:SecureTransport": "false", "aws:PrincipalIsAWSService": "false"}
    assert denied(rcp, "s3:GetObject", "arn:aws:s3:::any/key", plain)
    assert denied(rcp, "kms:Decrypt", KEY_ARN, plain)
    assert not denied(rcp, "s3:GetObject", "arn:aws:s3:::any/key", {**plain, "aws:SecureTransport": "true"})
    assert not denied(rcp, "s3:GetObject", "arn:aws:s3:::any/key", {**plain, "aws:PrincipalIsAWSService": "true"})


def test_the_scp_fits_the_size_limit_and_a_longer_one_is_refused(monkeypatch):
    assert len(json.dumps(SCP, separators=(",", ":"))) <= SCP_MAX_CHARACTERS
    monkeypatch.setattr("secure_trail.parts.guardrails.SCP_MAX_CHARACTERS", 100)
    with pytest.raises(SecureTrailConfigError, match="100-character limit"):
        service_control_policy(NAMES, BREAK_GLASS)


@pytest.mark.parametrize("props,field", [
    (GuardrailsProps(break_glass_role_arn="*", target_ids=TARGETS), "break_glass_role_arn"),
    (GuardrailsProps(break_glass_role_arn=BREAK_GLASS, target_ids=()), "target_ids"),
    (GuardrailsProps(break_glass_role_arn=BREAK_GLASS, target_ids=("123456789012",)), "target_ids"),
])
def test_bad_guardrails_props_are_refused_naming_the_field(props, field):
    with pytest.raises(SecureTrailConfigError, match=field):
        props.validate()


@pytest.fixture(scope="module")
def guarded_trail_stack():
    import aws_cdk as cdk
    from conftest import cdk_json_context
    app = cdk.App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []})
    return organization_stacks(app, props=organization_props(), region=REGION, guardrails=GuardrailsProps(
        break_glass_role_arn=BREAK_GLASS, target_ids=TARGETS, resource_control_policy=True))[1]


def test_the_policies_are_attached_to_the_targets(guarded_trail_stack):
    policies = Template.from_stack(guarded_trail_stack).find_resources("AWS::Organizations::Policy")
    by_type = {p["Properties"]["Type"]: p["Properties"] for p in policies.values()}
    assert set(by_type) == {"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"}
    assert all(p["TargetIds"] == list(TARGETS) for p in by_type.values())
    assert [s["Sid"] for s in by_type["SERVICE_CONTROL_POLICY"]["Content"]["Statement"]] == [
        s["Sid"] for s in SCP["Statement"]]


@pytest.mark.parametrize("pack", NAG_PACKS, ids=lambda p: p.__name__)
def test_the_guarded_trail_stack_is_nag_clean(pack, guarded_trail_stack):
    report = pack().validate_scope(guarded_trail_stack)
    assert [(v.rule_name, [r.resource_logical_id for r in v.violating_resources]) for v in report.violations] == []


def test_the_scp_denies_every_call_the_posture_watcher_treats_as_blinding_a_validator():
    from trail_validators.contract.weakening_calls import VALIDATOR_SOURCES, WEAKENING_CALLS
    (statement,) = [s for s in SCP["Statement"] if s["Sid"] == "ProtectValidators"]
    assert set(statement["Action"]) == {c.iam_action for source in VALIDATOR_SOURCES
                                        for c in WEAKENING_CALLS[source].values()}


def test_the_scp_protects_every_validator_rule_of_a_60_character_trail_name():
    """The rules keep ``contract.rule_prefix`` however long the trail's name; the SCP names it."""
    from secure_trail.contract import rule_name
    trail_name = "org-trail-" + "x" * 50
    names = deployment_names(org_id=ORG_ID, trail_name=trail_name, region=REGION,
                             management_account_id=MANAGEMENT_ACCOUNT, log_archive_account_id=LOG_ARCHIVE_ACCOUNT,
                             partition="aws")
    scp = service_control_policy(names, BREAK_GLASS)
    for role in ("digest-planner", "digest-planner-revalidation", "posture-watcher-statemachinecalls"):
        rule = f"arn:aws:events:{REGION}:{LOG_ARCHIVE_ACCOUNT}:rule/{rule_name(trail_name, role)}"
        assert denied(scp, "events:DisableRule", rule, {"aws:PrincipalArn": OTHER}), rule
        assert not denied(scp, "events:DisableRule", rule, {"aws:PrincipalArn": BREAK_GLASS}), rule
