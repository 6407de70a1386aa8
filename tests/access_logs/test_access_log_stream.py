"""Bytes of one access-log object to its records: split on "\n" only, gzip inflated step by
step, every cap a reported cut, never an exception."""

import gzip
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trail_validators.access_logs import stream as access_log_stream
from trail_validators.access_logs.stream import (CORRUPT, MAX_LINE_BYTES, MAX_OBJECT_BYTES, OVERSIZED, ObjectCut,
                                                 OverlongRecord, record_lines)


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


def lines_of(data: bytes, size: int = 7) -> list:
    """Every line and event in order, blocks split into lines."""
    out = []
    for item in record_lines(pieces(data, size)):
        out.extend(item if isinstance(item, list) else [item])
    return out


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\v", "\f", "\x1c", "\x1d", "\x1e", "\r"])
def test_only_newline_ends_a_record(separator):
    data = f"one{separator}still one\ntwo\r\nthree".encode()
    assert lines_of(data) == [f"one{separator}still one", "two\r", "three"]  # the parser drops that "\r"


def test_empty_lines_are_kept_so_that_line_numbers_stay_exact():
    assert lines_of(b"a\n\nb\n") == ["a", "", "b"]


def test_gzip_members_are_one_stream():
    data = gzip.compress(b"a\nb") + gzip.compress(b"c\n")
    for size in (1, 3, 1000):
        assert lines_of(data, size) == ["a", "bc"] == gzip.decompress(data).decode().splitlines()


@pytest.mark.parametrize(("data", "reason"), [
    (gzip.compress(b"a\nb\n")[:-6], "ends early"),
    (gzip.compress(b"a\nb\n") + b"trailing", "after the end of the gzip stream"),
    (gzip.compress(b"a\nb\n") + b"\0" * 9, "after the end of the gzip stream"),
    (gzip.compress(b"a\nb\n") + b"\x1f", "after the end of the gzip stream"),
    (b"\x1f\x8b" + b"\x00" * 20, "corrupt gzip data"),
])
def test_corrupt_gzip_is_a_cut_not_an_exception(data, reason):
    *_, last = lines_of(data)
    assert isinstance(last, ObjectCut) and last.kind == CORRUPT and reason in last.reason


def test_the_record_interrupted_by_a_cut_is_never_parsed():
    # A truncated record could be a forged prefix of a longer one.
    data = gzip.compress(b"complete\nforged prefix of a longer record that goes on")[:-12]
    out = lines_of(data)
    assert out[0] == "complete" and isinstance(out[-1], ObjectCut) and len(out) == 2
    assert out[-1].unfinished_bytes > 0


def test_a_record_longer_than_the_cap_is_reported_and_the_next_ones_still_read():
    long_record = b"x" * (MAX_LINE_BYTES + 1)
    for data in (b"a\n" + long_record + b"\nb\n", b"a\n" + long_record + b"\r\nb"):
        for size in (5, 1000, 1 << 20):
            out = lines_of(data, size)
            assert out[0] == "a" and out[2] == "b" and len(out) == 3
            assert isinstance(out[1], OverlongRecord) and out[1].length > MAX_LINE_BYTES
            assert out[1].head.startswith("xxx")


def test_a_record_of_exactly_the_cap_is_a_record():
    record = b"y" * MAX_LINE_BYTES
    for size in (5, 1000, 1 << 20):
        assert lines_of(record + b"\n" + record[1:] + b"\r\n" + record, size) == [
            record.decode(), record[1:].decode() + "\r", record.decode()]


def test_objects_past_the_byte_cap_are_cut_with_what_came_before_read():
    line = b"z" * 1023 + b"\n"
    data = line * (MAX_OBJECT_BYTES // len(line) + 10)
    *records, cut = lines_of(data, 1 << 20)
    assert isinstance(cut, ObjectCut) and cut.kind == OVERSIZED and f"{MAX_OBJECT_BYTES:,} bytes" in cut.reason
    assert len(records) == MAX_OBJECT_BYTES // len(line)


def test_a_bomb_never_expands_in_one_step():
    bomb = zlib.compress(b"\n" * (64 * access_log_stream.INFLATE_STEP_BYTES), 9, wbits=31)
    sizes = [len(piece) for piece in access_log_stream._decompressed([bomb])]
    assert max(sizes) <= access_log_stream.INFLATE_STEP_BYTES and sum(sizes) == 64 * access_log_stream.INFLATE_STEP_BYTES


# -- fuzz ---------------------------------------------------------------------------------

# Text rich in every kind of line break, quotes and multi-byte characters.
record_text = st.text(alphabet=st.sampled_from(list('ab "\r\n\v\f\x1c\x85\u2028\u2029é€😀')), max_size=200)


def reference_lines(data: bytes) -> list[str]:
    """What the splitter must return: the text between "\\n"s (none after the last)."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line.decode("utf-8", "replace") for line in lines]


@settings(max_examples=200, deadline=None)
@given(text=record_text, size=st.integers(1, 64), compress=st.booleans())
def test_records_split_on_newline_only_whatever_the_chunking(text, size, compress):
    data = text.encode()
    stored = gzip.compress(data) if compress else data
    assert lines_of(stored, size) == reference_lines(data)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300), size=st.integers(1, 64), magic=st.booleans())
def test_arbitrary_bytes_give_lines_or_a_cut_never_an_exception(data, size, magic):
    out = lines_of((b"\x1f\x8b" if magic else b"") + data, size)
    assert all(isinstance(item, (str, OverlongRecord, ObjectCut)) for item in out)
    assert all(not isinstance(item, ObjectCut) for item in out[:-1])


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab\r\n\u2028é")), max_size=120), size=st.integers(1, 32))
def test_the_line_cap_does_not_depend_on_chunking(text, size):
    cap = 8
    data = text.encode()
    raw_lines = data.split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()
    expected = [OverlongRecord(len(raw), "") if len(raw) > cap
                else raw.decode("utf-8", "replace") for raw in raw_lines]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(access_log_stream, "MAX_LINE_BYTES", cap)
        patch.setattr(access_log_stream, "_HALF_LINE", cap // 2)
        got = lines_of(data, size)
    assert [(g.length if isinstance(g, OverlongRecord) else g) for g in got] == [
        (e.length if isinstance(e, OverlongRecord) else e) for e in expected]
