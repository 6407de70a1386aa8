"""The trail's dashboard shows only what exists: each metric a widget references is one a
handler really prints as EMF (run on moto, as in test_contract) under the same namespace
and dimensions, or one AWS publishes for a resource of the same stack; each alarm it shows
is an alarm of the stack, and every alarm of the stack is shown."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk.assertions import Template

from conftest import REGION, REPO, build_organization, build_stack, default_props, organization_props
from test_contract import contract_template, ran  # noqa: F401 (fixtures: the handlers' real EMF output)
from secure_trail.props import TLS_VERSIONS
from trail_validators import contract
from trail_validators.contract import CIS_METRIC_NAMESPACE

# What AWS publishes (CloudWatch User Guide, "metrics and dimensions" of each service): the
# metric names the dashboard may use, the dimension naming the resource and its type.
AWS_METRICS = {
    "AWS/Logs": ({"IncomingLogEvents", "IncomingBytes"}, "LogGroupName", "AWS::Logs::LogGroup"),
    "AWS/SNS": ({"NumberOfMessagesPublished", "NumberOfNotificationsFailed"}, "TopicName", "AWS::SNS::Topic"),
    "AWS/SQS": ({"ApproximateNumberOfMessagesVisible"}, "QueueName", "AWS::SQS::Queue"),
}
TOKEN = re.compile(r"\{(ref|[A-Za-z]+):([A-Za-z0-9]+)\}")


def dashboard_body(resources: dict) -> dict:
    (dashboard,) = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]

    def text(part) -> str:
        if isinstance(part, str):
            return part
        if part.get("Ref") == "AWS::Region":
            return REGION
        if "Ref" in part:
            return "{ref:%s}" % part["Ref"]
        logical_id, attribute = part["Fn::GetAtt"]
        return "{%s:%s}" % (attribute, logical_id)

    body = dashboard["Properties"]["DashboardBody"]
    return json.loads(body if isinstance(body, str) else "".join(text(p) for p in body["Fn::Join"][1]))


def metrics(body: dict) -> list[tuple[str, str, dict]]:
    """(namespace, name, dimensions) of every metric of every widget."""
    found = []
    for widget in body["widgets"]:
        for line in widget["properties"].get("metrics", []):
            namespace, name, *dims = [part for part in line if not isinstance(part, dict)]
            found.append((namespace, name, dict(zip(dims[::2], dims[1::2]))))
    return found


def alarm_tokens(body: dict) -> list[str]:
    return [arn for widget in body["widgets"] for arn in widget["properties"].get("alarms", [])]


def referenced_resource(resources: dict, token: str) -> dict:
    (match,) = TOKEN.findall(token)
    return resources[match[1]]


def added_by_handler_code() -> set[tuple[str, str, frozenset]]:
    """Every contract metric a handler passes to ``metrics.add_metric`` (TLS versions: each
    one the auditor can count)."""
    found = set()
    for source in (REPO / "lambda_src" / "trail_validators" / "handlers").glob("*.py"):
        text = source.read_text()
        for group, attribute in re.findall(r"add_metric\(name=(\w+Metrics)\.([A-Z_]+)\.name", text):
            found.add(getattr(contract, group).__dict__[attribute])
        # A loop over (metric, value) pairs that it then adds by ``metric.name``.
        if "add_metric(name=metric.name" in text:
            for group, attribute in re.findall(r"\((\w+Metrics)\.([A-Z_]+), ", text):
                found.add(getattr(contract, group).__dict__[attribute])
        for role in re.findall(r"add_metric\(name=HEARTBEATS\[(\w+)\]\.metric\.name", text):
            found.add(contract.HEARTBEATS[getattr(contract, role)].metric)
        if "AccessLogMetrics.requests(" in text:
            found.update(contract.AccessLogMetrics.requests(v) for v in (*TLS_VERSIONS, "-"))
    return {(m.namespace, m.name, frozenset(m.dimensions.items())) for m in found}


RUN_HERE = {contract.DIGEST_PLANNER, contract.DIGEST_VALIDATOR, contract.ACCESS_LOG_AUDITOR}


def check_aws_metric(resources: dict, namespace: str, name: str, dimensions: dict) -> None:
    names, dimension, resource_type = AWS_METRICS[namespace]
    assert name in names, (namespace, name, "is not a metric AWS publishes there")
    assert list(dimensions) == [dimension], (namespace, name, dimensions)
    assert referenced_resource(resources, dimensions[dimension])["Type"] == resource_type, (namespace, name)


def test_every_dashboard_metric_is_emitted_by_a_handler_or_published_by_aws_for_a_stack_resource(ran):
    resources = ran["deployment"].resources
    emitted = {metric for out in ran["emitted"].values() for metric in out}
    emitted_names = {name: (namespace, dims) for namespace, name, dims in emitted}
    shown = metrics(dashboard_body(resources))
    custom = [(n, name, frozenset(d.items())) for n, name, d in shown if not n.startswith("AWS/")]
    assert custom, "the dashboard shows no validator metric"
    for namespace, name, dimensions in custom:
        if (namespace, name, dimensions) in emitted:
            continue
        # Not printed by the run (the planner's count, a TLS version the sample lines did not
        # use): a metric the handlers' code adds, named through the contract, whose service
        # printed others under the same namespace and dimensions.
        assert (namespace, name, dimensions) in added_by_handler_code(), (name, "no handler adds it as shown")
        service = dict(dimensions)[contract.SERVICE_DIMENSION]
        if service in RUN_HERE:
            assert (namespace, dimensions) in {(n, d) for n, _, d in emitted}, name
        # The posture watcher's and the enrichment's EMF are read back in their own tests
        # (test_posture_contract, test_analytics_handler).
    assert {"TamperingFindings", "NonTlsSuccess", "Requests_NoTLS"} <= {name for _, name, _ in custom} & set(emitted_names)
    for namespace, name, dimensions in shown:
        if namespace.startswith("AWS/"):
            check_aws_metric(resources, namespace, name, dimensions)


@pytest.mark.parametrize("shape", ["single", "log_archive", "trail"])
def test_every_alarm_of_the_stack_is_on_its_dashboard_and_nothing_else(shape, template, log_archive_template,
                                                                       trail_template):
    resources = {"single": template, "log_archive": log_archive_template,
                 "trail": trail_template}[shape].to_json()["Resources"]
    body = dashboard_body(resources)
    shown = {TOKEN.findall(token)[0][1] for token in alarm_tokens(body)}
    alarms = {k for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert shown == alarms
    for namespace, name, dimensions in metrics(body):
        if namespace.startswith("AWS/"):
            check_aws_metric(resources, namespace, name, dimensions)
        else:
            assert namespace != CIS_METRIC_NAMESPACE
            if shape == "trail":  # it cannot see the Log Archive's validators, only its own posture functions
                assert dict(dimensions)[contract.SERVICE_DIMENSION] in (contract.POSTURE_WATCHER,
                                                                        contract.POSTURE_FAILED_CALLS), name


def test_the_trail_accounts_dashboard_shows_delivery_its_posture_watcher_and_the_cis_alarms(trail_template):
    body = dashboard_body(trail_template.to_json()["Resources"])
    assert {name for namespace, name, _ in metrics(body) if namespace == "AWS/Logs"} == {"IncomingLogEvents",
                                                                                          "IncomingBytes"}
    # the CIS alarms; the watcher's findings, DLQ and heartbeat alarms; the failed-calls DLQ alarm
    assert len(alarm_tokens(body)) == 15 + 3 + 1
    headings = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
    assert headings == ["## Delivery health", "## Trail posture", "## Heartbeats", "## CIS monitoring alarms", "## Validator alarms",
                        "## Dead-letter queues"]


def test_dashboard_false_makes_none():
    assert not Template.from_stack(build_stack(default_props(dashboard=False))).find_resources(
        "AWS::CloudWatch::Dashboard")
    for stack in build_organization(organization_props(dashboard=False)):
        assert not Template.from_stack(stack).find_resources("AWS::CloudWatch::Dashboard")
