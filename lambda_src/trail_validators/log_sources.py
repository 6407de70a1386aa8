"""Where access-log lines come from: files, folders (plain or gzipped) and s3://bucket/prefix."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

GZIP_MAGIC = b"\x1f\x8b"


class SourceError(Exception):
    """An input that cannot be read: missing path, no access, not a log."""


@dataclass(frozen=True)
class LogObject:
    name: str
    read: Callable[[], bytes]


def decode_lines(data: bytes) -> list[str]:
    """Bytes of one log object (gzip detected by magic) to its lines."""
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise SourceError(f"corrupt gzip data: {error}") from None
    return io.StringIO(data.decode("utf-8", errors="replace")).read().splitlines()


def local_objects(path: str) -> Iterator[LogObject]:
    root = Path(path)
    if root.is_file():
        yield LogObject(str(root), root.read_bytes)
    elif root.is_dir():
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            yield LogObject(str(file), file.read_bytes)
    else:
        raise SourceError(f"{path}: no such file or folder")


def s3_objects(url: str, client) -> Iterator[LogObject]:
    """Every object under s3://bucket/prefix, in key order."""
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise SourceError(f"{url}: expected s3://bucket/prefix")
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            yield LogObject(f"s3://{bucket}/{key}",
                            lambda key=key: client.get_object(Bucket=bucket, Key=key)["Body"].read())


def objects(inputs: list[str], s3_client_factory: Callable[[], object]) -> Iterator[LogObject]:
    s3_client = None
    for item in inputs:
        if item.startswith("s3://"):
            s3_client = s3_client or s3_client_factory()
            yield from s3_objects(item, s3_client)
        else:
            yield from local_objects(item)
