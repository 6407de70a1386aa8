"""The construct's API as Python CDK users expect it: keyword props, typed attributes,
grant_read_logs and metric_*() methods."""

from __future__ import annotations

import inspect
from dataclasses import fields

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

import secure_trail
from access_log_samples import access_log_line, plain_http_line
from conftest import DEPLOY_ACCOUNT, MANAGEMENT_ACCOUNT, ORG_ID, REGION, TRAIL_ARN, TRAIL_NAME, cdk_json_context
from conftest import SINGLE_STACK_TRAIL_BUCKET, policy_statements, reader_decrypt_conditions
from secure_trail import SecureTrail, SecureTrailConfigError, SecureTrailProps

CONTEXT_KEY = "kms:EncryptionContext:aws:cloudtrail:arn"
BUCKET = "<SecureTrailTrailLogsBucket3FF63E8C.Arn>"
KEY = "<SecureTrailKey7D49E834.Arn>"


def stack() -> cdk.Stack:
    app = cdk.App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []})
    return cdk.Stack(app, "App", env=cdk.Environment(account=DEPLOY_ACCOUNT, region=REGION))


def keyword_trail(scope: cdk.Stack, **overrides) -> SecureTrail:
    return SecureTrail(scope, "SecureTrail", **{"org_id": ORG_ID, "trail_name": TRAIL_NAME,
                                                "management_account_id": MANAGEMENT_ACCOUNT, **overrides})


def test_the_keyword_arguments_are_the_props_fields_in_order():
    keywords = [p.name for p in inspect.signature(SecureTrail.__init__).parameters.values()
                if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert keywords == [f.name for f in fields(SecureTrailProps)]


def test_keyword_arguments_and_a_props_object_synthesize_the_same_template():
    options = {"s3_key_prefix": "org/trail", "insights": True, "log_reader_arns": ("arn:aws:iam::222222222222:role/R",),
               "audit_access_logs": False}
    by_keywords, by_props = stack(), stack()
    trail = keyword_trail(by_keywords, **options)
    SecureTrail(by_props, "SecureTrail", SecureTrailProps(
        org_id=ORG_ID, trail_name=TRAIL_NAME, management_account_id=MANAGEMENT_ACCOUNT, **options))
    assert Template.from_stack(by_keywords).to_json() == Template.from_stack(by_props).to_json()
    assert trail.props.insights is True and trail.props.log_expiration_days == 2557  # defaults filled in
    assert trail.access_log_auditor is None and trail.digest_validator is not None


def test_keywords_beside_a_props_object_or_no_org_id_are_refused():
    with pytest.raises(TypeError, match="either props or keyword arguments.*insights"):
        SecureTrail(stack(), "T", SecureTrailProps(org_id=ORG_ID), insights=True)
    with pytest.raises(TypeError, match="org_id"):
        SecureTrail(stack(), "T", trail_name="x-trail")


def test_keyword_arguments_are_validated_like_props():
    with pytest.raises(SecureTrailConfigError, match="org_id: 'o-BAD' is not valid"):
        SecureTrail(stack(), "T", org_id="o-BAD")


def test_trail_arn_is_the_arn_every_policy_names():
    scope = stack()
    assert scope.resolve(keyword_trail(scope).trail_arn) == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, TRAIL_ARN.removeprefix("arn:aws")]]}


def test_version_is_the_installed_distributions():
    from importlib.metadata import version

    import trail_validators
    assert secure_trail.__version__ == version("secure-trail") == trail_validators.__version__


def _statements_of(template: Template, resource_type: str, policy_property: str) -> list[dict]:
    return policy_statements(template, resource_type, policy_property)


@pytest.mark.parametrize(("prefix", "logs"), [(None, "AWSLogs/"), ("org/trail", "org/trail/AWSLogs/")])
def test_grant_read_logs_grants_log_reads_and_decrypt_in_cloudtrails_context_or_through_s3_only(prefix, logs):
    scope = stack()
    trail = keyword_trail(scope, s3_key_prefix=prefix)
    role = iam.Role(scope, "Auditor", assumed_by=iam.AccountRootPrincipal())
    trail.grant_read_logs(role)
    template = Template.from_stack(scope)
    granted = [s for s in _statements_of(template, "AWS::IAM::Policy", "PolicyDocument")]
    assert sorted(granted, key=lambda s: (s["Action"], str(s.get("Condition")))) == [
        {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": KEY, "Condition": condition}
        for condition in sorted(reader_decrypt_conditions(SINGLE_STACK_TRAIL_BUCKET, logs), key=str)] + [
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": f"{BUCKET}/{logs}*"},
        {"Action": "s3:ListBucket", "Effect": "Allow", "Resource": BUCKET,
         "Condition": {"StringLike": {"s3:prefix": [f"{logs}*"]}}}]
    # Same account: the bucket policy lets IAM decide; the key policy (the account root only
    # administers the key) names the role, in each reader form and for Decrypt only.
    role_id = scope.get_logical_id(role.node.default_child)
    assert not [s for s in _statements_of(template, "AWS::S3::BucketPolicy", "PolicyDocument") if role_id in str(s)]
    named = [s for s in _statements_of(template, "AWS::KMS::Key", "KeyPolicy") if role_id in str(s)]
    assert len(named) == 2 and all(s["Action"] == "kms:Decrypt" and "ArnEquals" in s["Condition"] for s in named)


def test_grant_read_logs_to_another_account_writes_the_bucket_and_key_statements():
    scope = stack()
    trail = keyword_trail(scope)
    reader = "arn:aws:iam::333333333333:role/ExternalAuditor"
    trail.grant_read_logs(iam.ArnPrincipal(reader))
    template = Template.from_stack(scope)
    bucket = [s for s in _statements_of(template, "AWS::S3::BucketPolicy", "PolicyDocument")
              if s.get("Principal") == {"AWS": reader}]
    assert sorted((s["Action"], s["Resource"], s.get("Condition")) for s in bucket) == [
        ("s3:GetObject", f"{BUCKET}/AWSLogs/*", None),
        ("s3:ListBucket", BUCKET, {"StringLike": {"s3:prefix": ["AWSLogs/*"]}})]
    keys = [s for s in _statements_of(template, "AWS::KMS::Key", "KeyPolicy") if s.get("Principal") == {"AWS": reader}]
    assert [(s["Action"], s["Resource"], s["Condition"]) for s in keys] == [
        ("kms:Decrypt", "*", condition) for condition in reader_decrypt_conditions(SINGLE_STACK_TRAIL_BUCKET)]


def test_no_kms_decrypt_without_cloudtrails_context_or_the_trail_bucket_for_a_reader(full_template):
    """What grant_read_logs avoids: the reader statements of log_reader_arns have the same conditions."""
    found = [s["Condition"] for s in _statements_of(full_template, "AWS::KMS::Key", "KeyPolicy")
             if s.get("Principal", {}).get("AWS", "").startswith("arn:aws:iam::222222222222:role/")]
    assert found == reader_decrypt_conditions(SINGLE_STACK_TRAIL_BUCKET, "org/trail/AWSLogs/")


def _alarm_metric(template: Template, metric_name: str) -> dict:
    (alarm,) = [a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()
                if a["Properties"].get("MetricName") == metric_name]
    return {"namespace": alarm["Namespace"], "metric_name": metric_name,
            "dimensions": {d["Name"]: d["Value"] for d in alarm["Dimensions"]}}


def _metric(metric: cloudwatch.Metric) -> dict:
    return {"namespace": metric.namespace, "metric_name": metric.metric_name, "dimensions": metric.dimensions}


def test_metrics_are_the_ones_the_construct_alarms_on():
    scope = stack()
    trail = keyword_trail(scope)
    template = Template.from_stack(scope)
    assert _metric(trail.metric_tampering_findings()) == _alarm_metric(template, "TamperingFindings")
    assert _metric(trail.metric_non_tls_successes()) == _alarm_metric(template, "NonTlsSuccess")
    tampering = trail.metric_tampering_findings(period=cdk.Duration.hours(1), statistic="Maximum")
    assert (tampering.period.to_seconds(), tampering.statistic) == (3600, "Maximum")
    assert trail.metric_chain_gaps().statistic == "Sum" and trail.metric_digests_validated().period.to_minutes() == 5


def test_access_log_metrics_are_the_ones_the_auditor_emits():
    from trail_validators.access_logs.audit import AuditPolicy, audit_lines
    from trail_validators.handlers import access_log_auditor

    trail = keyword_trail(stack())
    result = audit_lines([access_log_line(), plain_http_line(), "not a log line"], AuditPolicy(), "s3://b/k")
    access_log_auditor.AccessLogAuditor._emit_metrics(None, result)  # into the set conftest empties
    emitted = set(access_log_auditor.metrics.metric_set)
    for metric in (trail.metric_non_tls_successes(), trail.metric_unparseable_access_log_lines(),
                   trail.metric_requests_by_tls_version("TLSv1.2"), trail.metric_requests_by_tls_version("-")):
        assert metric.metric_name in emitted
        assert metric.dimensions == {"service": access_log_auditor.metrics.service}
        assert metric.namespace == access_log_auditor.metrics.namespace


def test_the_metric_of_a_validator_switched_off_is_an_error():
    trail = keyword_trail(stack(), validate_digests=False)
    with pytest.raises(SecureTrailConfigError, match="validate_digests"):
        trail.metric_tampering_findings()
    assert trail.metric_non_tls_successes().metric_name == "NonTlsSuccess"
