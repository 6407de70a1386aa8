"""The command line's S3 reader: boto3 lists, obstore fetches.

A validation run fetches thousands of small objects. boto3 spends about 2 ms of CPU on
each request and holds the GIL while doing so, so one process tops out near 500
requests a second. obstore (Rust's ``object_store``) signs and
transfers without the GIL for a fraction of that. boto3 still decides where and as whom:
obstore is pointed at the very URL boto3 sent its HeadBucket to (custom endpoints such as
``AWS_ENDPOINT_URL_S3``, FIPS, dual-stack, the bucket's region after a redirect) and signs
with the boto3 session's credentials (profiles, SSO, roles).

Listings go through obstore too (boto3 spends about 3 ms of CPU parsing a page of keys),
but object_store reports a key as a path: it refuses keys with empty, "." or ".." segments
or control characters, and drops a trailing "/" ("K/" comes back as "K"). So a key obstore
lists is taken only from a folder known to hold no subfolder, where no key ends in "/"
(one delimited LIST per folder, kept for the run); anything else, and whatever obstore
refuses, is listed on through boto3 from the last key taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator
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
        self._leaf_folders: dict[str, bool] = {}
        """folder -> it holds no subfolder (a delimited LIST found no common prefix)"""
        location = locate_bucket(self.client, bucket)
        self._obstore = obstore
        self._store = S3Store(
            bucket, region=location.region, endpoint=location.endpoint,
            virtual_hosted_style_request=location.virtual_hosted,
            credential_provider=Boto3CredentialProvider(session),
            client_options={"allow_http": location.endpoint.startswith("http://"), **(client_options or {})})

    def list_keys(self, prefix: str) -> list[str]:
        return list(self._listed(prefix, ""))

    def list_after(self, prefix: str, start_after: str) -> Iterator[str]:
        return self._listed(prefix, start_after)

    def _listed(self, prefix: str, start_after: str) -> Iterator[str]:
        last, folders_checked = start_after, 0
        if _lists_exactly(prefix, start_after):
            try:
                pages = self._obstore.list(self._store, prefix, offset=start_after or None, chunk_size=1000)
                for key in _rising_keys(prefix, (meta["path"] for page in pages for meta in page), start_after):
                    folder = key[:key.rindex("/") + 1]
                    if key != prefix:  # the folder's own marker is exact as it is
                        if folder not in self._leaf_folders:
                            folders_checked += 1
                            if folders_checked > MAX_FOLDER_CHECKS:
                                raise _Inexact(folder)
                            self._leaf_folders[folder] = self._holds_no_folder(folder)
                        if not self._leaf_folders[folder]:
                            raise _Inexact(folder)
                    yield key
                    last = key
                return
            except (_Inexact, self._obstore.exceptions.BaseError):
                pass
        yield from super().list_after(prefix, last) if last else super().list_keys(prefix)

    def _holds_no_folder(self, folder: str) -> bool:
        try:
            return not self._obstore.list_with_delimiter(self._store, folder)["common_prefixes"]
        except self._obstore.exceptions.BaseError:
            return False

    def list_level(self, prefix: str) -> tuple[list[str], list[str]]:
        if not _lists_exactly(prefix, ""):
            return super().list_level(prefix)
        try:
            level = self._obstore.list_with_delimiter(self._store, prefix)
            keys = list(_rising_keys(prefix, (meta["path"] for meta in level["objects"]), ""))
        except (_Inexact, self._obstore.exceptions.BaseError):
            return super().list_level(prefix)
        # obstore reports "P/a/" as "P/a" and sorts without the "/": S3's order is the
        # folders' own ("P/a!/" before "P/a/").
        folders = sorted(level["common_prefixes"], key=lambda path: f"{path}/")
        names = [path[len(prefix):] for path in folders]
        if any(not path.startswith(prefix) for path in folders) or any(not n or "/" in n for n in names):
            return super().list_level(prefix)
        return keys, names

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


MAX_FOLDER_CHECKS = 64
"""Folders one listing checks for subfolders before boto3 lists the rest: what a flood of
tiny folders can add to a listing's requests."""


class _Inexact(Exception):
    """obstore may not have reported a key as S3 stores it: boto3 lists on."""


def _lists_exactly(prefix: str, start_after: str) -> bool:
    """Listings obstore is asked for: under a folder (a prefix ending in "/") that it
    keeps as it is, from a key it keeps as it is."""
    return (prefix.endswith("/") and obstore_fetches_exactly(prefix[:-1])
            and (not start_after or (start_after.startswith(prefix) and obstore_fetches_exactly(start_after))))


def _rising_keys(prefix: str, paths: Iterable[str], start_after: str) -> Iterator[str]:
    """obstore's paths as S3's keys: the folder's own marker ("P/", reported as "P") as it
    is stored; _Inexact as soon as a key does not sort after the one before it."""
    last = start_after
    for path in paths:
        key = prefix if path == prefix[:-1] else path
        if not key.startswith(prefix) or key <= last:
            raise _Inexact(key)
        yield key
        last = key


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
