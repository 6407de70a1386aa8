"""Random weakenings of the default synth never leave the control they break reported
satisfied: drop or narrow a load-bearing statement, add a condition that makes a deny
never match, flip or stringify a Boolean, wrap a value in an intrinsic, add a second
policy resource, or give a resource a Condition that is not provably true."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from evidence_assemblies import bucket_id, bucket_policy, of_type, trail, trail_key
from trail_validators.contract import DigestMetrics
from trail_validators.evidence.assembly import Assembly, read_assembly
from trail_validators.evidence.report import build_report

STACK = "SecureTrail"
FALSE_FORMS = [False, "false", "False", "FALSE"]
UNDECIDED_PARAMETER = "Undecided"
"""A parameter without a default: nothing in the template says what a deploy gets."""


@dataclasses.dataclass(frozen=True)
class Weakened:
    control: str
    what: str
    change: object

    def __repr__(self) -> str:
        return f"{self.control}: {self.what}"


class Base:
    def __init__(self, assembly: Assembly):
        self.assembly = assembly

    def __repr__(self) -> str:
        return "<default synth>"


@pytest.fixture(scope="module")
def base(default_cdk_out) -> Base:
    return Base(read_assembly(default_cdk_out))


def _report(base: Base, template: dict) -> dict[str, str]:
    base = base.assembly
    stacks = tuple(dataclasses.replace(stack, resources=template["Resources"], conditions=template["Conditions"],
                                       parameters=template["Parameters"]) if stack.name == STACK else stack
                   for stack in base.stacks)
    assembly = Assembly(directory=base.directory, stacks=stacks, nag_report=base.nag_report)
    return {control.id: control.status for control in build_report(assembly).controls}


def _template(base: Base) -> dict:
    (stack,) = [stack for stack in base.assembly.stacks if stack.name == STACK]
    return copy.deepcopy({"Resources": stack.resources, "Conditions": stack.conditions,
                          "Parameters": stack.parameters})


# Statements the controls rest on: (control, where the statement list is, how to find the statement).
def _deny(key: str, role: str):
    def find(resources):
        statements = bucket_policy(resources, role)["Statement"]
        return statements, next(i for i, s in enumerate(statements)
                                if s.get("Effect") == "Deny" and key in json.dumps(s.get("Condition")))
    return find


def _topic_deny(resources):
    (policy,) = [body for body in of_type(resources, "AWS::SNS::TopicPolicy")
                 if "Delivery" in json.dumps(body["Properties"]["Topics"])]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements, next(i for i, s in enumerate(statements) if s.get("Effect") == "Deny")


def _logging_grant(resources):
    statements = bucket_policy(resources, "access_log")["Statement"]
    return statements, next(i for i, s in enumerate(statements)
                            if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"})


def _cloudtrail_encrypt(resources):
    statements = trail_key(resources)["KeyPolicy"]["Statement"]
    return statements, next(i for i, s in enumerate(statements) if "aws:cloudtrail:arn" in json.dumps(s))


DENIES = [("S3.5", _deny("aws:SecureTransport", "trail"), "aws:SecureTransport"),
          ("S3.5", _deny("aws:SecureTransport", "access_log"), "aws:SecureTransport"),
          ("ST.3", _deny("s3:TlsVersion", "trail"), "s3:TlsVersion"),
          ("ST.4", _topic_deny, "aws:SecureTransport")]
LOAD_BEARING = [(control, find) for control, find, _ in DENIES] + [("ST.5", _logging_grant),
                                                                      ("ST.2", _cloudtrail_encrypt)]
NARROWING_CONDITIONS = [{"StringEquals": {"aws:PrincipalAccount": "999999999999"}},
                        {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
                        {"StringLike": {"aws:userid": "AIDA*"}}]
CONTRADICTIONS = {"aws:SecureTransport": [{"StringEquals": {"aws:SecureTransport": "never"}},
                                          {"Null": {"aws:SecureTransport": "true"}},
                                          {"Bool": {"aws:SecureTransport": "true"}}],
                  "s3:TlsVersion": [{"NumericGreaterThan": {"s3:TlsVersion": 9}},
                                    {"NumericLessThan": {"s3:TlsVersion": 1.0}},
                                    {"Null": {"s3:TlsVersion": "true"}}]}


def drop_statement(draw):
    control, find = draw(st.sampled_from(LOAD_BEARING))

    def change(template):
        statements, index = find(template["Resources"])
        del statements[index]
    return Weakened(control, f"drop the statement {find.__name__}", change)


def narrow_statement(draw):
    control, find, _ = draw(st.sampled_from(DENIES))
    how = draw(st.sampled_from(["condition", "principal", "action", "resource", "if-exists", "not-action"]))
    extra = draw(st.sampled_from(NARROWING_CONDITIONS))

    def change(template):
        statements, index = find(template["Resources"])
        statement = statements[index]
        if how == "condition":
            for operator, entries in extra.items():
                statement["Condition"].setdefault(operator, {}).update(entries)
        elif how == "principal":
            statement["Principal"] = {"AWS": "arn:aws:iam::999999999999:root"}
        elif how == "action":
            statement["Action"] = "sns:Subscribe" if control == "ST.4" else "s3:GetObject"
        elif how == "resource":
            resource = statement["Resource"]
            statement["Resource"] = resource[0] if isinstance(resource, list) else {"Ref": "AWS::NoValue"}
        elif how == "if-exists":
            statement["Condition"] = {f"{operator}IfExists": entries
                                      for operator, entries in statement["Condition"].items()}
        else:
            statement["NotAction"] = statement.pop("Action")
    return Weakened(control, f"narrow a deny ({how}, {extra})", change)


def add_condition(draw):
    control, find, key = draw(st.sampled_from(DENIES))
    contradiction = draw(st.sampled_from(CONTRADICTIONS[key]))

    def change(template):
        statements, index = find(template["Resources"])
        condition = statements[index]["Condition"]
        for operator, entries in contradiction.items():
            if operator in condition:
                condition[operator] = {**condition[operator], **entries}
            else:
                condition[operator] = entries
    return Weakened(control, f"add {contradiction}", change)


def _alarm(resources):
    (alarm,) = [body for body in of_type(resources, "AWS::CloudWatch::Alarm")
                if body["Properties"].get("MetricName") == DigestMetrics.TAMPERING_FINDINGS.name]
    return alarm["Properties"]


BOOLEANS = [("CIS.3.1", lambda r: trail(r), "IsMultiRegionTrail"),
            ("CIS.3.2", lambda r: trail(r), "EnableLogFileValidation"),
            ("CloudTrail.3", lambda r: trail(r), "IsLogging"),
            ("CIS.3.1", lambda r: trail(r), "IsLogging"),
            ("ST.8", lambda r: trail(r), "IsOrganizationTrail"),
            ("ST.8", lambda r: trail(r), "IncludeGlobalServiceEvents"),
            ("KMS.4", lambda r: trail_key(r), "EnableKeyRotation"),
            ("ST.6", _alarm, "ActionsEnabled"),
            *[("S3.8", lambda r: r[bucket_id(r, "trail")]["Properties"]["PublicAccessBlockConfiguration"], name)
              for name in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")]]


def flip_boolean(draw):
    control, holder, name = draw(st.sampled_from(BOOLEANS))
    value = draw(st.sampled_from(FALSE_FORMS + ["no", 0, None]))

    def change(template):
        holder(template["Resources"])[name] = value
    return Weakened(control, f"{name} = {value!r}", change)


def _intrinsic(draw):
    return draw(st.sampled_from([
        {"Ref": UNDECIDED_PARAMETER},
        {"Fn::If": ["UndecidedCondition", True, False]},
        {"Fn::Select": [0, [True]]},
        {"Fn::ImportValue": "elsewhere"}]))


INTRINSIC_TARGETS = [*BOOLEANS,
                     ("ST.13", lambda r: r[bucket_id(r, "trail")]["Properties"]["LifecycleConfiguration"]["Rules"][0],
                      "ExpirationInDays"),
                     ("S3.5", lambda r: _deny("aws:SecureTransport", "trail")(r)[0][
                         _deny("aws:SecureTransport", "trail")(r)[1]]["Condition"]["Bool"], "aws:SecureTransport")]


def wrap_in_intrinsic(draw):
    control, holder, name = draw(st.sampled_from(INTRINSIC_TARGETS))
    intrinsic = _intrinsic(draw)

    def change(template):
        holder(template["Resources"])[name] = copy.deepcopy(intrinsic)
    return Weakened(control, f"{name} = {intrinsic}", change)


def second_policy(draw):
    target = draw(st.sampled_from(["trail", "access_log", "topic"]))
    content = draw(st.sampled_from(["copy", "no denies", "empty"]))
    kind = draw(st.sampled_from(["AWS::SNS::TopicPolicy", "AWS::SNS::TopicInlinePolicy"]))
    named = draw(st.sampled_from(["ref", "parameter", "import", "undecided condition"]))

    def change(template):
        resources = template["Resources"]
        if target == "topic":
            statements, _ = _topic_deny(resources)
            (topic_id,) = [lid for lid, body in resources.items() if body["Type"] == "AWS::SNS::Topic"
                           and body["Properties"]["TopicName"].endswith("delivery")]
            reference = _named(named, topic_id)
            attach = {"Topics": [reference]} if kind == "AWS::SNS::TopicPolicy" else {"TopicArn": reference}
            resource_type = kind
        else:
            statements = bucket_policy(resources, target)["Statement"]
            attach, resource_type = {"Bucket": _named(named, bucket_id(resources, target))}, "AWS::S3::BucketPolicy"
        kept = copy.deepcopy(statements) if content == "copy" else \
            [copy.deepcopy(s) for s in statements if s.get("Effect") != "Deny"] if content == "no denies" else []
        resources[f"SecondPolicy{len(resources)}"] = {"Type": resource_type, "Properties": {
            **attach, "PolicyDocument": {"Version": "2012-10-17", "Statement": kept}},
            **({"Condition": "UndecidedCondition"} if named == "undecided condition" else {})}
    return Weakened("ST.4" if target == "topic" else "S3.5", f"second {kind if target == 'topic' else 'bucket policy'} "
                    f"on {target} ({content}, {named})", change)


def _named(how: str, logical_id: str) -> dict:
    """How a second policy names what it attaches to: by Ref, or by something the report
    cannot resolve (it may be this bucket or topic)."""
    return {"parameter": {"Ref": UNDECIDED_PARAMETER}, "import": {"Fn::ImportValue": "elsewhere"}}.get(
        how, {"Ref": logical_id})


def _topic_policy_id(resources):
    return next(lid for lid, body in resources.items() if body["Type"] == "AWS::SNS::TopicPolicy"
                and "Delivery" in json.dumps(body["Properties"]["Topics"]))


CONDITIONED = [("CIS.3.1", lambda r: next(lid for lid, b in r.items() if b["Type"] == "AWS::CloudTrail::Trail")),
               ("S3.5", lambda r: next(lid for lid, b in r.items() if b["Type"] == "AWS::S3::BucketPolicy"
                                       and b["Properties"]["Bucket"] == {"Ref": bucket_id(r, "trail")})),
               ("CIS.3.5", lambda r: trail(r)["KMSKeyId"]["Fn::GetAtt"][0]),
               ("ST.4", _topic_policy_id),
               ("S3.13", lambda r: bucket_id(r, "trail")),
               ("ST.6", lambda r: next(lid for lid, b in r.items() if b["Type"] == "AWS::CloudWatch::Alarm"
                                       and b["Properties"].get("MetricName") == DigestMetrics.TAMPERING_FINDINGS.name))]
UNPROVEN = [{"Fn::Equals": ["a", "b"]},
            {"Fn::Not": [{"Fn::Equals": ["same", "same"]}]},
            {"Fn::And": [{"Fn::Equals": ["a", "a"]}, {"Fn::Equals": ["a", "b"]}]},
            {"Fn::Equals": [{"Ref": UNDECIDED_PARAMETER}, "yes"]},
            {"Fn::Equals": [{"Ref": "WithDefault"}, "yes"]},
            {"Fn::Equals": [{"Ref": "WithDefault"}, "no"]},  # true only until a deploy passes another value
            {"Fn::Or": [{"Condition": "Loop"}, {"Fn::Equals": ["a", "b"]}]}]


def false_condition(draw):
    control, locate = draw(st.sampled_from(CONDITIONED))
    expression = draw(st.sampled_from(UNPROVEN))

    def change(template):
        template["Conditions"]["Weakened"] = copy.deepcopy(expression)
        template["Resources"][locate(template["Resources"])]["Condition"] = "Weakened"
    return Weakened(control, f"Condition {expression} on {locate.__name__}", change)


KINDS = [drop_statement, narrow_statement, add_condition, flip_boolean, wrap_in_intrinsic, second_policy,
         false_condition]


@st.composite
def weakenings(draw):
    return [draw(st.sampled_from(KINDS))(draw) for _ in range(draw(st.integers(1, 2)))]


def _context(template: dict) -> None:
    template["Conditions"] = {**template["Conditions"], "Loop": {"Condition": "Loop"},
                              "UndecidedCondition": {"Fn::Equals": [{"Ref": UNDECIDED_PARAMETER}, "x"]}}
    template["Parameters"] = {**template["Parameters"], UNDECIDED_PARAMETER: {"Type": "String"},
                              "WithDefault": {"Type": "String", "Default": "no"}}


def test_the_default_synth_satisfies_every_control_the_weakenings_break(base):
    template = _template(base)
    _context(template)
    found = _report(base, template)
    targets = {c for c, *_ in LOAD_BEARING + BOOLEANS + INTRINSIC_TARGETS + CONDITIONED} | {"S3.5", "ST.4"}
    assert {c: found[c] for c in targets} == {c: "satisfied" for c in targets}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(applied=weakenings())
def test_a_randomly_weakened_template_never_reports_the_broken_control_satisfied(base, applied):
    template = _template(base)
    _context(template)
    for weakening in applied:
        try:
            weakening.change(template)
        except (LookupError, StopIteration, ValueError):
            assume(False)  # an earlier weakening removed what this one edits
    found = _report(base, template)
    assert {w.control: found[w.control] for w in applied} == {w.control: "not_satisfied" for w in applied}
