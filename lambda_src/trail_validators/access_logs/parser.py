"""S3 server access log lines in, typed records out. Pure: no I/O.

The format is space separated, but three fields are quoted without escaping (request-URI,
referer, user-agent), the requester can contain spaces and AWS appends new fields at the
end from time to time. A client controls the URI, the referer and the user-agent, so
text inside them may look like later fields. Two rules keep that text from deciding
anything:

- fast path: one anchored regex in which no quoted field contains a quote and no other
  field a space. Then every field boundary is forced and the line is certain.
- unquoted path: for some operations (``BATCH.DELETE.OBJECT``, ``REST.COPY.OBJECT_GET``,
  lifecycle ``S3.EXPIRE.OBJECT`` and ``S3.TRANSITION*``) S3 writes the request-URI, the
  referer and the user-agent as a bare ``-``. Such a line has no quote at all, so every
  field after the requester is space free and every boundary is forced.
- careful path, for anything else: the fields after the user-agent are written by S3 and
  never contain a quote, so the user-agent ends at the *last* quote of the line. The
  fields between the URI and the referer (status, error code, bytes, times) must be
  certain: found once, or found several times with the same values. Where the URI ends,
  or where the referer ends and the user-agent begins, may stay open: those fields decide
  nothing, so the record carries their names in ``uncertain`` instead of being refused.

A line whose status, TLS version, cipher, operation, requester, key, bucket or time is not
certain is reported as unparseable, with the reason, and is never counted as TLS-secure.
"""

from __future__ import annotations

import itertools
import re
from itertools import repeat
from dataclasses import dataclass
from typing import Iterable, Iterator, NamedTuple

MIN_TAIL_FIELDS = 7  # version id .. TLS version; access point ARN, aclRequired, ... follow

# Possessive quantifiers (Python 3.11+): every field ends at a fixed delimiter, so
# there is nothing to backtrack into. Used with fullmatch on one line (in place in a block:
# pos and endpos), which may end in "\r", "\n" or both, never part of a field. The empty
# group at the end is the record's ``uncertain``.
_FAST = re.compile(
    r'([^ ]++) ([^ ]++) \[([^\]]*+)\] ([^ ]++) ([^ ]++) ([^ ]++) ([^ ]++) ([^ ]++) '
    r'"([^"]*+)" ([^ ]++) ([^ ]++) ([^ ]++) ([^ ]++) ([^ ]++) ([^ ]++) "([^"]*+)" "([^"]*+)" '
    r'([^ "]++) ([^ "]++) ([^ "]++) ([^ "]++) ([^ "]++) ([^ "]++) ([^ "\r\n]++)((?: [^ "\r\n]++)*+)\r?\n?()')
# Careful path pieces.
_HEAD = re.compile(
    r'([^ ]+) ([^ ]+) \[([^\]]*)\] ([^ ]+) (.+?) ([0-9A-Za-z+/=]+) '
    r'((?:REST|BATCH|WEBSITE|S3)\.[A-Z0-9_.]+) ([^ ]+) (?=["-])')
# The closing quote is a lookahead so that overlapping look-alikes are all found.
_MIDDLE = re.compile(r'" ([0-9]{3}|-) ([^ ]+) ([0-9]+|-) ([0-9]+|-) ([0-9]+|-) ([0-9]+|-) (?=")')
# URI "-", status .. turn-around time, referer "-", user-agent "-": no spaces anywhere.
_UNQUOTED_MIDDLE = re.compile(r'- ([0-9]{3}|-) ([^ ]+) ([0-9]+|-) ([0-9]+|-) ([0-9]+|-) ([0-9]+|-) - -')
_UNQUOTED_MIDDLE_FIELDS = 9
_SIGNATURE_VERSIONS = frozenset(("SigV2", "SigV4", "-"))
_AUTH_TYPES = frozenset(("AuthHeader", "QueryString", "-"))
_CIPHER = re.compile(r"^[A-Za-z0-9_-]+$")

# Spellings seen in the wild (TLSv1.2, TLSV1.1, ...) -> canonical name and order.
TLS_VERSIONS: dict[str, tuple[str, tuple[int, int]]] = {
    "TLSV1": ("TLSv1", (1, 0)), "TLSV1.0": ("TLSv1", (1, 0)), "TLSV1.1": ("TLSv1.1", (1, 1)),
    "TLSV1.2": ("TLSv1.2", (1, 2)), "TLSV1.3": ("TLSv1.3", (1, 3)),
    "SSLV3": ("SSLv3", (0, 3)),
}
# Every spelling of those in any case: the hot loop tests membership without str.upper().
_TLS_SPELLINGS = frozenset("".join(spelling) for name in TLS_VERSIONS for spelling in itertools.product(
    *((c.lower(), c.upper()) if c.isalpha() else (c,) for c in name)))


class AccessLogRecord(NamedTuple):
    bucket_owner: str
    bucket: str
    time: str
    """As logged, without brackets: ``06/Feb/2019:00:00:38 +0000``."""
    remote_ip: str
    requester: str
    request_id: str
    operation: str
    key: str
    request_uri: str
    http_status: str
    error_code: str
    bytes_sent: str
    object_size: str
    total_time: str
    turn_around_time: str
    referer: str
    user_agent: str
    version_id: str
    host_id: str
    signature_version: str
    cipher_suite: str
    authentication_type: str
    host_header: str
    tls_version: str
    """As logged (``TLSv1.2``, ``TLSV1.1``) or ``-`` for plain HTTP."""
    extra: str = ""
    """Access point ARN, aclRequired and any field AWS appends later, space separated."""
    uncertain: str = ""
    """Fields whose boundaries the line leaves open, space separated: ``referer user_agent``
    or ``request_uri referer user_agent`` when quotes inside them fit several splits, else
    empty. Never a field that a verdict uses."""

    @property
    def uses_tls(self) -> bool:
        return self.tls_version != "-"

    @property
    def tls(self) -> str:
        """Canonical TLS version (``TLSv1.2``) or ``-``."""
        return TLS_VERSIONS[self.tls_version.upper()][0] if self.uses_tls else "-"

    @property
    def day(self) -> str:
        """ISO day of the request, ``2019-02-06``."""
        return _iso_day(self.time)

    def to_line(self) -> str:
        """The line as S3 writes it (quotes and brackets restored)."""
        parts = list(self[:24])
        parts[2] = f"[{self.time}]"
        for quoted in (8, 15, 16):
            parts[quoted] = f'"{parts[quoted]}"'
        return " ".join(parts) + self.extra


@dataclass(frozen=True)
class Unparseable:
    line_number: int
    reason: str
    line: str


class ParseError(ValueError):
    pass


def parse_line(line: str) -> AccessLogRecord:
    """One line (without its newline) to a record, or ParseError with the reason."""
    match = _FAST.fullmatch(line)
    if match is not None and _plausible(record := AccessLogRecord(*match.groups())):
        return record
    return _parse_carefully(line.rstrip("\r\n"))


def parse_lines(lines: Iterable[str], first_number: int = 1) -> Iterator[AccessLogRecord | Unparseable]:
    """Records and Unparseable entries of lines, each one record's text (a trailing "\\r" or
    "\\n" is dropped; empty lines are skipped but numbered), numbered from first_number.
    Give a list (a batch) for speed."""
    # The hot path: one C loop matches the whole batch; when every line has the fast shape
    # (the usual case), another builds every record, and Python only tests plausibility.
    lines = lines if type(lines) is list else list(lines)
    matches = list(map(_FAST.fullmatch, lines))
    tls_spellings, signatures = _TLS_SPELLINGS, _SIGNATURE_VERSIONS
    if all(matches):  # a Match is always true
        records = map(tuple.__new__, repeat(AccessLogRecord), map(re.Match.groups, matches))
        for index, record in enumerate(records):
            tls = record[23]
            if (record[19] in signatures and ((record[20] == "-") if tls == "-"
                                              else (record[20] != "-" and tls in tls_spellings))):
                yield record
            else:
                yield _parse_or_refuse(lines[index].rstrip("\r\n"), first_number + index)
        return
    for number, (line, match) in enumerate(zip(lines, matches), first_number):
        if match is not None:
            record = AccessLogRecord(*match.groups())
            if _plausible(record):
                yield record
                continue
        line = line.rstrip("\r\n")
        if line:
            yield _parse_or_refuse(line, number)


def _parse_or_refuse(line: str, number: int) -> AccessLogRecord | Unparseable:
    try:
        return _parse_carefully(line)
    except ParseError as error:
        return Unparseable(number, str(error), line)


def _plausible(record: AccessLogRecord) -> bool:
    """Fast-path records whose S3-written fields have the shapes S3 writes; the careful
    path says what is wrong with any other."""
    tls = record.tls_version
    if tls == "-":
        return record.cipher_suite == "-" and record.signature_version in _SIGNATURE_VERSIONS
    return (tls.upper() in TLS_VERSIONS and record.cipher_suite != "-"
            and record.signature_version in _SIGNATURE_VERSIONS)


def _parse_carefully(line: str) -> AccessLogRecord:
    last_quote = line.rfind('"')
    if last_quote < 0:
        return _parse_unquoted(line)
    tail = line[last_quote + 1:]
    if not tail.startswith(" "):
        raise ParseError("no fields after the user-agent")
    tail_fields = _checked_tail(tail[1:].split(" "))

    head = _HEAD.match(line)
    if head is None:
        raise ParseError("the fields before the request-URI do not parse")
    # From the request-URI (quoted, or "-") to the end of the user-agent. With the URI's
    # opening quote (or its "-") replaced by a quote, the status fields always start at one.
    probe = '"' + line[head.end() + 1:last_quote + 1]
    uri_is_dash = line[head.end()] == "-"
    # A place where the status fields could be: at the very start when the URI is "-", and
    # followed by a quoted referer and a quoted user-agent ('"R" "U"', R and U any text).
    candidates = [m for m in _MIDDLE.finditer(probe, 0 if uri_is_dash else 1)
                  if (m.start() == 0) == uri_is_dash and probe.find('" "', m.end() + 1, len(probe) - 1) >= 0]
    if not candidates:
        raise ParseError("status, error code, bytes and times do not parse")
    middle = candidates[0]
    if any(other.groups() != middle.groups() for other in candidates[1:]):
        raise ParseError("the request-URI, referer or user-agent contains text that looks like "
                         "the status fields; the line is ambiguous")
    request_uri = "-" if uri_is_dash else probe[1:middle.start()]
    pair = probe[middle.end() + 1:-1]  # 'R" "U'
    split = pair.find('" "')
    referer, user_agent = pair[:split], pair[split + 3:]
    uncertain = ("request_uri referer user_agent" if len(candidates) > 1
                 else "referer user_agent" if pair.find('" "', split + 1) >= 0 else "")  # may overlap: '" " "'
    return AccessLogRecord(*head.groups(), request_uri, *middle.groups(), referer, user_agent,
                           *tail_fields[:MIN_TAIL_FIELDS],
                           "".join(" " + field for field in tail_fields[MIN_TAIL_FIELDS:]), uncertain)


def _parse_unquoted(line: str) -> AccessLogRecord:
    """A line whose request-URI, referer and user-agent are all a bare ``-``."""
    head = _HEAD.match(line)
    if head is None:
        raise ParseError("no quoted fields, and the fields before the request-URI do not parse")
    fields = line[head.end():].split(" ")
    middle = _UNQUOTED_MIDDLE.fullmatch(" ".join(fields[:_UNQUOTED_MIDDLE_FIELDS]))
    if middle is None:
        raise ParseError("no quoted fields, and the request-URI to user-agent are not "
                         "'- status error bytes size time time - -'")
    tail_fields = _checked_tail(fields[_UNQUOTED_MIDDLE_FIELDS:], "after the user-agent '-'")
    return AccessLogRecord(*head.groups(), "-", *middle.groups(), "-", "-", *tail_fields[:MIN_TAIL_FIELDS],
                           "".join(" " + field for field in tail_fields[MIN_TAIL_FIELDS:]))


def _checked_tail(tail_fields: list[str], where: str = "after the user-agent") -> list[str]:
    """The S3-written fields from the version id on, each checked, or ParseError."""
    if len(tail_fields) < MIN_TAIL_FIELDS or "" in tail_fields:
        raise ParseError(f"{len(tail_fields)} fields {where}, expected at least {MIN_TAIL_FIELDS}")
    version_id, host_id, signature, cipher, auth, host, tls = tail_fields[:MIN_TAIL_FIELDS]
    if signature not in _SIGNATURE_VERSIONS:
        raise ParseError(f"signature version {_shown(signature)} is not SigV2, SigV4 or -")
    if auth not in _AUTH_TYPES:
        raise ParseError(f"authentication type {_shown(auth)} is not AuthHeader, QueryString or -")
    if not _CIPHER.match(cipher):
        raise ParseError(f"cipher suite {_shown(cipher)} is not a cipher name or -")
    if tls != "-" and tls.upper() not in TLS_VERSIONS:
        raise ParseError(f"unknown TLS version {_shown(tls)}")
    if (cipher == "-") != (tls == "-"):
        raise ParseError(f"cipher {_shown(cipher)} and TLS version {_shown(tls)} disagree")
    return tail_fields


def _shown(field: str) -> str:
    """A field as quoted in a reason; reasons are counted, so a long field is cut short."""
    return repr(field if len(field) <= _SHOWN_CHARS else field[:_SHOWN_CHARS] + "...")


_SHOWN_CHARS = 40

_MONTHS = {m: f"{i:02d}" for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def _iso_day(logged_time: str) -> str:
    # "06/Feb/2019:00:00:38 +0000": S3 logs in UTC.
    try:
        return f"{logged_time[7:11]}-{_MONTHS[logged_time[3:6]]}-{logged_time[0:2]}"
    except KeyError:
        return "unknown"
