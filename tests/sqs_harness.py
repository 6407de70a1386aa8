"""What the Lambda SQS event source does, on moto: receive, invoke, delete the successes,
return the failures to the queue; plus the validators' table, an inbox for alerts, and the
digest validation handlers wired on moto as the stack wires them."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterator, Mapping

import boto3

from trail_validators.contract import PARTITION_KEY, Env

if TYPE_CHECKING:
    from trail_simulation import SimulatedTrail


@dataclass
class LambdaContext:
    function_name: str = "validator"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:validator"
    aws_request_id: str = "req-1"


def queue_with_dlq(sqs, name: str, max_receives: int) -> tuple[str, str]:

    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)})})["QueueUrl"]
    return queue, dlq


def deliver(sqs, queue_url: str, handler, bodies=()) -> set[str]:
    for body in bodies:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                          "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                          "md5OfBody": "", "eventSource": "aws:sqs",
                          "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:queue", "awsRegion": "us-east-1"}
                         for m in messages]}
    failed = {f["itemIdentifier"] for f in handler(event, LambdaContext())["batchItemFailures"]}
    for m in messages:
        if m["MessageId"] in failed:
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        else:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return failed


def subscribed_inbox(sqs, sns, topic_arn: str) -> str:
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=sqs.get_queue_attributes(
        QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    return inbox


def published(sqs, inbox: str) -> list[dict]:

    messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]


def create_validators_table(ddb, name: str = "validators") -> str:
    """The validators' DynamoDB table as the stack defines it: one string key (the contract's)."""
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": "S"}])
    return name


@contextmanager
def digest_validation_on_moto(monkeypatch, sim: SimulatedTrail, now: datetime, *, versioned: bool = False,
                              environment: Mapping[str, str] | None = None) -> Iterator[dict]:
    """The digest planner and worker on moto (S3, SQS, SNS, DynamoDB): ``sim``'s objects in
    its bucket (versioning on first if ``versioned``), the validators' table, the alerts topic
    with a subscribed inbox, the work queue "chains" whose DLQ takes a message after one
    receive, the handlers' environment (and ``environment``), and the worker: its clock reads
    ``clock["now"]`` (``now`` to start with), ListPublicKeys (which moto does not implement)
    answers ``sim``'s key. For a trail without a key prefix."""
    from moto import mock_aws

    location = sim.location
    with mock_aws():
        s3, sqs, sns, ddb = (boto3.client(n) for n in ("s3", "sqs", "sns", "dynamodb"))
        s3.create_bucket(Bucket=location.bucket)
        if versioned:
            s3.put_bucket_versioning(Bucket=location.bucket, VersioningConfiguration={"Status": "Enabled"})
        sim.upload(s3)
        table = create_validators_table(ddb)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        inbox = subscribed_inbox(sqs, sns, topic)
        queue, dlq = queue_with_dlq(sqs, "chains", max_receives=1)
        for name, value in {Env.TRAIL_BUCKET: location.bucket, Env.ORG_ID: location.org_id,
                            Env.TRAIL_NAME: location.trail_name, Env.HOME_REGION: location.home_region,
                            Env.QUEUE_URL: queue, Env.TABLE_NAME: table, Env.ALERTS_TOPIC_ARN: topic,
                            **(environment or {})}.items():
            monkeypatch.setenv(name, value)
        from trail_validators.alerts import AlertPublisher, ValidatorsTable
        from trail_validators.digests.aws import CheckpointStore, S3Reader
        from trail_validators.handlers import digest_validation
        clock = {"now": now}
        checkpoints = CheckpointStore(table, ddb)
        worker = digest_validation.DigestWorker(
            S3Reader(s3, location.bucket), location, checkpoints, ValidatorsTable(table, ddb),
            AlertPublisher(topic, sns), lambda region, window: sim.public_keys, clock=lambda: clock["now"])
        monkeypatch.setattr(digest_validation, "_worker", worker)
        yield {"sim": sim, "s3": s3, "sqs": sqs, "queue": queue, "dlq": dlq, "inbox": inbox, "clock": clock,
               "module": digest_validation, "checkpoints": checkpoints}
