"""The hash a digest records for a log file: SHA-256 of the decompressed content. Pure.

Memory budget: a log object is hashed while it streams in, so whatever its size or
compression ratio, hashing one holds at most one input chunk (the reader's, about CHUNK)
and one CHUNK of output. Time is bounded by the caps: a log over MAX_LOG_OBJECT_BYTES
compressed, or inflating beyond MAX_RATIO times what was read (at least RATIO_FLOOR,
at most MAX_LOG_BYTES), is not the file CloudTrail delivered. CloudTrail's gzipped JSON
inflates about ten times; a gzip bomb a thousand.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Iterable

CHUNK = 1024 * 1024
MAX_LOG_OBJECT_BYTES = 512 * 1024 * 1024
MAX_LOG_BYTES = 2 * 1024 * 1024 * 1024
MAX_RATIO = 200
RATIO_FLOOR = 64 * 1024 * 1024


class LogFormatError(ValueError):
    pass


def log_sha256(chunks: Iterable[bytes]) -> str:
    """Hex SHA-256 of one gzip stream's content, read chunk by chunk. Data after the stream
    (a second gzip member too), a truncated stream and anything over the caps raise
    LogFormatError."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    digest = hashlib.sha256()
    read = inflated = 0
    try:
        for chunk in chunks:
            read += len(chunk)
            if read > MAX_LOG_OBJECT_BYTES:
                raise LogFormatError(f"over {MAX_LOG_OBJECT_BYTES} bytes compressed")
            if inflater.eof:
                if chunk:
                    raise LogFormatError("data after the end of the gzip stream")
                continue
            pending = chunk
            while True:
                out = inflater.decompress(pending, CHUNK)
                inflated += len(out)
                if inflated > min(MAX_LOG_BYTES, max(RATIO_FLOOR, MAX_RATIO * read)):
                    raise LogFormatError(f"inflates to over {inflated} bytes from {read} (a gzip bomb?)")
                digest.update(out)
                pending = inflater.unconsumed_tail
                if inflater.eof or (not pending and len(out) < CHUNK):
                    break
            if inflater.unused_data:
                raise LogFormatError("data after the end of the gzip stream")
        digest.update(inflater.flush())
    except zlib.error as error:
        raise LogFormatError(f"not gzip: {error}") from None
    if not inflater.eof:
        raise LogFormatError("truncated gzip stream")
    return digest.hexdigest()
