"""The command line's S3 reader: boto3 lists, obstore fetches.

A validation run fetches thousands of small objects. boto3 spends about 2 ms of CPU on
each request and holds the GIL while doing so, so one process tops out near 500
requests a second. obstore (Rust's ``object_store``) signs and
transfers without the GIL for a fraction of that. boto3 still decides where and as whom:
obstore is pointed at the very URL boto3 sent its HeadBucket to (custom endpoints such as
``AWS_ENDPOINT_URL_S3``, FIPS, dual-stack, the bucket's region after a redirect) and signs
with the boto3 session's credentials (profiles, SSO, roles). Listing stays on boto3,
which reports every key exactly as S3 stores it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit

from ..digests.aws import S3Reader
from ..digests.chain import StoredObject
from ..digests.log_files import CHUNK

_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
_STANDARD_ATTRIBUTES = frozenset(
    {"Content-Disposition", "Content-Encoding", "Content-Language", "Content-Type", "Cache-Control", "Storage-Class"})


class ObjectStoreReader(S3Reader):
    """S3Reader whose ``get`` goes through obstore (thread-safe, releases the GIL)."""

    def __init__(self, session, bucket: str, config=None, verify: bool | str | None = None,
                 client_options: dict | None = None) -> None:
        """``verify`` and ``client_options``: the same TLS settings for boto3 and obstore."""
        import obstore
        from obstore.auth.boto3 import Boto3CredentialProvider
        from obstore.store import S3Store

        super().__init__(session.client("s3", config=config, verify=verify), bucket)
        location = locate_bucket(self.client, bucket)
        self._obstore = obstore
        self._store = S3Store(
            bucket, region=location.region, endpoint=location.endpoint,
            virtual_hosted_style_request=location.virtual_hosted,
            credential_provider=Boto3CredentialProvider(session),
            client_options={"allow_http": location.endpoint.startswith("http://"), **(client_options or {})})

    def get(self, key: str, max_bytes: int | None = None) -> StoredObject | None:
        if not obstore_fetches_exactly(key):
            return super().get(key, max_bytes)
        response = self._get(key)
        if response is _AskBoto3:
            return super().get(key, max_bytes)
        if response is None:
            return None
        if max_bytes is None or response.meta["size"] <= max_bytes:
            data = bytes(response.bytes())
        else:  # over the cap: read just enough to show it
            data = next(iter(response.stream(min_chunk_size=max_bytes + 1)), b"")[:max_bytes + 1]
        metadata = {name: value for name, value in response.attributes.items() if name not in _STANDARD_ATTRIBUTES}
        return StoredObject(bytes(data), metadata)

    def stream(self, key: str) -> Iterator[bytes] | None:
        if not obstore_fetches_exactly(key):
            return super().stream(key)
        response = self._get(key)
        if response is _AskBoto3:
            return super().stream(key)
        if response is None:
            return None
        if response.meta["size"] <= CHUNK:  # most logs: one buffer, no stream to drive
            return iter((bytes(response.bytes()),))
        return (bytes(chunk) for chunk in response.stream(min_chunk_size=CHUNK))

    def _get(self, key: str):
        """obstore's answer, or None; on any other error of this object, boto3 asks again and
        says whether it is one the run must stop for or a finding about the object."""
        try:
            return self._obstore.get(self._store, key)
        except FileNotFoundError:
            return None
        except self._obstore.exceptions.BaseError:
            return _AskBoto3


_AskBoto3 = object()


def obstore_fetches_exactly(key: str) -> bool:
    """object_store rejects keys with empty, "." or ".." segments or control characters,
    and would quietly fetch "a/b" for "a/b/" or "/a": such keys go through boto3."""
    return all(segment not in ("", ".", "..") for segment in key.split("/")) and not _CONTROL_CHARACTER.search(key)


@dataclass(frozen=True)
class BucketLocation:
    region: str
    endpoint: str
    """The bucket's URL (virtual-hosted style) or the service's (path style)."""
    virtual_hosted: bool


def locate_bucket(client, bucket: str) -> BucketLocation:
    """Where boto3's endpoint rules send requests on this bucket: HeadBucket is sent (and
    re-sent after a wrong-region redirect) and the last URL is kept."""
    sent: list[str] = []
    client.meta.events.register("before-send.s3.HeadBucket", lambda request, **_: sent.append(request.url))
    headers = client.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]
    region = headers.get("x-amz-bucket-region") or client.meta.region_name
    url = urlsplit(sent[-1])
    path = url.path.rstrip("/")
    if path.endswith(f"/{bucket}"):  # path style: the service's URL, then the bucket
        return BucketLocation(region, f"{url.scheme}://{url.netloc}{path[:-len(bucket) - 1]}", virtual_hosted=False)
    return BucketLocation(region, f"{url.scheme}://{url.netloc}{path}", virtual_hosted=True)
