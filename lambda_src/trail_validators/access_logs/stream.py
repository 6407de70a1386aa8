"""One access-log object's bytes, as they arrive, to the text of its records. Pure: no I/O.

Only "\\n" ends a record (a "\\r" just before it is the parser's to drop). S3 escapes nothing
inside the quoted fields, so U+2028, U+0085, "\\v", "\\f" or a lone "\\r" in a user-agent
belong to the record: splitting there, as ``str.splitlines`` does, lets a client cut one
record into two forged ones.

Gzip is recognised by its magic bytes and inflated step by step. Whatever the object holds,
memory stays bounded (``access_log_audit.MEMORY_BUDGET_BYTES`` adds it up), and what does
not fit is reported, never dropped:
- a record longer than MAX_LINE_BYTES (the bytes before its "\\n") becomes an
  ``OverlongRecord`` (its text is skipped);
- past MAX_OBJECT_BYTES decompressed bytes or MAX_OBJECT_LINES lines, or at corrupt gzip
  data, the object is cut: an ``ObjectCut`` ends the stream and the partial record at the
  cut is not parsed (it could be a forged prefix of a longer one).
"""

from __future__ import annotations

import itertools
import zlib
from typing import Iterable, Iterator, NamedTuple

GZIP_MAGIC = b"\x1f\x8b"

MAX_OBJECT_BYTES = 64 * 2**20
"""Decompressed bytes read from one object. S3 delivers server access logs in objects far
smaller than this; a gzip bomb stops here (a 1 MB bomb inflates to about 1 GB)."""
MAX_OBJECT_LINES = 1_000_000
"""Lines read from one object (give or take one batch). Real records are over 200 bytes, so
only an object of tiny or blank lines reaches this; it bounds the time such an object takes."""
MAX_LINE_BYTES = 32 * 2**10
"""Longest record. S3 refuses requests whose header section exceeds 8 KiB and keys longer
than 1 KiB, so the records it writes stay far below this."""
INFLATE_STEP_BYTES = 256 * 2**10
"""Most bytes one inflate step may produce, so a bomb never expands in one call."""

OVERSIZED = "oversized_log_object"
CORRUPT = "corrupt_log_object"


class OverlongRecord(NamedTuple):
    """A record longer than MAX_LINE_BYTES, in place of its text: skipped, reported as
    unparseable."""
    length: int
    head: str
    """Its first bytes, decoded, for the report."""


class ObjectCut(NamedTuple):
    """The end of what was read of an object that is too large or corrupt."""
    kind: str
    """OVERSIZED or CORRUPT."""
    reason: str
    unfinished_bytes: int
    """Bytes of the record that the cut interrupted (not parsed)."""


class _Cut(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def record_lines(chunks: Iterable[bytes]) -> Iterator[list[str] | OverlongRecord | ObjectCut]:
    """The object's records in order: batches of lines (each a record's text without its
    "\\n"; empty lines kept, so that numbering stays exact), an ``OverlongRecord`` in place of
    each over-long record, and at most one ``ObjectCut``, always last."""
    splitter = _Splitter()
    read = 0
    try:
        for piece in _decompressed(chunks):
            read += len(piece)
            if read > MAX_OBJECT_BYTES:
                yield from splitter.feed(piece[:len(piece) - (read - MAX_OBJECT_BYTES)])
                read = MAX_OBJECT_BYTES
                raise _Cut(OVERSIZED, f"more than {MAX_OBJECT_BYTES:,} bytes (decompressed); "
                                      "the rest of the object is not audited")
            yield from splitter.feed(piece)
            if splitter.lines > MAX_OBJECT_LINES:
                raise _Cut(OVERSIZED, f"more than {MAX_OBJECT_LINES:,} lines; the rest of the object is not audited")
    except _Cut as cut:
        yield ObjectCut(cut.kind, cut.reason, splitter.unfinished)
        return
    yield from splitter.finish()


class _Splitter:
    """Bytes in any pieces to batches of lines; holds at most MAX_LINE_BYTES of an
    unfinished record."""

    def __init__(self) -> None:
        self.pending = bytearray()
        self.skipping = 0  # length so far of an over-long record being skipped
        self.skipped_head = ""
        self.lines = 0

    @property
    def unfinished(self) -> int:
        return self.skipping or len(self.pending)

    def feed(self, piece: bytes) -> Iterator[list[str] | OverlongRecord]:
        if self.skipping:
            end = piece.find(b"\n")
            if end < 0:
                self.skipping += len(piece)
                return
            yield self._overlong(self.skipping + end, self.skipped_head)
            self.skipping = 0
            piece = piece[end + 1:]
        last = piece.rfind(b"\n")
        if last < 0:
            self._keep(piece)
            return
        start = 0
        if self.pending:  # the record that began in an earlier piece ends here
            start = piece.find(b"\n") + 1
            self.pending += piece[:start - 1]
            yield from self._batches(bytes(self.pending), 0, len(self.pending))
            self.pending = bytearray()
        if start <= last:
            yield from self._batches(piece, start, last)
        self._keep(piece[last + 1:])

    def finish(self) -> Iterator[list[str] | OverlongRecord]:
        if self.skipping:
            yield self._overlong(self.skipping, self.skipped_head)
        elif self.pending:
            yield from self._batches(bytes(self.pending), 0, len(self.pending))

    def _keep(self, start_of_record: bytes) -> None:
        self.pending += start_of_record
        if len(self.pending) > MAX_LINE_BYTES:
            self.skipping, self.skipped_head = len(self.pending), _head(self.pending)
            self.pending = bytearray()

    def _overlong(self, length: int, head: str) -> OverlongRecord:
        self.lines += 1
        return OverlongRecord(length, head)

    def _batches(self, data: bytes, start: int, stop: int) -> Iterator[list[str] | OverlongRecord]:
        """The complete records in data[start:stop] ("\\n" between them, none after)."""
        lines = str(memoryview(data)[start:stop], "utf-8", "replace").split("\n")
        self.lines += len(lines)
        if not _may_hold_overlong(data, start, stop):
            yield lines
            return
        self.lines -= len(lines)
        kept: list[str] = []
        for line, raw in zip(lines, data[start:stop].split(b"\n")):
            if len(raw) <= MAX_LINE_BYTES:
                kept.append(line)
                continue
            if kept:
                self.lines += len(kept)
                yield kept
                kept = []
            yield self._overlong(len(raw), line[:_HEAD_CHARS])
        if kept:
            self.lines += len(kept)
            yield kept


_HEAD_CHARS = 200
_HALF_LINE = MAX_LINE_BYTES // 2


def _may_hold_overlong(data: bytes, start: int, stop: int) -> bool:
    """False when no record in data[start:stop] is longer than MAX_LINE_BYTES. Such a record
    would hold, "\\n"-free, one of the aligned windows of half that size: finding a "\\n" in
    each window is a few C calls per block instead of a length test per line."""
    return any(data.find(b"\n", window, window + _HALF_LINE) < 0
               for window in range(start, stop - _HALF_LINE + 1, _HALF_LINE))


def _head(data: bytes | bytearray) -> str:
    return bytes(data[:_HEAD_CHARS]).decode("utf-8", "replace")


def _decompressed(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The object's bytes, inflated step by step when it starts with the gzip magic."""
    chunks = iter(chunks)
    first = b""
    for chunk in chunks:  # the magic may arrive split over two chunks
        first += chunk
        if len(first) >= len(GZIP_MAGIC):
            break
    if first.startswith(GZIP_MAGIC):
        yield from _inflated(first, chunks)
        return
    # Plain text in steps too, so that no block of lines is larger than an inflated one.
    for chunk in itertools.chain((first,), chunks):
        for start in range(0, len(chunk), INFLATE_STEP_BYTES):
            yield chunk[start:start + INFLATE_STEP_BYTES]


def _inflated(data: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Every gzip member in turn; anything after a member but another member (zero padding
    too) is corrupt, as data after a CloudTrail log's gzip stream is."""
    inflater = None  # None between members
    between = b""    # bytes after a member too short yet to tell what follows
    while data is not None:
        more_output = False
        while data or more_output:
            if inflater is None:
                data = between + data
                if len(data) < len(GZIP_MAGIC):
                    between = data
                    break
                if not data.startswith(GZIP_MAGIC):
                    raise _Cut(CORRUPT, "data after the end of the gzip stream")
                between, inflater = b"", zlib.decompressobj(wbits=31)
            try:
                piece = inflater.decompress(data, INFLATE_STEP_BYTES)
            except zlib.error as error:
                raise _Cut(CORRUPT, f"corrupt gzip data ({error})") from None
            if piece:
                yield piece
            if inflater.eof:
                data, inflater, more_output = inflater.unused_data, None, False
            else:
                # A full step may leave output inside zlib with no input left.
                data, more_output = inflater.unconsumed_tail, len(piece) == INFLATE_STEP_BYTES
        data = next(chunks, None)
    if inflater is not None:
        raise _Cut(CORRUPT, "the gzip stream ends early (truncated object)")
    if between:
        raise _Cut(CORRUPT, "data after the end of the gzip stream")
