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
        s3.put_bucket_versioning(Bucket=ACCESS_LOGS, VersioningConfiguration={"Status": "Enabled"})
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
    """The object, and the EventBridge event S3 sends for it (with its version and ETag)."""
    put = aws["s3"].put_object(Bucket=ACCESS_LOGS, Key=key, Body="\n".join(lines).encode())
    return json.dumps({"detail-type": "Object Created", "source": "aws.s3", "detail": {
        "bucket": {"name": ACCESS_LOGS},
        "object": {"key": key, "etag": put["ETag"].strip('"'), "version-id": put["VersionId"]}}})


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
    keyless = json.dumps({"detail-type": "Object Created", "detail": {"bucket": {"name": ACCESS_LOGS}, "object": {}}})
    assert len(deliver(aws, [good, "not json", keyless])) == 2
    assert [a["kind"] for a in alerts(aws)] == ["non_tls_success"]
    assert len(deliver(aws, [])) == 2  # retried once more (maxReceiveCount 2) ...
    aws["sqs"].receive_message(QueueUrl=aws["queue"])  # ... then moved to the DLQ on the next receive
    dead = aws["sqs"].receive_message(QueueUrl=aws["dlq"], MaxNumberOfMessages=10).get("Messages", [])
    assert sorted(m["Body"] for m in dead) == sorted(["not json", keyless])


def test_an_overwrite_between_event_and_read_does_not_hide_a_plain_http_success(aws):
    key = "trail-bucket/2021-07-12-00-00-00-B"
    event = put_log(aws, key, [plain_http_line(bucket=AUDITED)])
    aws["s3"].put_object(Bucket=ACCESS_LOGS, Key=key, Body=access_log_line(bucket=AUDITED).encode())
    assert deliver(aws, [event]) == set()
    assert [a["kind"] for a in alerts(aws)] == ["non_tls_success"]


def test_a_delete_marker_neither_hides_the_log_nor_sends_it_to_the_dlq(aws):
    key = "trail-bucket/2021-07-12-00-00-00-C"
    event = put_log(aws, key, [plain_http_line(bucket=AUDITED)])
    aws["s3"].delete_object(Bucket=ACCESS_LOGS, Key=key)
    assert deliver(aws, [event]) == set()
    assert [a["kind"] for a in alerts(aws)] == ["non_tls_success"]


def test_an_announced_version_deleted_before_the_audit_is_a_finding_not_a_dlq_message(aws):
    key = "trail-bucket/2021-07-12-00-00-00-D"
    event = put_log(aws, key, [plain_http_line(bucket=AUDITED)])
    version = json.loads(event)["detail"]["object"]["version-id"]
    aws["s3"].delete_object(Bucket=ACCESS_LOGS, Key=key, VersionId=version)
    assert deliver(aws, [event]) == set()
    (alert,) = alerts(aws)
    assert (alert["kind"], alert["severity"]) == ("access_log_object_gone", "high")
    assert alert["findings"][0]["details"]["version_id"] == version


def test_a_read_whose_etag_is_not_the_announced_one_is_a_finding(aws):
    event = json.loads(put_log(aws, "trail-bucket/2021-07-12-00-00-00-E", [access_log_line(bucket=AUDITED)]))
    event["detail"]["object"]["etag"] = "0" * 32
    assert deliver(aws, [json.dumps(event)]) == set()
    (alert,) = alerts(aws)
    assert (alert["kind"], alert["findings"][0]["details"]["announced_etag"]) == ("access_log_object_changed", "0" * 32)


def test_without_a_version_an_overwritten_object_is_audited_and_reported_changed(aws):
    key = "trail-bucket/2021-07-12-00-00-00-F"
    event = json.loads(put_log(aws, key, [access_log_line(bucket=AUDITED)]))
    del event["detail"]["object"]["version-id"]
    aws["s3"].put_object(Bucket=ACCESS_LOGS, Key=key, Body=plain_http_line(bucket=AUDITED).encode())
    assert deliver(aws, [json.dumps(event)]) == set()
    assert sorted(a["kind"] for a in alerts(aws)) == ["access_log_object_changed", "non_tls_success"]


def test_without_a_version_a_deleted_object_is_a_finding_not_a_dlq_message(aws):
    missing = json.dumps({"detail-type": "Object Created", "detail": {
        "bucket": {"name": ACCESS_LOGS}, "object": {"key": "trail-bucket/deleted-before-audit", "etag": "1" * 32}}})
    assert deliver(aws, [missing]) == set()
    assert [a["kind"] for a in alerts(aws)] == ["access_log_object_gone"]


def test_s3_event_notification_format_is_understood_too(aws):
    put = aws["s3"].put_object(Bucket=ACCESS_LOGS, Key="trail-bucket/a b", Body=plain_http_line(bucket=AUDITED).encode())
    body = json.dumps({"Records": [{"s3": {"bucket": {"name": ACCESS_LOGS}, "object": {
        "key": "trail-bucket/a+b", "eTag": put["ETag"].strip('"'), "versionId": put["VersionId"]}}}]})
    assert deliver(aws, [body]) == set()
    assert [a["kind"] for a in alerts(aws)] == ["non_tls_success"]


def test_a_gzip_bomb_object_is_one_alert_not_a_crash(aws):
    bomb = gzip.compress(b"\0" * 2**24, 9) * 8  # inflates to 128 MiB, past the cap
    etag = aws["s3"].put_object(Bucket=ACCESS_LOGS, Key="trail-bucket/bomb", Body=bomb)["ETag"].strip('"')
    body = json.dumps({"detail-type": "Object Created", "source": "aws.s3", "detail": {
        "bucket": {"name": ACCESS_LOGS}, "object": {"key": "trail-bucket/bomb", "etag": etag}}})
    assert deliver(aws, [body]) == set()
    assert [a["kind"] for a in alerts(aws)] == ["oversized_log_object"]
