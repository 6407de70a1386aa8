"""Where access-log objects come from: files, folders (recursively, symlinked folders
followed once each) and s3://bucket/prefix. Objects are read in chunks, never whole.

Anything that cannot be read (missing, no permission, a name too long, a dangling link, a
FIFO or device) is a SourceError naming the path: the audit stops with that one line
rather than pass over an input it was given."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterator, Mapping
from urllib.parse import unquote_plus

from ..findings import Finding, Severity

READ_CHUNK_BYTES = 256 * 2**10
"""Bytes read from a file or an S3 body at a time."""


class SourceError(Exception):
    """An input that cannot be read: missing path, no access, not a log."""


@dataclass(frozen=True)
class LogObject:
    name: str
    chunks: Callable[[], Iterator[bytes]]
    """Its bytes, READ_CHUNK_BYTES at a time."""


OBJECT_GONE = "access_log_object_gone"
OBJECT_CHANGED = "access_log_object_changed"


@dataclass(frozen=True)
class AnnouncedObject:
    """An access-log object as an S3 event announced it: the version to read and the ETag
    it must have. S3 never rewrites a delivered access log, so an object that is gone or
    differs by the time it is read was deleted or overwritten by someone."""

    bucket: str
    key: str
    etag: str
    """Without quotes; empty when the event named none."""
    version_id: str | None
    """None when the event named none (a bucket without versioning)."""

    @property
    def source(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def announced_objects(message: Mapping[str, Any]) -> list[AnnouncedObject]:
    """The objects of an EventBridge ``Object Created`` event or an S3 event notification
    (an S3 test event announces none). KeyError or TypeError for anything else."""
    if message.get("detail-type") == "Object Created":
        detail = message["detail"]
        item = detail["object"]
        return [AnnouncedObject(_text(detail["bucket"]["name"]), _text(item["key"]), _etag(item.get("etag")),
                                _version(item.get("version-id")))]
    if message.get("Event") == "s3:TestEvent":
        return []
    found = []
    for record in message["Records"]:
        s3 = record["s3"]
        item = s3["object"]
        found.append(AnnouncedObject(_text(s3["bucket"]["name"]), unquote_plus(_text(item["key"])),
                                     _etag(item.get("eTag")), _version(item.get("versionId"))))
    return found


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{value!r} is not a name")
    return value


def _etag(value: Any) -> str:
    return value.strip('"') if isinstance(value, str) else ""


def _version(value: Any) -> str | None:
    # S3 writes "null" for an object put while versioning was never enabled.
    return value if isinstance(value, str) and value and value != "null" else None


def gone_finding(announced: AnnouncedObject, error_code: str) -> Finding:
    which = f"version {announced.version_id}" if announced.version_id else "the object"
    return Finding(OBJECT_GONE, Severity.HIGH,
                   f"{announced.source}: {which} announced by S3 cannot be read ({error_code}): the access log "
                   "was deleted before it was audited, and requests it recorded are unaudited.",
                   keys=(announced.key,), details={"version_id": announced.version_id or "",
                                                    "etag": announced.etag, "error": error_code[:100]})


def changed_finding(announced: AnnouncedObject, read_etag: str) -> Finding:
    if not announced.etag:
        why = "the event named no ETag, so what was read cannot be matched to what S3 delivered"
    else:
        why = f"its ETag is {read_etag!r}, not the announced {announced.etag!r}: it was overwritten"
    return Finding(OBJECT_CHANGED, Severity.HIGH,
                   f"{announced.source}: the object read is not the one S3 announced ({why}); what was read is "
                   "audited, the announced content is not.",
                   keys=(announced.key,), details={"version_id": announced.version_id or "",
                                                    "announced_etag": announced.etag, "read_etag": read_etag})


def body_chunks(body: BinaryIO) -> Iterator[bytes]:
    """The bytes of an open file or a boto3 StreamingBody, chunk by chunk; closes it."""
    try:
        while chunk := body.read(READ_CHUNK_BYTES):
            yield chunk
    finally:
        body.close()


def local_objects(path: str, seen: set[tuple[int, int]] | None = None) -> Iterator[LogObject]:
    """The file, or every file below the folder in name order. Each file and folder is
    visited once however many links lead to it (``seen``: (device, inode) pairs, shared
    between inputs), so a link back to a folder already walked (a loop) ends there."""
    seen = set() if seen is None else seen
    to_visit = [path]
    while to_visit:
        entry = to_visit.pop()
        info = _stat(entry)
        if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
            raise SourceError(f"{_shown(entry)}: not a regular file or folder")
        if (info.st_dev, info.st_ino) in seen:
            continue
        seen.add((info.st_dev, info.st_ino))
        if stat.S_ISDIR(info.st_mode):
            to_visit.extend(reversed(_sorted_entries(entry)))
        else:
            yield _file_object(entry)


def _sorted_entries(folder: str) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return sorted(entry.path for entry in entries)
    except OSError as error:
        raise SourceError(f"{_shown(folder)}: cannot list the folder: {error.strerror}") from None


def _stat(path: str) -> os.stat_result:
    try:
        return os.stat(path)  # follows symlinks: a dangling one fails here
    except FileNotFoundError:
        raise SourceError(f"{_shown(path)}: no such file or folder") from None
    except OSError as error:
        raise SourceError(f"{_shown(path)}: cannot read: {error.strerror}") from None


def _file_object(path: str) -> LogObject:
    def chunks() -> Iterator[bytes]:
        try:
            with open(path, "rb") as file:
                yield from body_chunks(file)
        except OSError as error:
            raise SourceError(f"{_shown(path)}: cannot read: {error.strerror}") from None
    return LogObject(_shown(path), chunks)


def _shown(path: str) -> str:
    """A path as text that can always be printed (undecodable bytes in a name escaped)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def s3_objects(url: str, client) -> Iterator[LogObject]:
    """Every object under s3://bucket/prefix, in key order."""
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise SourceError(f"{url}: expected s3://bucket/prefix")
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            yield LogObject(f"s3://{bucket}/{key}",
                            lambda key=key: body_chunks(client.get_object(Bucket=bucket, Key=key)["Body"]))


def objects(inputs: list[str], s3_client_factory: Callable[[], object]) -> Iterator[LogObject]:
    s3_client, seen = None, set()
    for item in inputs:
        if item.startswith("s3://"):
            s3_client = s3_client or s3_client_factory()
            yield from s3_objects(item, s3_client)
        else:
            yield from local_objects(item, seen)
