"""The hash a digest records for a log file: SHA-256 of the decompressed content. Pure."""

from __future__ import annotations

import hashlib
import zlib

CHUNK = 1024 * 1024


class LogFormatError(ValueError):
    pass


def log_sha256(data: bytes) -> str:
    """Hex SHA-256 of one gzip stream's content; data after the stream is invalid (a
    second gzip member too), as is a truncated stream."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    digest = hashlib.sha256()
    view = memoryview(data)
    offset = 0
    try:
        for offset in range(0, len(data), CHUNK):
            digest.update(inflater.decompress(view[offset:offset + CHUNK]))
            if inflater.eof:
                break
        digest.update(inflater.flush())
    except zlib.error as error:
        raise LogFormatError(f"not gzip: {error}") from None
    if not inflater.eof:
        raise LogFormatError("truncated gzip stream")
    if inflater.unused_data or offset + CHUNK < len(data):
        raise LogFormatError("data after the end of the gzip stream")
    return digest.hexdigest()
