"""S3 server access log lines in, typed records out. Pure: no I/O.

The format is space separated, but three fields are quoted without escaping (request-URI,
referer, user-agent), the requester can contain spaces and AWS appends new fields at the
end from time to time. A client controls the URI, the referer and the user-agent, so
text inside them may look like later fields. Two rules keep that text from deciding
anything:

- fast path: one anchored regex in which no quoted field contains a quote and no other
  field a space. Then every field boundary is forced and the line is certain.
- careful path, for anything else: the fields after the user-agent are written by S3 and
  never contain a quote, so the user-agent ends at the *last* quote of the line. The
  fields between the URI and the referer must be found exactly once; text that would fit
  them a second time makes the line ambiguous.

A line that neither path parses with certainty is reported as unparseable, with the
reason, and is never counted as TLS-secure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator, NamedTuple

MIN_TAIL_FIELDS = 7  # version id .. TLS version; access point ARN, aclRequired, ... follow

# Possessive quantifiers (Python 3.11+): every field ends at a fixed delimiter, so
# there is nothing to backtrack into.
_FAST = re.compile(
    r'([^ ]++) ([^ ]++) \[([^\]]*+)\] ([^ ]++) ([^ ]++) ([^ ]++) ([^ ]++) ([^ ]++) '
    r'"([^"]*+)" ([^ ]++) ([^ ]++) ([^ ]++) ([^ ]++) ([^ ]++) ([^ ]++) "([^"]*+)" "([^"]*+)" '
    r'([^ "]++) ([^ "]++) ([^ "]++) ([^ "]++) ([^ "]++) ([^ "]++) ([^ "\n]++)((?: [^ "\n]++)*+)\r?$')
# Careful path pieces.
_HEAD = re.compile(
    r'([^ ]+) ([^ ]+) \[([^\]]*)\] ([^ ]+) (.+?) ([0-9A-Za-z+/=]+) '
    r'((?:REST|BATCH|WEBSITE|S3)\.[A-Z0-9_.]+) ([^ ]+) (?=["-])')
# The closing quote is a lookahead so that overlapping look-alikes are all found.
_MIDDLE = re.compile(r'" ([0-9]{3}|-) ([^ ]+) ([0-9]+|-) ([0-9]+|-) ([0-9]+|-) ([0-9]+|-) (?=")')
_SIGNATURE_VERSIONS = frozenset(("SigV2", "SigV4", "-"))
_AUTH_TYPES = frozenset(("AuthHeader", "QueryString", "-"))
_CIPHER = re.compile(r"^[A-Za-z0-9_-]+$")

# Spellings seen in the wild (TLSv1.2, TLSV1.1, ...) -> canonical name and order.
TLS_VERSIONS: dict[str, tuple[str, tuple[int, int]]] = {
    "TLSV1": ("TLSv1", (1, 0)), "TLSV1.0": ("TLSv1", (1, 0)), "TLSV1.1": ("TLSv1.1", (1, 1)),
    "TLSV1.2": ("TLSv1.2", (1, 2)), "TLSV1.3": ("TLSv1.3", (1, 3)),
    "SSLV3": ("SSLv3", (0, 3)),
}


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
    match = _FAST.match(line)
    if match is not None and _plausible(record := AccessLogRecord(*match.groups())):
        return record
    return _parse_carefully(line)


def parse_lines(lines: Iterable[str]) -> Iterator[AccessLogRecord | Unparseable]:
    """Records and Unparseable entries, in order; blank lines are skipped."""
    # The hot loop: one regex, one C-level tuple build, the plausibility test inlined
    # (lines may still end in "\n": the pattern's "$" allows it).
    fast, new, Record, tls_versions, signatures = (
        _FAST.match, tuple.__new__, AccessLogRecord, TLS_VERSIONS, _SIGNATURE_VERSIONS)
    number = 0
    for line in lines:
        number += 1
        match = fast(line)
        if match is not None:
            record = new(Record, match.groups())
            tls = record[23]
            if (record[19] in signatures and ((record[20] == "-") if tls == "-"
                                              else (record[20] != "-" and tls.upper() in tls_versions))):
                yield record
                continue
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        try:
            yield _parse_carefully(line)
        except ParseError as error:
            yield Unparseable(number, str(error), line)


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
        raise ParseError("no quoted fields")
    tail = line[last_quote + 1:]
    if not tail.startswith(" "):
        raise ParseError("no fields after the user-agent")
    tail_fields = tail[1:].split(" ")
    if len(tail_fields) < MIN_TAIL_FIELDS or "" in tail_fields:
        raise ParseError(f"{len(tail_fields)} fields after the user-agent, expected at least {MIN_TAIL_FIELDS}")
    version_id, host_id, signature, cipher, auth, host, tls = tail_fields[:MIN_TAIL_FIELDS]
    if signature not in _SIGNATURE_VERSIONS:
        raise ParseError(f"signature version {signature!r} is not SigV2, SigV4 or -")
    if auth not in _AUTH_TYPES:
        raise ParseError(f"authentication type {auth!r} is not AuthHeader, QueryString or -")
    if not _CIPHER.match(cipher):
        raise ParseError(f"cipher suite {cipher!r} is not a cipher name or -")
    if tls != "-" and tls.upper() not in TLS_VERSIONS:
        raise ParseError(f"unknown TLS version {tls!r}")
    if (cipher == "-") != (tls == "-"):
        raise ParseError(f"cipher {cipher!r} and TLS version {tls!r} disagree")

    head = _HEAD.match(line)
    if head is None:
        raise ParseError("the fields before the request-URI do not parse")
    # From the request-URI (quoted, or "-") to the end of the user-agent. With the URI's
    # opening quote (or its "-") replaced by a quote, the status fields always start at one.
    probe = '"' + line[head.end() + 1:last_quote + 1]
    uri_is_dash = line[head.end()] == "-"
    separators = list(_MIDDLE.finditer(probe, 0 if uri_is_dash else 1))
    if uri_is_dash:
        separators = [m for m in separators if m.start() == 0] if len(separators) == 1 else separators
    if len(separators) != 1:
        raise ParseError("the request-URI, referer or user-agent contains text that looks like "
                         "the status fields; the line is ambiguous" if separators else
                         "status, error code, bytes and times do not parse")
    middle = separators[0]
    request_uri = "-" if uri_is_dash else probe[1:middle.start()]
    quoted_pair = probe[middle.end():]
    if quoted_pair.count('" "') != 1 or len(quoted_pair) < 5 or not quoted_pair.startswith('"'):
        raise ParseError("the referer and user-agent cannot be told apart")
    referer, user_agent = quoted_pair[1:-1].split('" "')
    extra = tail_fields[MIN_TAIL_FIELDS:]
    return AccessLogRecord(*head.groups(), request_uri, *middle.groups(), referer, user_agent,
                           version_id, host_id, signature, cipher, auth, host, tls,
                           "".join(" " + field for field in extra))


_MONTHS = {m: f"{i:02d}" for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def _iso_day(logged_time: str) -> str:
    # "06/Feb/2019:00:00:38 +0000": S3 logs in UTC.
    try:
        return f"{logged_time[7:11]}-{_MONTHS[logged_time[3:6]]}-{logged_time[0:2]}"
    except KeyError:
        return "unknown"
