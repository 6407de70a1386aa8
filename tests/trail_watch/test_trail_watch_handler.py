"""The trail watch's handler on moto (versioned S3, SQS, DynamoDB, SNS) with EventBridge
events of the documented shape: what it alerts on, and that CloudTrail's deliveries are quiet."""

from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from sqs_harness import create_validators_table, published, queue_with_dlq, subscribed_inbox
from sqs_harness import deliver as sqs_deliver
from trail_simulation import T0, SimulatedTrail
from trail_validators.contract import Env, TrailWatchKind
from trail_validators.digests.aws import CheckpointStore
from trail_validators.digests.chain import Anchor
from trail_validators.digests.layout import ChainId, TrailLocation, parse_digest_name, parse_log_name
from watch_events import created, deleted

BUCKET = "org-trail-bucket"
LOCATION = TrailLocation(BUCKET, None, "o-a1b2c3d4e5", "org-trail", "us-east-1")
CHAIN = ChainId("111111111111", "us-east-1")
EXPIRATION_DAYS = 30


def name_time(key):
    name = parse_log_name(key) or parse_digest_name(key)
    return name.time if hasattr(name, "time") else name.end


@pytest.fixture
def watch(aws_env, monkeypatch):
    sim = SimulatedTrail(LOCATION)
    digests = sim.deliver(CHAIN, T0, 6)
    with mock_aws():
        s3, sqs, sns, ddb = (boto3.client(n) for n in ("s3", "sqs", "sns", "dynamodb"))
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        versions = {key: s3.put_object(Bucket=BUCKET, Key=key, Body=stored.data,
                                       Metadata=dict(stored.metadata))["VersionId"]
                    for key, stored in sim.objects.items()}
        create_validators_table(ddb)
        newest = digests[-1]
        CheckpointStore("validators", ddb).save(CHAIN, Anchor(newest, name_time(newest), None, None))
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        inbox = subscribed_inbox(sqs, sns, topic)
        queue, dlq = queue_with_dlq(sqs, "watch", max_receives=2)
        for name, value in {Env.TRAIL_BUCKET: BUCKET, Env.ORG_ID: "o-a1b2c3d4e5", Env.TRAIL_NAME: "org-trail",
                            Env.HOME_REGION: "us-east-1", Env.TABLE_NAME: "validators",
                            Env.ALERTS_TOPIC_ARN: topic, Env.LOG_EXPIRATION_DAYS: str(EXPIRATION_DAYS)}.items():
            monkeypatch.setenv(name, value)
        from trail_validators.handlers import trail_watch
        monkeypatch.setattr(trail_watch, "_watch", None)
        yield {"sim": sim, "s3": s3, "sqs": sqs, "queue": queue, "inbox": inbox, "versions": versions,
               "module": trail_watch, "digests": digests}


def run(watch, bodies):
    return sqs_deliver(watch["sqs"], watch["queue"], watch["module"].handler, bodies)


def kinds(watch):
    return sorted(alert["kind"] for alert in published(watch["sqs"], watch["inbox"]))


def put(watch, key, body=b"forged"):
    return watch["s3"].put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"]


def log_key(time, unique="AAAAAAAAAAAAAAAA"):
    return (f"{LOCATION.log_day_prefix(CHAIN, time)}{CHAIN.account}_CloudTrail_{CHAIN.region}_"
            f"{time:%Y%m%dT%H%MZ}_{unique}.json.gz")


def test_cloudtrail_shaped_deliveries_raise_nothing(watch):
    sim = watch["sim"]
    before = set(sim.objects)
    sim.deliver(CHAIN, T0 + timedelta(hours=6), 2)
    bodies = []
    for key in sorted(set(sim.objects) - before):
        stored = sim.objects[key]
        version = watch["s3"].put_object(Bucket=BUCKET, Key=key, Body=stored.data,
                                         Metadata=dict(stored.metadata))["VersionId"]
        bodies.append(created(BUCKET, key, version, name_time(key) + timedelta(minutes=3),
                              requester="cloudtrail.amazonaws.com"))
    assert len(bodies) == 6
    assert run(watch, bodies) == set()
    assert kinds(watch) == []


def test_a_log_backdated_behind_the_checkpoint_is_a_finding(watch):
    key = log_key(T0 + timedelta(hours=2, minutes=10))
    version = put(watch, key)
    assert run(watch, [created(BUCKET, key, version, T0 + timedelta(hours=7))]) == set()
    assert kinds(watch) == [TrailWatchKind.BACKDATED]


def test_a_log_named_within_the_delivery_slack_of_the_checkpoint_is_not_backdated(watch):
    checkpoint_end = name_time(watch["digests"][-1])
    key = log_key(checkpoint_end - timedelta(minutes=30))
    version = put(watch, key)
    assert run(watch, [created(BUCKET, key, version, checkpoint_end + timedelta(minutes=5))]) == set()
    assert kinds(watch) == []


def test_a_second_version_of_a_delivered_log_is_an_overwrite(watch):
    key = next(k for k in watch["versions"] if "/CloudTrail/" in k)
    version = put(watch, key)
    assert run(watch, [created(BUCKET, key, version, T0 + timedelta(hours=7))]) == set()
    assert TrailWatchKind.OVERWRITE in kinds(watch)


def test_a_second_version_of_a_digest_is_an_overwrite(watch):
    key = watch["digests"][-1]
    version = put(watch, key)
    assert run(watch, [created(BUCKET, key, version, T0 + timedelta(hours=7))]) == set()
    assert kinds(watch) == [TrailWatchKind.OVERWRITE]


def test_a_deleted_log_is_a_finding_whoever_the_requester(watch):
    key = next(k for k in watch["versions"] if "/CloudTrail/" in k)
    marker = watch["s3"].delete_object(Bucket=BUCKET, Key=key)["VersionId"]
    body = deleted(BUCKET, key, marker, T0 + timedelta(hours=7), requester="cloudtrail.amazonaws.com")
    assert run(watch, [body]) == set()
    assert kinds(watch) == [TrailWatchKind.DELETION]


def test_a_permanent_deletion_of_a_digest_version_is_a_finding(watch):
    key = watch["digests"][0]
    watch["s3"].delete_object(Bucket=BUCKET, Key=key, VersionId=watch["versions"][key])
    body = deleted(BUCKET, key, watch["versions"][key], T0 + timedelta(hours=7), deletion_type="Permanently Deleted")
    assert run(watch, [body]) == set()
    assert kinds(watch) == [TrailWatchKind.DELETION]


def test_lifecycle_expiry_is_quiet_only_for_objects_older_than_the_deployed_expiry(watch):
    key = next(k for k in watch["versions"] if "/CloudTrail/" in k)
    old_enough = name_time(key) + timedelta(days=EXPIRATION_DAYS, hours=1)
    assert run(watch, [deleted(BUCKET, key, "m1", old_enough, reason="Lifecycle Expiration",
                               requester="s3.amazonaws.com")]) == set()
    assert kinds(watch) == []
    too_young = name_time(key) + timedelta(days=1)
    assert run(watch, [deleted(BUCKET, key, "m2", too_young, reason="Lifecycle Expiration",
                               requester="s3.amazonaws.com")]) == set()
    assert kinds(watch) == [TrailWatchKind.DELETION]


def test_an_object_under_awslogs_that_is_no_log_or_digest_is_a_finding(watch):
    key = f"{LOCATION.account_prefix(CHAIN.account)}CloudTrail/{CHAIN.region}/2026/11/20/evil.txt"
    version = put(watch, key)
    assert run(watch, [created(BUCKET, key, version, T0 + timedelta(hours=7))]) == set()
    assert kinds(watch) == [TrailWatchKind.UNRECOGNIZED]


def test_a_log_name_outside_its_day_folder_is_unrecognized(watch):
    key = log_key(T0 + timedelta(hours=9)).replace("/2026/11/20/", "/2026/11/19/")
    version = put(watch, key)
    assert run(watch, [created(BUCKET, key, version, T0 + timedelta(hours=9))]) == set()
    assert kinds(watch) == [TrailWatchKind.UNRECOGNIZED]


def test_a_message_that_is_no_object_event_is_a_finding_not_a_skip(watch):
    assert run(watch, ["not json", '{"detail-type": "Object Created", "detail": {}}']) == set()
    assert kinds(watch) == [TrailWatchKind.UNREADABLE_EVENT, TrailWatchKind.UNREADABLE_EVENT]


def test_redelivery_does_not_repeat_an_alert(watch):
    key = next(k for k in watch["versions"] if "/CloudTrail/" in k)
    marker = watch["s3"].delete_object(Bucket=BUCKET, Key=key)["VersionId"]
    body = deleted(BUCKET, key, marker, T0 + timedelta(hours=7))
    assert run(watch, [body]) == set()
    assert run(watch, [body]) == set()
    assert kinds(watch) == [TrailWatchKind.DELETION]
