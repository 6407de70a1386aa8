"""What the Lambda SQS event source does, on moto: receive, invoke, delete the successes,
return the failures to the queue; plus the validators' table and an inbox for alerts."""

import json
from dataclasses import dataclass

from trail_validators.contract import PARTITION_KEY


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
