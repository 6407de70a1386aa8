"""The command line's S3 reader (obstore fetches and lists) against a moto server: it
returns what boto3 returns, lists every key as S3 stores it, and never an object other
than the one asked for."""

import os

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from trail_validators.digests.aws import S3Reader
from trail_validators.cli.object_store_reader import (MAX_FOLDER_CHECKS, BucketLocation, ObjectStoreReader,
                                                      locate_bucket)

BUCKET = "trail-bucket"


@pytest.fixture
def s3(moto_endpoint):
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def test_returns_the_same_bytes_and_metadata_as_boto3(s3):
    key = "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2026/11/20/x.json.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"\x1f\x8b digest", ContentType="application/json",
                  Metadata={"signature": "ab12", "signature-algorithm": "SHA256withRSA"})
    fetched = ObjectStoreReader(boto3.Session(), BUCKET).get(key)
    assert fetched == S3Reader(s3, BUCKET).get(key)
    assert fetched.metadata == {"signature": "ab12", "signature-algorithm": "SHA256withRSA"}


@pytest.mark.parametrize("key", ["a//b", "a/b/", "/lead", "a/./b", "a/../b", ".", "tab\tkey", "a b+c=d%2Fe", "ü/ß"])
def test_keys_obstore_would_reject_or_rewrite_are_fetched_exactly(s3, key):
    s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    assert ObjectStoreReader(boto3.Session(), BUCKET).get(key).data == key.encode()


@pytest.mark.parametrize(("stored", "asked"), [("a/b", "a/b/"), ("lead", "/lead"), ("a/b", "a//b")])
def test_a_key_that_only_normalises_to_a_stored_one_is_missing(s3, stored, asked):
    s3.put_object(Bucket=BUCKET, Key=stored, Body=b"not the object asked for")
    assert ObjectStoreReader(boto3.Session(), BUCKET).get(asked) is None


def test_missing_object_is_none(s3):
    assert ObjectStoreReader(boto3.Session(), BUCKET).get("AWSLogs/nothing/here.json.gz") is None


def test_bucket_in_another_region_than_the_session(moto_endpoint):
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="eu-trail-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    boto3.client("s3", region_name="eu-west-1").put_object(Bucket="eu-trail-bucket", Key="k", Body=b"eu")
    reader = ObjectStoreReader(boto3.Session(region_name="us-east-1"), "eu-trail-bucket")
    assert reader.get("k").data == b"eu"


def test_plain_keys_are_fetched_by_obstore_not_boto3(s3, monkeypatch):
    s3.put_object(Bucket=BUCKET, Key="AWSLogs/a.json.gz", Body=b"log")
    reader = ObjectStoreReader(boto3.Session(), BUCKET)
    monkeypatch.setattr(reader.client, "get_object", lambda **kwargs: pytest.fail("fetched through boto3"))
    assert reader.get("AWSLogs/a.json.gz").data == b"log"


# Keys object_store refuses (empty, "." and ".." segments, control characters) or rewrites
# (a trailing "/" dropped), beside plain ones and their near neighbours in S3's order.
HOSTILE_KEYS = ["P/a//b", "P/a/./b", "P/a/../b", "P/a/b/", "P/a/b", "P/a/b!", "P/a/b c", "P/a/\x01x", "P/a/%41",
                "P/a/ü", "P/x.json.gz/", "P/x.json.gz", "P/y.json.gz/", "P/", "P//", "P/z/", "P/z/k"]
PLAIN_KEYS = [f"P/2026/11/{day:02d}/111111111111_CloudTrail_us-east-1_202611{day:02d}T0000Z_{n}.json.gz"
              for day in (19, 20) for n in range(3)]


@pytest.mark.parametrize("hostile", [[], *[[key] for key in HOSTILE_KEYS], HOSTILE_KEYS])
def test_listings_hold_every_key_exactly_as_boto3_lists_it(s3, hostile):
    for key in PLAIN_KEYS + hostile:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    ours, boto = ObjectStoreReader(boto3.Session(), BUCKET), S3Reader(s3, BUCKET)
    for prefix in ("P/", "P/a/", "P/2026/11/", "P/z/"):
        assert ours.list_keys(prefix) == boto.list_keys(prefix)
        assert ours.list_level(prefix) == boto.list_level(prefix)
    for after in ("P/", "P/2026/11/19", "P/2026/11/20/111111111111_CloudTrail_us-east-1_20261120T0000Z_0",
                  "P/a/b", "P/x.json.gz"):
        assert list(ours.list_after("P/", after)) == list(boto.list_after("P/", after))


def test_a_flood_of_tiny_folders_is_listed_exactly_at_a_bounded_cost(s3):
    keys = sorted(f"P/f{n:03d}/k" for n in range(MAX_FOLDER_CHECKS + 6)) + ["P/f999/k/"]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    reader = ObjectStoreReader(boto3.Session(), BUCKET)
    assert reader.list_keys("P/") == S3Reader(s3, BUCKET).list_keys("P/") == sorted(keys)
    assert len(reader._leaf_folders) == MAX_FOLDER_CHECKS


def test_a_listing_obstore_refuses_midway_goes_on_from_its_last_key(s3, monkeypatch):
    for key in PLAIN_KEYS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    reader = ObjectStoreReader(boto3.Session(), BUCKET)
    asked = []
    boto_after = S3Reader.list_after
    monkeypatch.setattr(S3Reader, "list_after",
                        lambda self, prefix, after: asked.append(after) or boto_after(self, prefix, after))
    real_list = reader._obstore.list

    def list_then_refuse(store, prefix, **kwargs):
        yield next(iter(real_list(store, prefix, **{**kwargs, "chunk_size": 2})))
        raise reader._obstore.exceptions.BaseError("refused")

    monkeypatch.setattr(reader._obstore, "list", list_then_refuse)
    assert reader.list_keys("P/") == sorted(PLAIN_KEYS)
    assert asked == [sorted(PLAIN_KEYS)[1]]


def test_plain_listings_go_through_obstore_not_boto3(s3, monkeypatch):
    for key in PLAIN_KEYS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    reader = ObjectStoreReader(boto3.Session(), BUCKET)
    monkeypatch.setattr(reader.client, "get_paginator", lambda name: pytest.fail("listed through boto3"))
    assert reader.list_keys("P/") == sorted(PLAIN_KEYS)
    assert reader.list_level("P/2026/11/") == ([], ["19", "20"])
    assert list(reader.list_after("P/", "P/2026/11/20")) == sorted(PLAIN_KEYS)[3:]


class _NoBody:
    def stream(self, **_):
        return iter([b""])


@pytest.mark.parametrize(("config", "expected"), [
    ({}, BucketLocation("eu-west-1", "https://trail-bucket.s3.eu-west-1.amazonaws.com", True)),
    ({"use_fips_endpoint": True},
     BucketLocation("eu-west-1", "https://trail-bucket.s3-fips.eu-west-1.amazonaws.com", True)),
    ({"use_dualstack_endpoint": True},
     BucketLocation("eu-west-1", "https://trail-bucket.s3.dualstack.eu-west-1.amazonaws.com", True)),
    ({"s3": {"addressing_style": "path"}}, BucketLocation("eu-west-1", "https://s3.eu-west-1.amazonaws.com", False)),
])
def test_obstore_goes_where_boto3_endpoint_rules_send_the_bucket(aws_env, config, expected):
    """Offline: HeadBucket is answered before it leaves (S3 would name the region)."""
    client = boto3.client("s3", region_name="eu-west-1", config=Config(**config))
    client.meta.events.register_last("before-send.s3.HeadBucket", lambda request, **_: AWSResponse(
        request.url, 200, {"x-amz-bucket-region": "eu-west-1"}, _NoBody()))
    assert locate_bucket(client, BUCKET) == expected


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and two cores")
def test_a_validation_run_keeps_its_threads_to_one_core_and_gives_the_cores_back():
    from concurrent.futures import ThreadPoolExecutor

    from trail_validators.cli.main import one_core
    allowed = os.sched_getaffinity(0)
    with one_core():
        assert os.sched_getaffinity(0) == {min(allowed)}
        with ThreadPoolExecutor(1) as pool:  # a thread started within inherits it
            assert pool.submit(os.sched_getaffinity, 0).result() == {min(allowed)}
    assert os.sched_getaffinity(0) == allowed
