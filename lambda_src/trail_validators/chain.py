"""Validation of one digest chain (an account and region of a trail) over a window.
Pure: the I/O layer lists and fetches, this decides. Three stages, in order:

1. ``check_digests``: form, location, signature, key, and every link of the chain, including
   ``previousDigestHashValue`` and ``previousDigestSignature``; every missing hour, each one,
   also at the head of the chain. Returns the log objects to fetch.
2. ``check_logs``: each referenced log exists and its decompressed SHA-256 matches.
3. ``check_unreferenced``: a log object in the window that no digest references is injected
   (or, next to a gap in the chain, unverifiable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Mapping

from .digest import Digest, DigestFormatError, SignatureError, parse_digest, verify_signature
from .findings import Finding, Severity
from .log_files import LogFormatError, log_sha256
from .trail_layout import ChainId, TrailLocation, digest_key_time, log_key_time

CADENCE = timedelta(hours=1)
JITTER = timedelta(minutes=10)
"""Digests are hourly, give or take a few minutes: a chain whose newest digest ends more
than CADENCE + JITTER before the window's end is missing its newest digests."""
DELIVERY_DELAY = timedelta(minutes=30)
"""How late the newest digest may arrive when the window ends now."""
LOG_DELIVERY_SLACK = timedelta(minutes=20)
"""A log file named at time T is delivered, and so digested, within this."""

# Findings that mean the logs cannot be trusted (exit status 1, alerts).
TAMPERING = frozenset((
    "malformed_digest", "digest_moved", "missing_signature", "unknown_signing_key",
    "invalid_digest_signature", "chain_link_mismatch", "missing_digest", "missing_newest_digest",
    "missing_log", "modified_log", "injected_log"))


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    metadata: Mapping[str, str]


@dataclass(frozen=True)
class Anchor:
    """The last digest validated before the window: a checkpoint, or the digest found
    just before the window start."""
    key: str
    end: datetime
    sha256: str | None
    signature: str | None


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    end_is_now: bool = False


@dataclass
class ChainResult:
    chain: ChainId
    findings: list[Finding] = field(default_factory=list)
    digests_valid: int = 0
    digests_checked: int = 0
    logs_valid: int = 0
    logs_checked: int = 0
    newest: Anchor | None = None
    """The newest digest found: the next run's checkpoint."""

    @property
    def tampered(self) -> bool:
        return any(f.kind in TAMPERING for f in self.findings)


@dataclass
class _Slot:
    key: str
    time: datetime
    digest: Digest | None = None
    trusted: bool = False


class ChainValidator:
    def __init__(self, chain: ChainId, location: TrailLocation, window: Window,
                 public_keys: Mapping[str, bytes], anchor: Anchor | None = None) -> None:
        self.chain, self.location, self.window = chain, location, window
        self.public_keys, self.anchor = public_keys, anchor
        self.result = ChainResult(chain)
        self._slots: list[_Slot] = []
        self._uncovered: list[tuple[datetime, datetime]] = []
        self._referenced: dict[str, str] = {}  # log key -> expected hash

    # -- stage 1 -------------------------------------------------------------------------
    def check_digests(self, digests: Mapping[str, StoredObject | None]) -> list[str]:
        """``digests``: every digest key of this chain in the window, with its object
        (None when it vanished between list and get). Returns the log keys to fetch."""
        for key in sorted(digests, key=lambda k: (digest_key_time(k) or self.window.start, k)):
            slot = _Slot(key, digest_key_time(key) or self.window.start)
            self._check_one(slot, digests[key])
            self._slots.append(slot)
        self._check_links()
        self._check_head()
        if self._slots:
            newest = self._slots[-1]
            self.result.newest = Anchor(newest.key, newest.digest.end if newest.digest else newest.time,
                                        newest.digest.sha256 if newest.digest else None,
                                        newest.digest.signature if newest.digest else None)
        else:
            self.result.newest = self.anchor
        return sorted(self._referenced)

    def _check_one(self, slot: _Slot, stored: StoredObject | None) -> None:
        self.result.digests_checked += 1
        if stored is None:
            self._add("missing_digest", Severity.HIGH, f"digest {slot.key} was listed but is gone", [slot.key])
            return
        try:
            digest = parse_digest(slot.key, stored.data, stored.metadata)
        except DigestFormatError as error:
            self._add("malformed_digest", Severity.HIGH, f"digest {slot.key} is malformed: {error}", [slot.key])
            return
        slot.digest = digest
        if (digest.bucket, digest.object_key) != (self.location.bucket, slot.key):
            self._add("digest_moved", Severity.HIGH,
                      f"digest {slot.key} says it belongs at s3://{digest.bucket}/{digest.object_key}: "
                      "replayed or moved", [slot.key])
            return
        if not stored.metadata.get("signature"):
            self._add("missing_signature", Severity.HIGH, f"digest {slot.key} has no signature metadata", [slot.key])
            return
        public_key = self.public_keys.get(digest.fingerprint)
        if public_key is None:
            self._add("unknown_signing_key", Severity.HIGH,
                      f"digest {slot.key} names key fingerprint {digest.fingerprint}, which CloudTrail did not "
                      f"publish for {self.chain.region} around {digest.end:%Y-%m-%d %H:%M}Z", [slot.key])
            return
        try:
            verify_signature(digest, stored.metadata, public_key)
        except SignatureError as error:
            self._add("invalid_digest_signature", Severity.CRITICAL,
                      f"digest {slot.key}: {error}: its content, chain link or signature was changed", [slot.key])
            return
        slot.trusted = True
        self.result.digests_valid += 1
        for log in digest.log_files:
            self._referenced[log.key] = log.hash_value

    def _check_links(self) -> None:
        previous: _Slot | Anchor | None = self.anchor
        for slot in self._slots:
            digest = slot.digest
            if digest is not None and slot.trusted:
                self._check_link(previous, slot, digest)
            previous = slot

    def _check_link(self, previous: "_Slot | Anchor | None", slot: _Slot, digest: Digest) -> None:
        if digest.starts_new_chain:
            since = _end_of(previous)
            self._uncovered.append((since or self.window.start, digest.start))
            why = (f"logging or log file validation was stopped after {since:%Y-%m-%d %H:%M}Z and started again"
                   if since else "the trail or its log file validation started, or was stopped and started")
            self._add("chain_gap", Severity.MEDIUM,
                      f"a new chain starts at {digest.key} ({digest.start:%Y-%m-%d %H:%M}Z): {why}", [digest.key])
            return
        if previous is None or previous.key != digest.previous_key:
            named_time = digest_key_time(digest.previous_key or "")
            if previous is None and (named_time is None or named_time < self.window.start):
                return  # its predecessor lies before the window: nothing to compare with
            self._report_missing_between(previous, digest)
            return
        expected_hash, expected_signature = _hash_of(previous), _signature_of(previous)
        if expected_hash is not None and digest.previous_hash != expected_hash:
            self._add("chain_link_mismatch", Severity.CRITICAL,
                      f"digest {digest.key} records previousDigestHashValue {digest.previous_hash}, but "
                      f"{digest.previous_key} hashes to {expected_hash}", [digest.key, digest.previous_key])
        if expected_signature is not None and (digest.previous_signature or "").lower() != expected_signature:
            self._add("chain_link_mismatch", Severity.CRITICAL,
                      f"digest {digest.key} records a previousDigestSignature that is not the signature of "
                      f"{digest.previous_key}", [digest.key, digest.previous_key])

    def _report_missing_between(self, previous: "_Slot | Anchor | None", digest: Digest) -> None:
        since = _end_of(previous) or self.window.start
        hours = max(1, round((digest.end - since) / CADENCE) - 1)
        self._uncovered.append((since - LOG_DELIVERY_SLACK, digest.start))
        self._add("missing_digest", Severity.HIGH,
                  f"digest {digest.previous_key} is missing: {digest.key} links to it", [digest.previous_key])
        for n in range(1, hours):
            expected = since + n * CADENCE
            self._add("missing_digest", Severity.HIGH,
                      f"no digest for the hour ending about {expected:%Y-%m-%d %H:%M}Z before {digest.key}",
                      [], {"expected_end": expected.isoformat()})

    def _check_head(self) -> None:
        newest = self._slots[-1].time if self._slots else (self.anchor.end if self.anchor else None)
        since = newest or self.window.start
        slack = JITTER + (DELIVERY_DELAY if self.window.end_is_now else timedelta(0))
        hours = int((self.window.end - since - slack) / CADENCE)
        if newest is None and hours > 0:
            self._uncovered.append((self.window.start, self.window.end))
        for n in range(1, hours + 1):
            expected = since + n * CADENCE
            self._add("missing_newest_digest", Severity.HIGH,
                      f"no digest for the hour ending about {expected:%Y-%m-%d %H:%M}Z: the newest digests "
                      f"were deleted or are not being delivered", [], {"expected_end": expected.isoformat()})
        if newest is not None and hours > 0:
            self._uncovered.append((newest - LOG_DELIVERY_SLACK, self.window.end))

    # -- stage 2 -------------------------------------------------------------------------
    def check_logs(self, logs: Mapping[str, bytes | None]) -> None:
        """``logs``: the objects of the keys ``check_digests`` returned (None: missing)."""
        for key, expected in self._referenced.items():
            self.result.logs_checked += 1
            data = logs.get(key)
            if data is None:
                self._add("missing_log", Severity.HIGH, f"log file {key} is referenced by a digest but missing", [key])
                continue
            try:
                actual = log_sha256(data)
            except LogFormatError as error:
                self._add("modified_log", Severity.CRITICAL, f"log file {key} is not the file delivered: {error}", [key])
                continue
            if actual != expected:
                self._add("modified_log", Severity.CRITICAL,
                          f"log file {key} was modified: SHA-256 {actual}, digest recorded {expected}", [key])
            else:
                self.result.logs_valid += 1

    # -- stage 3 -------------------------------------------------------------------------
    def check_unreferenced(self, listed_log_keys: Iterable[str]) -> None:
        trusted = [slot.digest for slot in self._slots if slot.trusted and slot.digest]
        if not trusted:
            return
        first_start, digested_until = trusted[0].start, trusted[-1].end - LOG_DELIVERY_SLACK
        for key in listed_log_keys:
            time = log_key_time(key)
            if key in self._referenced or time is None or not first_start <= time <= digested_until:
                continue
            if any(low <= time <= high for low, high in self._uncovered):
                self._add("unverifiable_log", Severity.MEDIUM,
                          f"log file {key} is in a gap of the digest chain: no digest can vouch for it", [key])
            else:
                self._add("injected_log", Severity.HIGH,
                          f"log file {key} is not referenced by any digest: it was not delivered by CloudTrail", [key])

    def _add(self, kind: str, severity: Severity, message: str, keys: list, details: dict | None = None) -> None:
        self.result.findings.append(Finding(kind, severity, f"{self.chain}: {message}", tuple(keys),
                                            {"account": self.chain.account, "region": self.chain.region,
                                             **(details or {})}))


def _end_of(link: "_Slot | Anchor | None") -> datetime | None:
    if link is None:
        return None
    if isinstance(link, Anchor):
        return link.end
    return link.digest.end if link.digest else link.time


def _hash_of(link: "_Slot | Anchor") -> str | None:
    if isinstance(link, Anchor):
        return link.sha256
    return link.digest.sha256 if link.digest else None


def _signature_of(link: "_Slot | Anchor") -> str | None:
    if isinstance(link, Anchor):
        return link.signature
    return link.digest.signature if link.digest and link.digest.signature else None
