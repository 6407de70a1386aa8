"""Whatever an attacker writes into the trail bucket, a run through the command line's reader
(obstore) reaches the verdict and findings, in the same order, that a run through boto3 (the
Lambda worker's reader) reaches: on a moto server, both readers on the very same bucket."""

import dataclasses
import gzip
from datetime import timedelta

import boto3
import pytest

from trail_simulation import T0, SimulatedTrail
from trail_validators.cli.object_store_reader import MAX_FOLDER_CHECKS, ObjectStoreReader
from trail_validators.digests.aws import S3Reader
from trail_validators.digests.chain import Window
from trail_validators.digests.digest import MAX_COMPRESSED_DIGEST
from trail_validators.digests.layout import ChainId, TrailLocation
from trail_validators.digests.run import discover_chains, validate_trail

BUCKET = "org-trail-bucket"
CHAINS = [ChainId("111111111111", "us-east-1"), ChainId("222222222222", "eu-west-1")]
ACCOUNT = "org/AWSLogs/o-a1b2c3d4e5/111111111111/"
LOGS, DIGESTS = f"{ACCOUNT}CloudTrail/us-east-1/", f"{ACCOUNT}CloudTrail-Digest/us-east-1/"
LOG_DAY, DIGEST_DAY = f"{LOGS}2026/11/20/", f"{DIGESTS}2026/11/20/"
WINDOW = Window(T0 + timedelta(minutes=5), T0 + timedelta(hours=4, minutes=20), T0 + timedelta(hours=6))


@pytest.fixture(scope="module")
def trail() -> SimulatedTrail:
    """Signed once for the module (an RSA key and six hours of two chains)."""
    sim = SimulatedTrail(TrailLocation(BUCKET, "org", "o-a1b2c3d4e5", "org-trail", "us-east-1"))
    for chain in CHAINS:
        sim.deliver(chain, T0 - timedelta(hours=1), 6)
    return sim


@pytest.fixture
def s3(moto_endpoint, trail):
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    trail.upload(client)
    return client


def _log(trail, hour="T01"):
    return next(key for key in sorted(trail.objects) if key.startswith(LOG_DAY) and f"_20261120{hour}" in key)


def _digest(trail, hour="T02"):
    return next(key for key in sorted(trail.objects) if key.startswith(DIGEST_DAY) and f"_20261120{hour}" in key)


def _put(*keys):
    return lambda trail, s3: [(key, b"x") for key in keys]


def _moved(source, to, keep=False, metadata=None):
    """The object at ``source(trail)`` copied to ``to(key)``; the original deleted unless kept."""
    def mutate(trail, s3):
        key = source(trail)
        if not keep:
            s3.delete_object(Bucket=BUCKET, Key=key)
        return [(to(key), trail.objects[key].data, metadata or trail.objects[key].metadata)]
    return mutate


def _metadata(source, **changed):
    def mutate(trail, s3):
        key = source(trail)
        stored = trail.objects[key]
        return [(key, stored.data, {**stored.metadata, **{name: value(stored.metadata) for name, value in
                                                          changed.items()}})]
    return mutate


_LEVELS = ["org/", "org/AWSLogs/", "org/AWSLogs/o-a1b2c3d4e5/", ACCOUNT, f"{ACCOUNT}CloudTrail/", LOGS,
           f"{LOGS}2026/", f"{LOGS}2026/11/", LOG_DAY, DIGESTS, DIGEST_DAY]
HOSTILE = {
    "a log's trailing-slash twin beside it": _moved(_log, lambda key: f"{key}/", keep=True),
    "a log replaced by its trailing-slash twin": _moved(_log, lambda key: f"{key}/"),
    "a digest's trailing-slash twin beside it": _moved(_digest, lambda key: f"{key}/", keep=True),
    "a digest replaced by its trailing-slash twin": _moved(_digest, lambda key: f"{key}/"),
    "a log moved into a subfolder of its day": _moved(_log, lambda key: key.replace(LOG_DAY, f"{LOG_DAY}sub/")),
    "a digest moved under its own name as a folder": _moved(_digest, lambda key: f"{key}/{key.rsplit('/', 1)[1]}"),
    "folder markers at every level": _put(*_LEVELS),
    "empty, dot and dot-dot segments and control characters at every level": _put(
        *[f"{level}{tail}" for level in _LEVELS for tail in ("/", "a//b", "./x", "../x", "\x01", "x\x7f")]),
    "spaces, percent escapes, unicode": _put(f"{LOG_DAY}x ", f"{LOG_DAY}a%2Fb", f"{LOG_DAY}ü", f"{DIGEST_DAY}\u2028"),
    "keys directly under the region folder": _put(f"{LOGS}x", f"{LOGS}2026", f"{LOGS}2026/11", f"{LOGS}2026/11/20"),
    "keys and folders that sort between day folders": _put(
        f"{LOGS}2026/11/20!x", f"{LOGS}2026/11/20 x", f"{LOGS}2026/11/200/k", f"{LOGS}2026/11/20.json.gz",
        f"{DIGESTS}2026/11/20!x", f"{DIGESTS}2026/11/20.json.gz/"),
    "stray folders whose names sort apart from S3's order of folders": _put(
        f"{LOGS}x/k", f"{LOGS}x!/k", f"{LOGS}x /k", f"{DIGESTS}x/k", f"{DIGESTS}x-/k",
        f"{ACCOUNT}CloudTrail/zz/k", f"{ACCOUNT}CloudTrail/zz!/k", f"{LOGS}2026/1/k", f"{LOGS}2026/1!/k"),
    "keys of 1024 bytes": _put(LOG_DAY + "a" * (1024 - len(LOG_DAY)), LOG_DAY + "b" * (1023 - len(LOG_DAY)) + "/"),
    "a flood of tiny folders in a day folder": _put(*[f"{LOG_DAY}f{n:03d}/k" for n in range(MAX_FOLDER_CHECKS + 8)]),
    "a flood of tiny folders between days": _put(*[f"{LOGS}2026/11/20{n:03d}/k" for n in range(MAX_FOLDER_CHECKS + 8)]),
    "a trailing-slash key first on the second page of a day": lambda trail, s3: _page_boundary(trail, 1000, "/"),
    "a key with an empty segment last on the first page of a day": lambda trail, s3: _page_boundary(trail, 999, "//x"),
    "a digest's algorithm metadata with a trailing blank": _metadata(
        _digest, **{"signature-algorithm": lambda metadata: "SHA256withRSA "}),
    "a digest's signature metadata with a trailing blank": _metadata(
        _digest, signature=lambda metadata: f"{metadata['signature']} "),
    "a log stored with Content-Encoding gzip": lambda trail, s3: [
        (_log(trail), trail.objects[_log(trail)].data, {}, {"ContentEncoding": "gzip"})],
    "a digest over the size cap": lambda trail, s3: [
        (_digest(trail), gzip.compress(b"{}", mtime=0) + bytes(MAX_COMPRESSED_DIGEST),
         trail.objects[_digest(trail)].metadata)],
}


def _page_boundary(trail, index, tail):
    """1,100 objects in a day folder, and a hostile key at ``index`` of the listing of the
    chain's log folder (S3's pages hold 1,000 keys)."""
    filler = [f"{LOG_DAY}{n:05d}" for n in range(1100)]
    listed = sorted(key for key in [*trail.objects, *filler] if key > f"{LOGS}2026/11/19")
    return [(key, b"x") for key in filler] + [(listed[index] + tail, b"x")]


def _outcome(reader, trail) -> dict:
    chains = discover_chains(reader, trail.location)
    result = validate_trail(reader, trail.location, chains, WINDOW, lambda region, window: trail.public_keys,
                            concurrency=8)
    return {"chains": chains, "failed": result.failed, "findings": [f.to_dict() for f in result.findings],
            "counts": [{name: value for name, value in dataclasses.asdict(chain).items() if name != "findings"}
                       for chain in result.chains]}


@pytest.mark.parametrize("content", HOSTILE)
def test_a_hostile_bucket_gets_the_same_verdict_and_findings_through_obstore_as_through_boto3(s3, trail, content):
    for key, data, *rest in HOSTILE[content](trail, s3):
        metadata, extra = (rest + [{}, {}])[:2]
        s3.put_object(Bucket=BUCKET, Key=key, Body=data, Metadata=dict(metadata), **extra)
    through_boto3 = _outcome(S3Reader(s3, BUCKET), trail)
    assert _outcome(ObjectStoreReader(boto3.Session(), BUCKET), trail) == through_boto3
    assert through_boto3["failed"] == (content != "a log stored with Content-Encoding gzip" and "trailing blank"
                                       not in content)


@pytest.mark.parametrize("names", [["x", "x!"], ["x", "x ", "x-", "x."], ["2026", "2026 ", "2026!"], ["a", "ab", "a~"]])
def test_folder_names_come_in_s3s_order_not_in_the_order_of_names_without_their_slash(s3, names):
    """S3 sorts "x!/" before "x/"; obstore reports both without the "/" and so sorts "x" first."""
    for name in names:
        s3.put_object(Bucket=BUCKET, Key=f"P/{name}/k", Body=b"x")
    ours, boto = ObjectStoreReader(boto3.Session(), BUCKET), S3Reader(s3, BUCKET)
    assert ours.list_level("P/") == boto.list_level("P/") == ([], sorted(names, key=lambda name: f"{name}/"))
    assert ours.list_children("P/") == boto.list_children("P/")


@pytest.mark.parametrize("value", ["SHA256withRSA ", " SHA256withRSA", "SHA256withRSA\t", "  a b  "])
def test_metadata_reads_the_same_through_either_reader_whatever_blanks_surround_it(s3, value):
    """obstore's HTTP client drops the blanks around a header's value, http.client only the
    leading ones: a digest's algorithm or signature must not read differently."""
    s3.put_object(Bucket=BUCKET, Key="P/digest.json.gz", Body=b"x", Metadata={"signature-algorithm": value})
    ours = ObjectStoreReader(boto3.Session(), BUCKET).get("P/digest.json.gz")
    assert ours == S3Reader(s3, BUCKET).get("P/digest.json.gz")
    assert ours.metadata == {"signature-algorithm": value.strip()}
