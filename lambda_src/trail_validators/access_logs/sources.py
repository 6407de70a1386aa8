"""Where access-log objects come from: files, folders (recursively, symlinked folders
followed once each) and s3://bucket/prefix. Objects are read in chunks, never whole.

Anything that cannot be read (missing, no permission, a name too long, a dangling link, a
FIFO or device) is a SourceError naming the path: the audit stops with that one line
rather than pass over an input it was given."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

READ_CHUNK_BYTES = 256 * 2**10
"""Bytes read from a file or an S3 body at a time."""


class SourceError(Exception):
    """An input that cannot be read: missing path, no access, not a log."""


@dataclass(frozen=True)
class LogObject:
    name: str
    chunks: Callable[[], Iterator[bytes]]
    """Its bytes, READ_CHUNK_BYTES at a time."""


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
