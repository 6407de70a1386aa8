"""The analytics part in the template: off by default (nothing created), your endpoint or a
provisioned Serverless collection, in both deployment shapes; least privilege, cdk-nag clean,
and the function's environment configuring its handler."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from conftest import (DENY_GRANTS_NOT_FOR_AWS_RESOURCES, DEPLOY_ACCOUNT, TRAIL_NAME, build_organization,
                      build_stack, cdk_json_context, default_props, organization_props, resolve_arn_join)
from secure_trail import NAG_PACKS, AnalyticsProps, SecureTrailConfigError
from secure_trail.analytics import HANDLER, collection_name
from secure_trail.context import props_from_context
from trail_validators.contract import AnalyticsEnv, AnalyticsMetrics
from trail_validators.handlers.analytics_enrichment import EnrichmentConfig, config_from_env

DOMAIN = "https://search-audit-abcdefghijklmnopqrstuvwxyz.eu-west-1.es.amazonaws.com"
ANALYST = "arn:aws:iam::222222222222:role/Analyst"
ANALYTICS_TYPES = ("AWS::Logs::SubscriptionFilter", "AWS::OpenSearchServerless::Collection",
                   "AWS::OpenSearchServerless::SecurityPolicy", "AWS::OpenSearchServerless::AccessPolicy",
                   "AWS::Lambda::EventInvokeConfig")


@pytest.fixture(scope="module")
def endpoint_stack():
    return build_stack(default_props(analytics=AnalyticsProps(endpoint=DOMAIN, reserved_concurrency=7)))


@pytest.fixture(scope="module")
def collection_stack():
    return build_stack(default_props(analytics=AnalyticsProps(collection=True, collection_principals=(ANALYST,)),
                                     validate_digests=False, audit_access_logs=False))


@pytest.fixture(scope="module")
def endpoint_template(endpoint_stack):
    return Template.from_stack(endpoint_stack)


@pytest.fixture(scope="module")
def collection_template(collection_stack):
    return Template.from_stack(collection_stack)


def one(template: Template, kind: str, contains: str = "") -> tuple[str, dict]:
    found = {k: v for k, v in template.find_resources(kind).items() if contains in k}
    assert len(found) == 1, (kind, list(found))
    return next(iter(found.items()))


def enrichment_function(template: Template) -> tuple[str, dict]:
    functions = {k: v for k, v in template.find_resources("AWS::Lambda::Function").items()
                 if v["Properties"].get("Handler") == HANDLER}
    assert len(functions) == 1
    return next(iter(functions.items()))


def managed_policy_statements(template: Template) -> list[dict]:
    _, policy = one(template, "AWS::IAM::ManagedPolicy", "Analytics")
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_analytics_is_off_by_default(template):
    for kind in ANALYTICS_TYPES:
        assert template.find_resources(kind) == {}
    assert not any(v["Properties"].get("Handler") == HANDLER
                   for v in template.find_resources("AWS::Lambda::Function").values())


def test_the_trail_log_group_is_subscribed_by_the_enrichment_function(endpoint_template):
    function_id, function = enrichment_function(endpoint_template)
    log_group_id, _ = one(endpoint_template, "AWS::Logs::LogGroup", "CloudWatchLogs")
    _, subscription = one(endpoint_template, "AWS::Logs::SubscriptionFilter")
    assert subscription["Properties"]["LogGroupName"] == {"Ref": log_group_id}
    assert subscription["Properties"]["DestinationArn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert subscription["Properties"]["FilterPattern"] == ""
    _, permission = one(endpoint_template, "AWS::Lambda::Permission", "Analytics")
    assert permission["Properties"]["Principal"] == "logs.amazonaws.com"
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": [log_group_id, "Arn"]}
    props = function["Properties"]
    assert props["Runtime"] == "python3.14" and props["Architectures"] == ["arm64"]
    assert props["ReservedConcurrentExecutions"] == 7


def test_failed_invocations_go_to_an_encrypted_queue_with_an_alarm(endpoint_template):
    function_id, function = enrichment_function(endpoint_template)
    queue_id, queue = one(endpoint_template, "AWS::SQS::Queue", "AnalyticsFailures")
    key_id, _ = one(endpoint_template, "AWS::KMS::Key", "Analytics")
    assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    _, config = one(endpoint_template, "AWS::Lambda::EventInvokeConfig")
    assert config["Properties"]["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}}
    assert config["Properties"]["MaximumRetryAttempts"] == 2
    assert function["Properties"]["KmsKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}
    alarms = endpoint_template.find_resources("AWS::CloudWatch::Alarm")
    alerts_id, _ = one(endpoint_template, "AWS::SNS::Topic", "Alerts")
    failure = alarms[next(k for k in alarms if "AnalyticsFailedDeliveries" in k)]["Properties"]
    assert failure["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert failure["AlarmActions"] == [{"Ref": alerts_id}] and failure["Threshold"] == 1
    rejected = alarms[next(k for k in alarms if "AnalyticsRejectedEvents" in k)]["Properties"]
    assert (rejected["Namespace"], rejected["MetricName"]) == (AnalyticsMetrics.REJECTED.namespace,
                                                               AnalyticsMetrics.REJECTED.name)
    assert rejected["Dimensions"] == [{"Name": k, "Value": v} for k, v in AnalyticsMetrics.REJECTED.dimensions.items()]
    assert rejected["AlarmActions"] == [{"Ref": alerts_id}]


def test_the_role_may_only_post_bulk_requests_to_the_named_domain(endpoint_template):
    statements = managed_policy_statements(endpoint_template)
    sink = [s for s in statements if str(s["Action"]).startswith(("es:", "aoss:"))]
    assert [(s["Action"], resolve_arn_join(s["Resource"])) for s in sink] == [
        ("es:ESHttpPost", f"arn:aws:es:eu-west-1:{DEPLOY_ACCOUNT}:domain/audit/_bulk")]
    assert {"Action": "organizations:ListAccounts", "Effect": "Allow", "Resource": "*"} in statements
    assert not any(a.endswith("*") for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                                  else s["Action"]))
    assert endpoint_template.find_resources("AWS::IAM::Policy") == {}  # no inline default policy


def test_the_function_environment_configures_its_handler(endpoint_template, collection_template):
    _, function = enrichment_function(endpoint_template)
    environment = function["Properties"]["Environment"]["Variables"]
    assert config_from_env(environment) == EnrichmentConfig(DOMAIN, "es", "cloudtrail", True)
    _, function = enrichment_function(collection_template)
    collection_id, _ = one(collection_template, "AWS::OpenSearchServerless::Collection")
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables[AnalyticsEnv.ENDPOINT] == {"Fn::GetAtt": [collection_id, "CollectionEndpoint"]}
    assert config_from_env({**variables, AnalyticsEnv.ENDPOINT: "https://x.eu-west-1.aoss.amazonaws.com"}).service == "aoss"


def test_a_collection_is_time_series_encrypted_with_the_analytics_key_after_its_policies(collection_template):
    collection_id, collection = one(collection_template, "AWS::OpenSearchServerless::Collection")
    name = collection_name(TRAIL_NAME)
    assert collection["Properties"]["Type"] == "SEARCH" and collection["Properties"]["Name"] == name
    policies = collection_template.find_resources("AWS::OpenSearchServerless::SecurityPolicy")
    by_type = {p["Properties"]["Type"]: (k, p) for k, p in policies.items()}
    access_id, access = one(collection_template, "AWS::OpenSearchServerless::AccessPolicy")
    assert set(collection["DependsOn"]) >= {by_type["encryption"][0], by_type["network"][0], access_id}
    key_id, _ = one(collection_template, "AWS::KMS::Key", "Analytics")
    encryption = by_type["encryption"][1]["Properties"]["Policy"]["Fn::Join"][1]
    assert {"Fn::GetAtt": [key_id, "Arn"]} in encryption and '"AWSOwnedKey":false' in encryption[0]
    network = json.loads(by_type["network"][1]["Properties"]["Policy"])
    assert network[0]["Rules"][0] == {"ResourceType": "collection", "Resource": [f"collection/{name}"]}


def test_only_the_enrichment_role_writes_and_named_principals_read(collection_template):
    _, access = one(collection_template, "AWS::OpenSearchServerless::AccessPolicy")
    role_id, _ = one(collection_template, "AWS::IAM::Role", "AnalyticsRole")
    parts = access["Properties"]["Policy"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "ROLE" for p in parts)
    assert {"Fn::GetAtt": [role_id, "Arn"]} in parts
    rules = json.loads(text)
    assert rules[0]["Principal"] == ["ROLE"]
    writer = {p for rule in rules[0]["Rules"] for p in rule["Permission"]}
    assert "aoss:ReadDocument" not in writer and "aoss:WriteDocument" in writer
    assert rules[1]["Principal"] == [ANALYST] and len(rules) == 2
    statements = managed_policy_statements(collection_template)
    collection_id, _ = one(collection_template, "AWS::OpenSearchServerless::Collection")
    assert {"Action": "aoss:APIAccessAll", "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [collection_id, "Arn"]}} in statements


def test_the_analytics_key_gives_no_one_kms_star(collection_template):
    _, key = one(collection_template, "AWS::KMS::Key", "Analytics")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert "kms:*" not in actions
    account = next(s for s in statements if s["Sid"] == "AccountAdministersKeyOnly")
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:CreateGrant"} & set(account["Action"])
    sids = {s["Sid"] for s in statements}
    assert {"DeployerCreatesTheCollection", "EnrichmentSendsFailures", "EnrichmentReadsItsEnvironment",
            "CloudWatchLogsEncryptsFunctionLogs"} <= sids
    assert [s for s in statements if s["Effect"] != "Allow"] == [DENY_GRANTS_NOT_FOR_AWS_RESOURCES]


def test_alarms_publish_to_the_alerts_topic_even_with_the_validators_off(collection_template):
    _, trail_key = one(collection_template, "AWS::KMS::Key", "SecureTrailKey")
    assert "CloudWatchAlarmsPublishToAlerts" in {s.get("Sid") for s in trail_key["Properties"]["KeyPolicy"]["Statement"]}


def test_in_the_organization_shape_analytics_sits_with_the_log_group():
    log_archive, trail = build_organization(organization_props(analytics=AnalyticsProps(collection=True)))
    log_archive_template, trail_template = Template.from_stack(log_archive), Template.from_stack(trail)
    assert log_archive_template.find_resources("AWS::Logs::SubscriptionFilter") == {}
    one(trail_template, "AWS::Logs::SubscriptionFilter")
    # Its alarms notify the Trail account's alerts topic, which has the Log Archive's subscribers.
    (topic_id,) = [k for k, t in trail_template.find_resources("AWS::SNS::Topic").items()
                   if t["Properties"]["TopicName"] == "org-trail-alerts"]
    for alarm in trail_template.find_resources("AWS::CloudWatch::Alarm").values():
        if "analytics" in json.dumps(alarm).lower() or "Events" in json.dumps(alarm):
            assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    for pack in NAG_PACKS:
        assert pack().validate_scope(trail).violations == []


@pytest.mark.parametrize("stack_fixture", ["endpoint_stack", "collection_stack"])
def test_both_sink_modes_pass_every_nag_pack(stack_fixture, request):
    stack = request.getfixturevalue(stack_fixture)
    for pack in NAG_PACKS:
        assert [(v.rule_name, [r.resource_logical_id for r in v.violating_resources])
                for v in pack().validate_scope(stack).violations] == []


@pytest.mark.parametrize("analytics, message", [
    (AnalyticsProps(), "analytics.endpoint: None"),
    (AnalyticsProps(endpoint=DOMAIN, collection=True), "analytics.endpoint"),
    (AnalyticsProps(endpoint="http://search-x.example.com"), "https://host"),
    (AnalyticsProps(endpoint=DOMAIN + "/path"), "https://host"),
    (AnalyticsProps(endpoint="https://user:pw@" + DOMAIN[8:]), "https://host"),
    (AnalyticsProps(endpoint=DOMAIN + "\n"), "https://host"),
    (AnalyticsProps(endpoint=DOMAIN, service="s3"), "analytics.service"),
    (AnalyticsProps(endpoint="https://search.internal.example.com"), "analytics.endpoint_resource_arn"),
    (AnalyticsProps(endpoint=DOMAIN, endpoint_resource_arn="arn:aws:aoss:eu-west-1:111111111111:collection/abc"),
     "analytics.endpoint_resource_arn"),
    (AnalyticsProps(collection=True, collection_principals=("arn:aws:iam::111111111111:role/*",)),
     "analytics.collection_principals"),
    (AnalyticsProps(endpoint=DOMAIN, collection_principals=(ANALYST,)), "analytics.collection_principals"),
    (AnalyticsProps(endpoint=DOMAIN, index_prefix="Bad Prefix"), "analytics.index_prefix"),
    (AnalyticsProps(endpoint=DOMAIN, reserved_concurrency=0), "analytics.reserved_concurrency"),
    (AnalyticsProps(endpoint=DOMAIN, reserved_concurrency=True), "analytics.reserved_concurrency"),
    (AnalyticsProps(collection="yes"), "analytics.collection"),
])
def test_bad_analytics_props_name_the_prop(analytics, message):
    with pytest.raises(SecureTrailConfigError, match=message.replace("*", r"\*").replace("/", "/")):
        default_props(analytics=analytics).validate()


def test_analytics_needs_the_cloudwatch_logs_group():
    with pytest.raises(SecureTrailConfigError, match="cloud_watch_logs"):
        default_props(analytics=AnalyticsProps(endpoint=DOMAIN), cloud_watch_logs=False).validate()


def test_a_custom_endpoint_name_works_with_its_resource_arn():
    props = AnalyticsProps(endpoint="https://search.internal.example.com:8443", service="aoss",
                           endpoint_resource_arn="arn:aws:aoss:eu-west-1:333333333333:collection/abcdefghij1234567890")
    default_props(analytics=props).validate()


def _context(**extra):
    return props_from_context(cdk.App(context={**cdk_json_context(), **extra}).node)


def test_context_keys_select_the_sink():
    assert _context().analytics is None
    assert _context(analyticsEndpoint=DOMAIN, analyticsService="aoss").analytics == AnalyticsProps(
        endpoint=DOMAIN, service="aoss")
    assert _context(analyticsCollection="true").analytics == AnalyticsProps(collection=True)
    assert _context(analyticsCollection=False).analytics is None
    with pytest.raises(SecureTrailConfigError, match="analyticsCollection"):
        _context(analyticsCollection="1")
    with pytest.raises(SecureTrailConfigError, match="analytics.service"):
        _context(analyticsService="es")


@pytest.mark.parametrize("trail_name", ["org-trail", "A.Very_Long.Trail-Name-That-Goes-On-And-On", "9trail"])
def test_collection_names_are_valid_serverless_names(trail_name):
    name = collection_name(trail_name)
    assert 3 <= len(name) <= 32 and name[0].isalpha() and all(c.islower() or c.isdigit() or c == "-" for c in name)
