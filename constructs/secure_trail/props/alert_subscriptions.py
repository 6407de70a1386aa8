"""Subscribers of the alerts topic: e-mail addresses, HTTPS endpoints, SQS queue ARNs and
Lambda function ARNs, each checked at synth so that an alert never goes nowhere, in
plain text, or to a service that cannot receive it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Sequence
from urllib.parse import urlsplit

from aws_cdk import Token
from aws_cdk import aws_sns as sns

EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_ARN_HEAD = r"arn:(?:aws|aws-cn|aws-us-gov):{service}:[a-z]{{2}}(?:-[a-z]+)+-[0-9]:[0-9]{{12}}:"
SQS_QUEUE_ARN = re.compile(_ARN_HEAD.format(service="sqs") + r"[A-Za-z0-9_-]{1,80}(?:\.fifo)?")
LAMBDA_FUNCTION_ARN = re.compile(_ARN_HEAD.format(service="lambda")
                                 + r"function:[A-Za-z0-9_-]{1,64}(?::(?:\$LATEST|[A-Za-z0-9_-]{1,128}))?")
ANY_ARN = re.compile(r"arn:([^:]*):([^:]*):")
EXAMPLE = "security-alerts@example.com, https://alerts.example.com/hook, arn:aws:sqs:eu-west-1:111111111111:alerts"


@dataclass(frozen=True)
class AlertSubscription:
    protocol: sns.SubscriptionProtocol
    endpoint: str

    @property
    def construct_id(self) -> str:
        """Stable whatever the order of the list: reordering replaces no subscription."""
        return "Subscription" + hashlib.sha256(self.endpoint.lower().encode()).hexdigest()[:12]


def parse_alert_subscriptions(values: Sequence[str]) -> tuple[AlertSubscription, ...]:
    """Each value as a subscription; ValueError naming the first bad value and the fix."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise ValueError(f"{values!r} is not a list of strings; expected e.g. [{EXAMPLE}]")
    parsed, seen = [], {}
    for value in values:
        subscription = parse_alert_subscription(value)
        key = subscription.endpoint.lower() if subscription.protocol == sns.SubscriptionProtocol.EMAIL \
            else subscription.endpoint
        if key in seen:
            raise ValueError(f"{value!r} is listed twice (also as {seen[key]!r}); list each subscriber once, "
                             "or SNS delivers every alert to it twice.")
        seen[key] = value
        parsed.append(subscription)
    return tuple(parsed)


def parse_alert_subscription(value: object) -> AlertSubscription:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string; expected an e-mail address, an https:// URL, "
                         "an SQS queue ARN or a Lambda function ARN.")
    if Token.is_unresolved(value):
        raise ValueError(f"{value!r} is a token; the kind of subscriber must be known at synth. Pass the "
                         "literal address or ARN, or subscribe a queue or function of your app with "
                         "alerts_topic.add_subscription(...).")
    if not value or value.strip() != value or not value.isprintable():
        raise ValueError(f"{value!r} is empty, has surrounding spaces or control characters; remove them.")
    lowered = value.lower()
    if lowered.startswith("http://"):
        raise ValueError(f"{value!r} is plain HTTP: SNS would send every alert unencrypted. "
                         "Use an https:// endpoint.")
    if lowered.startswith("https://"):
        return AlertSubscription(sns.SubscriptionProtocol.HTTPS, _https(value))
    if lowered.startswith("arn:"):
        return _arn(value)
    if "://" in value:
        raise ValueError(f"{value!r}: only https:// endpoints can subscribe; use https://.")
    if EMAIL.fullmatch(value):
        return AlertSubscription(sns.SubscriptionProtocol.EMAIL, value)
    raise ValueError(f"{value!r} is not an e-mail address (name@domain.tld), an https:// URL, an SQS queue "
                     "ARN (arn:aws:sqs:<region>:<account>:<queue>) or a Lambda function ARN "
                     "(arn:aws:lambda:<region>:<account>:function:<name>).")


def _https(value: str) -> str:
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{value!r} carries credentials: they would be stored in the CloudFormation template "
                         "for anyone who can read it. Authenticate the endpoint another way (a secret path "
                         "checked against SNS's message signature), and drop the user:password@ part.")
    if " " in value:
        raise ValueError(f"{value!r} contains a space; percent-encode it (%20).")
    if not parts.hostname or not HOST.fullmatch(parts.hostname):
        raise ValueError(f"{value!r} has no valid host name; expected https://host[:port]/path.")
    try:
        parts.port  # noqa: B018 (a bad port raises)
    except ValueError:
        raise ValueError(f"{value!r} has an invalid port; expected https://host[:port]/path.") from None
    return value


def _arn(value: str) -> AlertSubscription:
    head = ANY_ARN.match(value)
    service = head.group(2) if head else ""
    if service == "sqs":
        if not SQS_QUEUE_ARN.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid SQS queue ARN; expected "
                             "arn:aws:sqs:<region>:<12-digit account>:<queue name>.")
        if value.endswith(".fifo"):
            raise ValueError(f"{value!r} is a FIFO queue, which cannot subscribe to the standard alerts topic; "
                             "use a standard queue.")
        return AlertSubscription(sns.SubscriptionProtocol.SQS, value)
    if service == "lambda":
        if not LAMBDA_FUNCTION_ARN.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid Lambda function ARN; expected "
                             "arn:aws:lambda:<region>:<12-digit account>:function:<name>[:<alias or version>].")
        return AlertSubscription(sns.SubscriptionProtocol.LAMBDA, value)
    raise ValueError(f"{value!r} is an ARN of {service or 'no known service'!r}; only SQS queue ARNs "
                     "(arn:aws:sqs:...) and Lambda function ARNs (arn:aws:lambda:...:function:...) can "
                     "subscribe to the alerts topic.")
