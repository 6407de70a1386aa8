"""The auditor Lambda end to end on moto: S3 object -> SQS message -> handler -> SNS."""

import gzip
import json

import boto3
import pytest
from moto import mock_aws

from access_log_samples import access_log_line, plain_http_line
from sqs_harness import deliver as sqs_deliver
from sqs_harness import create_validators_table, published, queue_with_dlq, subscribed_inbox

AUDITED = "trail-bucket"
ACCESS_LOGS = "access-log-bucket"


@pytest.fixture
def aws(aws_env, monkeypatch):
    with mock_aws():
        s3, sqs, sns, ddb = (boto3.client(n) for n in ("s3", "sqs", "sns", "dynamodb"))
        s3.create_bucket(Bucket=ACCESS_LOGS)
        create_validators_table(ddb)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        inbox = subscribed_inbox(sqs, sns, topic)
        queue, dlq = queue_with_dlq(sqs, "audit", max_receives=2)
        for name, value in {"ALERTS_TOPIC_ARN": topic, "TABLE_NAME": "validators", "AUDITED_BUCKET": AUDITED}.items():
            monkeypatch.setenv(name, value)
        from trail_validators.handlers import access_log_auditor
        monkeypatch.setattr(access_log_auditor, "_auditor", None)
        yield {"s3": s3, "sqs": sqs, "inbox": inbox, "queue": queue, "dlq": dlq, "module": access_log_auditor}


def put_log(aws, key, lines):
    etag = aws["s3"].put_object(Bucket=ACCESS_LOGS, Key=key, Body="\n".join(lines).encode())["ETag"].strip('"')
    return json.dumps({"detail-type": "Object Created", "source": "aws.s3", "detail": {
        "bucket": {"name": ACCESS_LOGS}, "object": {"key": key, "etag": etag}}})


def deliver(aws, bodies):
    return sqs_deliver(aws["sqs"], aws["queue"], aws["module"].handler, bodies)


def alerts(aws):
    return published(aws["sqs"], aws["inbox"])


def test_plain_http_success_alerts_once_per_kind_per_object(aws):
    lines = [plain_http_line(bucket=AUDITED, key=f"AWSLogs/{i}.json.gz") for i in range(5)] + [access_log_line(bucket=AUDITED)]
    assert deliver(aws, [put_log(aws, "trail-bucket/2021-07-12-00-00-00-A", lines)]) == set()
    (alert,) = alerts(aws)
    assert (alert["kind"], alert["severity"], alert["count"]) == ("non_tls_success", "critical", 5)
    assert alert["scope"] == f"s3://{ACCESS_LOGS}/trail-bucket/2021-07-12-00-00-00-A"
    assert sorted(f["keys"][0] for f in alert["findings"]) == [f"AWSLogs/{i}.json.gz" for i in range(5)]


def test_clean_object_sends_no_alert(aws):
    assert deliver(aws, [put_log(aws, "trail-bucket/clean", [access_log_line(bucket=AUDITED)])]) == set()
    assert alerts(aws) == []


def test_redelivery_is_harmless(aws):
    body = put_log(aws, "trail-bucket/twice", [plain_http_line(bucket=AUDITED)])
    deliver(aws, [body])
    deliver(aws, [body])
    assert [a["kind"] for a in alerts(aws)] == ["non_tls_success"]


def test_poison_message_lands_in_the_dlq_and_nothing_else_is_lost(aws):
    good = put_log(aws, "trail-bucket/good", [plain_http_line(bucket=AUDITED)])
    missing = json.dumps({"detail-type": "Object Created", "detail": {
        "bucket": {"name": ACCESS_LOGS}, "object": {"key": "trail-bucket/deleted-before-audit"}}})
    assert len(deliver(aws, [good, "not json", missing])) == 2
    assert [a["kind"] for a in alerts(aws)] == ["non_tls_success"]
    assert len(deliver(aws, [])) == 2  # retried once more (maxReceiveCount 2) ...
    aws["sqs"].receive_message(QueueUrl=aws["queue"])  # ... then moved to the DLQ on the next receive
    dead = aws["sqs"].receive_message(QueueUrl=aws["dlq"], MaxNumberOfMessages=10).get("Messages", [])
    assert sorted(m["Body"] for m in dead) == sorted(["not json", missing])


def test_s3_event_notification_format_is_understood_too(aws):
    aws["s3"].put_object(Bucket=ACCESS_LOGS, Key="trail-bucket/a b", Body=plain_http_line(bucket=AUDITED).encode())
    body = json.dumps({"Records": [{"s3": {"bucket": {"name": ACCESS_LOGS}, "object": {"key": "trail-bucket/a+b"}}}]})
    assert deliver(aws, [body]) == set()
    assert [a["kind"] for a in alerts(aws)] == ["non_tls_success"]


def test_a_gzip_bomb_object_is_one_alert_not_a_crash(aws):
    bomb = gzip.compress(b"\0" * 2**24, 9) * 8  # inflates to 128 MiB, past the cap
    etag = aws["s3"].put_object(Bucket=ACCESS_LOGS, Key="trail-bucket/bomb", Body=bomb)["ETag"].strip('"')
    body = json.dumps({"detail-type": "Object Created", "source": "aws.s3", "detail": {
        "bucket": {"name": ACCESS_LOGS}, "object": {"key": "trail-bucket/bomb", "etag": etag}}})
    assert deliver(aws, [body]) == set()
    assert [a["kind"] for a in alerts(aws)] == ["oversized_log_object"]
