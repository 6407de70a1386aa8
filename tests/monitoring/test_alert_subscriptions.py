"""alert_subscriptions: every accepted value becomes one subscription of the right protocol;
every other value is refused at synth with a message that says what to change."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from conftest import build_stack, cdk_json_context, default_props
from secure_trail import SecureTrailConfigError
from secure_trail.context import props_from_context

GOOD = {
    "security@corp.example": "email",
    "https://hooks.corp.example:8443/sns/alerts?team=sec": "https",
    "arn:aws:sqs:eu-west-1:333333333333:security-alerts": "sqs",
    "arn:aws:lambda:eu-west-1:333333333333:function:page-oncall": "lambda",
    "arn:aws:lambda:eu-west-1:333333333333:function:page-oncall:live": "lambda",
}


def test_each_subscriber_becomes_one_subscription_with_its_protocol():
    template = Template.from_stack(build_stack(default_props(alert_subscriptions=tuple(GOOD))))
    resources = template.to_json()["Resources"]
    (alerts,) = [k for k, r in resources.items() if r["Type"] == "AWS::SNS::Topic"
                 and r["Properties"]["TopicName"] == "org-trail-alerts"]
    found = {s["Properties"]["Endpoint"]: s["Properties"]["Protocol"]
             for s in template.find_resources("AWS::SNS::Subscription").values()
             if s["Properties"]["TopicArn"] == {"Ref": alerts}}
    assert found == GOOD


def test_reordering_the_list_replaces_no_subscription():
    ids = [set(Template.from_stack(build_stack(default_props(alert_subscriptions=order)))
               .find_resources("AWS::SNS::Subscription")) for order in (tuple(GOOD), tuple(reversed(GOOD)))]
    assert ids[0] == ids[1] and len(ids[0]) == len(GOOD)


@pytest.mark.parametrize(("value", "says"), [
    ("http://hooks.corp.example/alerts", "plain HTTP.*Use an https://"),
    ("HTTP://hooks.corp.example/alerts", "plain HTTP"),
    ("https://user:secret@hooks.corp.example/", "credentials.*drop the user:password@"),
    ("https:///no-host", "no valid host"),
    ("https://hooks.corp.example/a b", "contains a space"),
    ("https://hooks.corp.example:99999/", "invalid port"),
    ("ftp://files.corp.example/", "only https://"),
    ("arn:aws:sqs:eu-west-1:3333:q", "not a valid SQS queue ARN"),
    ("arn:aws:sqs:eu-west-1:333333333333:q.fifo", "FIFO queue"),
    ("arn:aws:lambda:eu-west-1:333333333333:layer:mylayer:1", "not a valid Lambda function ARN"),
    ("arn:aws:sns:eu-west-1:333333333333:other-topic", "ARN of 'sns'.*only SQS queue ARNs"),
    ("arn:aws:s3:::bucket", "ARN of 's3'"),
    ("arn:", "no known service"),
    ("security team", "not an e-mail address"),
    ("a@b", "not an e-mail address"),
    ("", "empty"),
    (" security@corp.example", "surrounding spaces"),
    ("security@corp.example\n", "control characters"),
    (cdk.Aws.ACCOUNT_ID, "is a token"),
])
def test_a_bad_subscriber_is_refused_saying_what_to_change(value, says):
    with pytest.raises(SecureTrailConfigError, match=f"alert_subscriptions: .*{says}"):
        default_props(alert_subscriptions=(value,)).validate()


@pytest.mark.parametrize("pair", [("ops@corp.example", "OPS@corp.example"),
                                  ("arn:aws:sqs:eu-west-1:333333333333:q", "arn:aws:sqs:eu-west-1:333333333333:q")])
def test_a_subscriber_listed_twice_is_refused(pair):
    with pytest.raises(SecureTrailConfigError, match="listed twice"):
        default_props(alert_subscriptions=pair).validate()


@pytest.mark.parametrize("value", ["ops@corp.example", 42, None])
def test_not_a_list_of_strings_is_refused(value):
    with pytest.raises(SecureTrailConfigError, match="alert_subscriptions"):
        default_props(alert_subscriptions=value if value != 42 else (42,)).validate()


def test_context_takes_a_list_or_a_comma_separated_string():
    def props(**context):
        return props_from_context(cdk.App(context={**cdk_json_context(), **context}).node)
    assert props().alert_subscriptions == ("security-alerts@example.com",)  # cdk.json's example
    assert props(alertSubscriptions="a@corp.example, arn:aws:sqs:eu-west-1:333333333333:q").alert_subscriptions == (
        "a@corp.example", "arn:aws:sqs:eu-west-1:333333333333:q")
    assert props(disabledMonitoringControls="CloudWatch.10,CloudWatch.11", dashboard="false") \
        .disabled_monitoring_controls == ("CloudWatch.10", "CloudWatch.11")
    assert props(dashboard="false").dashboard is False


def _warning_ids(stack: cdk.Stack) -> list[str]:
    from aws_cdk.assertions import Annotations, Match
    return [entry.entry.data for entry in Annotations.from_stack(stack).find_warning("*", Match.any_value())]


def test_an_empty_alert_subscriptions_warns_with_an_id_to_acknowledge_in_every_stack(default_stack, org_stacks):
    for stack in (default_stack, *org_stacks):
        assert any("secure-trail:no-alert-subscriptions" in str(data) for data in _warning_ids(stack)), stack.stack_name


def test_a_subscriber_silences_the_no_alert_subscriptions_warning():
    stack = build_stack(default_props(alert_subscriptions=("security@corp.example",)))
    assert not any("secure-trail:no-alert-subscriptions" in str(data) for data in _warning_ids(stack))
