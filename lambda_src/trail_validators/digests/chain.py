"""Validation of one digest chain (an account and region of a trail) over a window.
Pure: the I/O layer lists and fetches, this decides. Every object in the chain's folders
in the window is accounted for. In order:

1. ``plan_digests``: sorts the digest folders' listing into this trail's digests, other
   trails' digests and junk (a finding); says what to fetch.
2. ``check_digests``: form, name, signature, key and every link of the chain, including
   ``previousDigestHashValue`` and ``previousDigestSignature``; every missing hour, each
   one, also at the head of the chain. Builds the coverage timeline. Returns the log
   objects to hash.
3. ``check_logs``: each referenced log exists and its decompressed SHA-256 matches.
4. ``check_log_folders``: every object in the window's log folders is vouched for by a
   valid digest (of this trail or of another trail writing there), or is a finding:
   ``injected_log``, ``unverifiable_log`` (in a gap or next to a bad digest),
   ``unexpected_object`` (not a CloudTrail log name in its place), or not yet covered.

Backfill digests (``..._backfill.json.gz``, delivered later for late log files) form chains
of their own, beside the standard one: they link only to backfill digests, may end when a
standard digest ends, and are signed with the key CloudTrail published when it made them
(their ``backfill-generation-timestamp``). The logs a valid one lists are vouched for; they
are counted, and their findings marked (``details["backfill"]``), apart from the standard
chain's. They leave the standard chain's hours and coverage as they are.
"""

from __future__ import annotations

import bisect
import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Mapping

from ..findings import Finding, Severity
from .digest import Digest, DigestFormatError, SignatureError, verify_signature
from .layout import CLOCK_SKEW, ChainId, TrailLocation, is_backfill_key, parse_digest_name, parse_log_name

CADENCE = timedelta(hours=1)
JITTER = timedelta(minutes=10)
DELIVERY_DELAY = timedelta(minutes=30)
DIGEST_DUE = CADENCE + JITTER + DELIVERY_DELAY
"""The grace for "not yet covered", from the digest cadence: the next digest of a chain is
due this long after the end of the one before it. Until then, logs named after the newest
digest are pending; after it, their digest is missing."""
NAME_SLACK = timedelta(minutes=2)
"""Log names carry the minute of delivery: a log named up to this before a digest's end may
have been delivered after it, and so be listed by the next digest."""
ANCHOR_LOOKBACK = timedelta(hours=3)
"""How far before the window the digest it links to is looked for."""
MAX_BACKFILL_KEY_SEARCHES = 24
"""Key searches for backfill digests per chain and run: one per hour of generation times.
The timestamp is not signed, so a flood of planted backfill digests with made-up times must
not become a flood of ListPublicKeys calls; one beyond the cap finds no key (a finding)."""

TAMPERING = frozenset((
    "malformed_digest", "digest_moved", "missing_signature", "unknown_signing_key",
    "invalid_digest_signature", "chain_link_mismatch", "missing_digest", "missing_newest_digest",
    "missing_log", "modified_log", "injected_log", "unexpected_object", "unreadable_object"))
"""Findings that mean the logs cannot be trusted (exit status 1, alerts)."""
STRICT_FAILURES = frozenset(("unverifiable_log",))
"""Findings that fail a strict run too: logs that no valid digest vouches for."""


def failing_kinds(strict: bool) -> frozenset[str]:
    return TAMPERING | STRICT_FAILURES if strict else TAMPERING


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    metadata: Mapping[str, str]


class ObjectUnreadable(Exception):
    """The object exists but cannot be read: archived (Glacier), encrypted with a key the
    validator may not use, access denied for it alone. What it holds cannot be vouched for."""


DigestRead = Digest | DigestFormatError | ObjectUnreadable | None
"""A fetched digest: parsed, why it could not be, or None when the object is gone."""
LogHash = str | Exception | None
"""A fetched log's hex SHA-256, why it could not be computed, or None when it is gone."""


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
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    """What "due" and "in the future" are measured against."""


@dataclass
class ChainResult:
    chain: ChainId
    strict: bool = False
    findings: list[Finding] = field(default_factory=list)
    digests_valid: int = 0
    digests_checked: int = 0
    logs_valid: int = 0
    logs_checked: int = 0
    log_objects: int = 0
    """Log objects in the window's log folders, named as CloudTrail names them."""
    logs_vouched: int = 0
    """... referenced by a valid digest of this trail, with the hash it records."""
    logs_vouched_by_other_trails: int = 0
    logs_vouched_by_backfill: int = 0
    """... listed by no valid standard digest, but by a valid backfill digest of this trail."""
    logs_pending: int = 0
    """... named after the newest digest, whose digest is not due yet."""
    backfill_digests_valid: int = 0
    backfill_digests_checked: int = 0
    """Backfill digests ending in the window (those before it are checked as links only)."""
    digests_listed: int = 0
    """This trail's digests found for the window (an anchor before it and backfill digests
    included): none at all usually means a wrong trail name, home region, bucket or prefix."""
    other_trails: set[str] = field(default_factory=set)
    """Names of other trails whose digests share these folders."""
    logs_outside_window: int = 0
    """Log files listed by a valid digest ending after the window, named outside it: not
    checked here (the next window's), checked by the AWS CLI."""
    logs_checked_of_other_trails: int = 0
    """Of ``logs_checked``: listed only by other trails' digests (the AWS CLI reads none)."""
    digests_after_aws_cli_range: int = 0
    """Of ``digests_checked``: ending more than a cadence after the window's end (delivery
    jitter), after the AWS CLI's last digest (window end plus one hour)."""
    newest: Anchor | None = None
    """The newest digest that verified and links to its chain: the next run's checkpoint.
    None when no digest qualifies (the checkpoint stays where it was)."""

    @property
    def logs_not_vouched(self) -> int:
        return (self.log_objects - self.logs_vouched - self.logs_vouched_by_other_trails
                - self.logs_vouched_by_backfill - self.logs_pending)

    @property
    def failed(self) -> bool:
        kinds = failing_kinds(self.strict)
        return any(f.kind in kinds for f in self.findings)


class Coverage(enum.IntEnum):
    """What vouches for the logs of a stretch of time; the higher wins where stretches meet."""
    VOUCHED = 0   # a valid digest: an unlisted log is injected
    GAP = 1       # logging or validation was stopped: nothing can vouch
    TAMPERED = 2  # the digest is missing or invalid (a finding already)
    PENDING = 3   # the digest is not due yet


@dataclass(frozen=True)
class _Span:
    low: datetime
    high: datetime
    coverage: Coverage


@dataclass
class _Slot:
    key: str
    time: datetime
    read: DigestRead
    trusted: bool = False
    eligible: bool = False
    """Trusted and linked: may become the checkpoint."""

    @property
    def digest(self) -> Digest | None:
        return self.read if isinstance(self.read, Digest) else None


@dataclass
class DigestPlan:
    ours: list[str] = field(default_factory=list)
    """This trail's digests to validate, oldest first."""
    others: list[str] = field(default_factory=list)
    """Other trails' digests ending in the window: what they list is not injected."""
    anchor: str | None = None
    backfill: list[str] = field(default_factory=list)
    """This trail's backfill digests, oldest first, from ``digests_from``."""

    @property
    def to_fetch(self) -> list[str]:
        return self.ours + self.others + ([self.anchor] if self.anchor else []) + self.backfill


class ChainValidator:
    def __init__(self, chain: ChainId, location: TrailLocation, window: Window,
                 public_keys: Mapping[str, bytes], checkpoint: Anchor | None = None, strict: bool = False) -> None:
        self.chain, self.location, self.window = chain, location, window
        self.public_keys, self.checkpoint = public_keys, checkpoint
        self.result = ChainResult(chain, strict)
        self.anchor: Anchor | None = checkpoint
        self._anchor_intact = checkpoint is None
        self._plan = DigestPlan()
        self._ends: dict[str, datetime] = {}
        self._slots: list[_Slot] = []
        self._backfill_slots: list[_Slot] = []
        self._backfill_keys: dict[datetime, Mapping[str, bytes]] = {}  # generation hour -> keys published then
        self._spans: list[_Span] = []
        self._index: tuple[list[datetime], list[datetime], list[_Span]] | None = None
        self._referenced: dict[str, str] = {}  # log key -> hash, from this trail's valid digests in the window
        self._vouched_earlier: set[str] = set()  # listed by the anchor digest
        self._referenced_by_others: dict[str, tuple[str, str]] = {}  # log key -> (hash, trail name)
        self._referenced_backfill: dict[str, str] = {}  # log key -> hash, from valid backfill digests
        self._after_window: set[str] = set()  # listed by a valid digest after the window, named after it
        self._others_newest: dict[str, datetime] = {}  # trail name -> end of its newest valid digest
        self._hashed_ok: set[str] = set()
        self._pending: list[datetime] = []

    # -- what to list ---------------------------------------------------------------------
    @property
    def logs_from(self) -> datetime:
        """Logs named from here to the window's end are judged. After a checkpoint, from a
        little before its end: a log named then may be listed by the next digest."""
        return self.checkpoint.end - NAME_SLACK if self.checkpoint else self.window.start

    @property
    def digests_until(self) -> datetime:
        """Digests ending up to a cadence after the window's end cover its last hour (those
        said to end after now do not exist yet, whatever their names say)."""
        return min(self.window.end + CADENCE + JITTER, self.window.now + CLOCK_SKEW)

    @property
    def digests_from(self) -> datetime:
        return self.logs_from - ANCHOR_LOOKBACK

    # -- stage 1 ------------------------------------------------------------------------
    def plan_digests(self, listed_keys: Iterable[str]) -> DigestPlan:
        """Sort the chain's digest folders (days from ``digests_from`` to ``digests_until``)."""
        plan, before, backfill = self._plan, [], []
        after = self.checkpoint.end if self.checkpoint else None
        for key in listed_keys:
            name = self.location.digest_name_in_place(self.chain, key)
            if name is None:
                self._add("malformed_digest", Severity.HIGH,
                          f"{key} is in a digest folder but is not a CloudTrail digest of this account and "
                          "region named for its day folder", [key])
            elif not self.digests_from <= name.end <= self.digests_until:
                continue
            elif not self.location.is_this_trails(name):
                self.result.other_trails.add(f"{name.trail_name} (home region {name.home_region})")
                if name.end >= self.logs_from:
                    plan.others.append(key)
            elif name.backfill:  # also before a checkpoint: the chain's links are checked there too
                backfill.append((name.end, key))
            elif after is not None and name.end <= after:
                continue  # the checkpoint or older: validated by earlier runs
            elif after is None and name.end < self.window.start:
                before.append((name.end, key))
            else:
                self._ends[key] = name.end
        plan.ours = sorted(self._ends, key=lambda key: (self._ends[key], key))
        plan.anchor = self.checkpoint.key if self.checkpoint else (max(before)[1] if before else None)
        plan.backfill = [key for _, key in sorted(backfill)]
        self._ends.update((key, end) for end, key in backfill)
        self.result.digests_listed = len(plan.ours) + (plan.anchor is not None) + len(plan.backfill)
        return plan

    def backfill_key_windows(self, fetched: Mapping[str, DigestRead]) -> list[Window]:
        """Where to search CloudTrail's public keys for the backfill digests among ``fetched``:
        around each hour they were generated in (the AWS CLI searches an hour either side of
        the timestamp). Give what each search finds to ``add_public_keys`` before
        ``check_digests``."""
        hours = sorted({_hour(digest.backfill_generated) for digest in fetched.values()
                        if isinstance(digest, Digest) and digest.is_backfill})
        return [Window(hour - CADENCE, hour + 2 * CADENCE, self.window.now)
                for hour in hours[:MAX_BACKFILL_KEY_SEARCHES]]

    def add_public_keys(self, searched: Window, keys: Mapping[str, bytes]) -> None:
        """What a ``backfill_key_windows`` search found. A backfill digest verifies only with
        a key published around its own generation time."""
        self._backfill_keys[searched.start + CADENCE] = keys

    def check_digests(self, fetched: Mapping[str, DigestRead]) -> list[str]:
        """``fetched``: what ``plan_digests`` asked for. Returns the log keys to hash."""
        self._take_anchor(fetched.get(self._plan.anchor) if self._plan.anchor else None)
        for key in self._plan.others:
            digest = fetched.get(key)
            if isinstance(digest, Digest) and self._verify(digest, of_another_trail=True):
                trail_name = parse_digest_name(key).trail_name
                self._others_newest[trail_name] = max(digest.end, self._others_newest.get(trail_name, digest.end))
                self._referenced_by_others.update(
                    (log.key, (log.hash_value, trail_name)) for log in digest.log_files
                    if _named_within(log.key, self.logs_from, self.window.end))
            else:
                self._report_unverified(key, digest, of_another_trail=True)
        for key in self._plan.ours:
            slot = _Slot(key, self._ends[key], fetched.get(key))
            self._check_one(slot)
            self._slots.append(slot)
            self.result.digests_after_aws_cli_range += slot.time > self.window.end + CADENCE
        for key in self._plan.backfill:
            slot = _Slot(key, self._ends[key], fetched.get(key))
            self._check_backfill(slot)
            self._backfill_slots.append(slot)
        self._build_timeline()
        self._link_backfill()
        self.result.logs_outside_window = len(self._after_window - self._referenced.keys()
                                            - self._referenced_backfill.keys())
        return sorted(self._referenced.keys() | self._referenced_backfill.keys() | self._referenced_by_others.keys())

    def _take_anchor(self, read: DigestRead) -> None:
        """A checkpoint's digest must still hash as it did (its logs are then vouched for);
        a digest found before the window anchors the chain only if it verifies."""
        key = self._plan.anchor
        if self.checkpoint is not None:
            if not isinstance(read, Digest):
                self._add("missing_digest", Severity.HIGH,
                          f"digest {key}, validated earlier (the checkpoint), is gone or unreadable", [key])
            elif read.sha256 != self.checkpoint.sha256:
                self._add("chain_link_mismatch", Severity.CRITICAL,
                          f"digest {key}, validated earlier (the checkpoint), no longer hashes to "
                          f"{self.checkpoint.sha256}: it was replaced", [key])
            else:
                self._anchor_intact = True
                self._vouched_earlier.update(log.key for log in read.log_files)
            return
        if key is None:
            return
        if isinstance(read, Digest) and self._verify(read):
            self.anchor = Anchor(read.key, read.end, read.sha256, read.signature)
            self._anchor_intact = True
            self._vouched_earlier.update(log.key for log in read.log_files)
        elif not isinstance(read, Digest):
            self._report_unverified(key, read)

    def _check_one(self, slot: _Slot) -> None:
        self.result.digests_checked += 1
        digest = slot.digest
        if digest is None:
            self._report_unverified(slot.key, slot.read)
            return
        if not self._verify(digest):
            return
        slot.trusted = True
        self.result.digests_valid += 1
        for log in digest.log_files:
            if digest.end <= self.window.end or _named_within(log.key, self.logs_from, self.window.end):
                self._referenced[log.key] = log.hash_value
            else:
                self._after_window.add(log.key)

    def _check_backfill(self, slot: _Slot) -> None:
        counted = slot.time >= self.window.start
        self.result.backfill_digests_checked += counted
        digest = slot.digest
        if digest is None:
            self._report_unverified(slot.key, slot.read)
            return
        if not self._verify(digest):
            return
        slot.trusted = True
        self.result.backfill_digests_valid += counted
        for log in digest.log_files:
            if (counted and digest.end <= self.window.end) or _named_within(log.key, self.logs_from, self.window.end):
                self._referenced_backfill[log.key] = log.hash_value
            elif counted:
                self._after_window.add(log.key)

    def _link_backfill(self) -> None:
        """Each valid backfill digest's link to the one before it (a new backfill chain has
        none): that digest exists, and its hash and signature are the ones recorded."""
        by_key = {slot.key: slot for slot in self._slots + self._backfill_slots}
        for slot in self._backfill_slots:
            digest = slot.digest
            if not slot.trusted or digest.starts_new_chain:
                continue
            previous = by_key.get(digest.previous_key)
            if previous is None:
                if _digest_time(digest.previous_key) >= self.digests_from:
                    self._add("missing_digest", Severity.HIGH,
                              f"backfill digest {digest.previous_key} is missing: {digest.key} links to it",
                              [digest.previous_key], {"backfill": True})
            elif previous.trusted:  # else reported already
                self._check_link(digest, previous.digest.sha256, previous.digest.signature)

    def _check_link(self, digest: Digest, expected_hash: str | None, expected_signature: str | None) -> bool:
        """The previous digest's hash and signature as ``digest`` records them; False (and
        findings) when either differs."""
        linked = True
        if expected_hash is not None and digest.previous_hash != expected_hash:
            linked = False
            self._add("chain_link_mismatch", Severity.CRITICAL,
                      f"{_kind_of(digest)} {digest.key} records previousDigestHashValue {digest.previous_hash}, but "
                      f"{digest.previous_key} hashes to {expected_hash}", [digest.key, digest.previous_key],
                      _marks(digest))
        if expected_signature is not None and (digest.previous_signature or "").lower() != expected_signature:
            linked = False
            self._add("chain_link_mismatch", Severity.CRITICAL,
                      f"{_kind_of(digest)} {digest.key} records a previousDigestSignature that is not the signature "
                      f"of {digest.previous_key}", [digest.key, digest.previous_key], _marks(digest))
        return linked

    def _verify(self, digest: Digest, of_another_trail: bool = False) -> bool:
        """Location, time, signature and signing key; False (and a finding) when one is wrong."""
        whose = f" (of trail {parse_digest_name(digest.key).trail_name})" if of_another_trail else ""
        public_key = (self._backfill_keys.get(_hour(digest.backfill_generated), {}) if digest.is_backfill
                      else self.public_keys).get(digest.fingerprint)
        around = (f"around its backfill-generation-timestamp {digest.backfill_generated:%Y-%m-%d %H:%M}Z"
                  if digest.is_backfill else f"around {digest.end:%Y-%m-%d %H:%M}Z")
        problem = None
        if (digest.bucket, digest.object_key) != (self.location.bucket, digest.key):
            problem = ("digest_moved", Severity.HIGH,
                       f"says it belongs at s3://{digest.bucket}/{digest.object_key}: replayed or moved")
        elif (named := parse_digest_name(digest.key)) is None or digest.end.replace(microsecond=0) != named.end:
            problem = ("malformed_digest", Severity.HIGH, f"ends at {digest.end_raw[:40]}, not at the time in its name")
        elif not digest.signature:
            problem = ("missing_signature", Severity.HIGH, "has no signature metadata")
        elif public_key is None:
            problem = ("unknown_signing_key", Severity.HIGH,
                       f"names key fingerprint {digest.fingerprint[:64]}, which CloudTrail did not publish for "
                       f"{self.chain.region} {around}")
        else:
            try:
                verify_signature(digest, public_key)
            except SignatureError as error:
                problem = ("invalid_digest_signature", Severity.CRITICAL,
                           f"{error}: its content, chain link or signature was changed")
        if problem:
            kind, severity, why = problem
            self._add(kind, severity, f"{_kind_of(digest)} {digest.key}{whose} {why}", [digest.key], _marks(digest))
        return problem is None

    def _report_unverified(self, key: str, read: DigestRead, of_another_trail: bool = False) -> None:
        whose = " (of another trail)" if of_another_trail else ""
        what, marks = ("backfill digest", {"backfill": True}) if is_backfill_key(key) else ("digest", None)
        if read is None:
            self._add("missing_digest", Severity.HIGH, f"{what} {key}{whose} was listed but is gone", [key], marks)
        elif isinstance(read, ObjectUnreadable):
            self._add("unreadable_object", Severity.HIGH, f"{what} {key}{whose} cannot be read: {read}", [key], marks)
        elif isinstance(read, DigestFormatError):
            self._add("malformed_digest", Severity.HIGH, f"{what} {key}{whose} is malformed: {read}", [key], marks)

    # -- the timeline -------------------------------------------------------------------
    def _build_timeline(self) -> None:
        """Partition time into stretches, each vouched for, in a gap, tampered or pending,
        linking each valid digest to the one before it."""
        previous: _Slot | Anchor | None = self.anchor
        if self.anchor is not None:
            self._span(_EARLIEST, self.anchor.end, Coverage.VOUCHED if self._anchor_intact else Coverage.TAMPERED)
        for slot in self._slots:
            since = _end_of(previous)
            if slot.trusted:
                slot.eligible = self._link(previous, slot.digest)
            else:
                self._span(since or slot.time - CADENCE, slot.time, Coverage.TAMPERED)
            previous = slot
        self._check_head(_end_of(previous))

    def _link(self, previous: "_Slot | Anchor | None", digest: Digest) -> bool:
        """Check the link to the digest before; True unless it is wrong."""
        since = _end_of(previous)
        if digest.starts_new_chain:
            self._span(since or digest.start - CADENCE, digest.start, Coverage.GAP)
            why = (f"logging or log file validation was stopped after {since:%Y-%m-%d %H:%M}Z and started again"
                   if since else "the trail or its log file validation started, or was stopped and started")
            self._add("chain_gap", Severity.MEDIUM,
                      f"a new chain starts at {digest.key} ({digest.start:%Y-%m-%d %H:%M}Z): {why}", [digest.key])
        elif previous is None or previous.key != digest.previous_key:
            rejected_anchor = previous is None and digest.previous_key == self._plan.anchor
            if rejected_anchor:  # reported already; nothing to compare with
                self._span(digest.start - CADENCE, digest.start, Coverage.TAMPERED)
            elif previous is not None or _digest_time(digest.previous_key) >= self.digests_from:
                self._report_missing_between(since or digest.start - CADENCE, digest)
        elif not self._check_link(digest, _hash_of(previous), _signature_of(previous)):
            self._span(since, digest.end, Coverage.TAMPERED)
            return False
        self._span(digest.start, digest.end, Coverage.VOUCHED)
        return True

    def _report_missing_between(self, since: datetime, digest: Digest) -> None:
        self._span(since, digest.start, Coverage.TAMPERED)
        self._add("missing_digest", Severity.HIGH,
                  f"digest {digest.previous_key} is missing: {digest.key} links to it", [digest.previous_key])
        for n in range(1, max(1, round((digest.end - since) / CADENCE) - 1)):
            expected = since + n * CADENCE
            self._add("missing_digest", Severity.HIGH,
                      f"no digest for the hour ending about {expected:%Y-%m-%d %H:%M}Z before {digest.key}",
                      [], {"expected_end": expected.isoformat()})

    def _check_head(self, newest: datetime | None) -> None:
        """Every digest that may list a log named in the window is required once due (its
        expected end plus the grace has passed); after the newest, logs are pending until
        the next one is due, and unverifiable after."""
        if newest is None:
            return  # no digest at all: the log folders say which hours are missing
        expected = newest
        while expected - NAME_SLACK < self.window.end and expected + DIGEST_DUE <= self.window.now:
            expected += CADENCE
            self._add("missing_newest_digest", Severity.HIGH,
                      f"no digest for the hour ending about {expected:%Y-%m-%d %H:%M}Z: the newest digests "
                      "were deleted or are not being delivered", [], {"expected_end": expected.isoformat()})
        if expected > newest:
            self._span(newest, expected, Coverage.TAMPERED)
        due = expected + DIGEST_DUE <= self.window.now
        self._span(expected, _LATEST, Coverage.TAMPERED if due else Coverage.PENDING)

    def _span(self, low: datetime, high: datetime, coverage: Coverage) -> None:
        self._spans.append(_Span(low, high, coverage))

    # -- stage 2 ------------------------------------------------------------------------
    def check_logs(self, hashes: Mapping[str, LogHash]) -> None:
        """``hashes``: for each key ``check_digests`` returned, the log's SHA-256, the
        reason it has none, or None when it is missing. Logs another trail's digest lists
        must hash as it records too: that digest vouches for nothing else."""
        expected_hashes: dict[str, list[tuple[str, str, dict | None]]] = defaultdict(list)
        for key, value in self._referenced.items():
            expected_hashes[key].append((value, "", None))
        for key, value in self._referenced_backfill.items():
            expected_hashes[key].append((value, " (listed by a backfill digest)", {"backfill": True}))
        for key, (value, trail) in self._referenced_by_others.items():
            if key not in expected_hashes:
                expected_hashes[key].append((value, f" (listed by trail {trail})", None))
        for key, expectations in expected_hashes.items():
            self.result.logs_checked += 1
            listed_by_this_trail = key in self._referenced or key in self._referenced_backfill
            self.result.logs_checked_of_other_trails += not listed_by_this_trail
            actual = hashes.get(key)
            _, whose, marks = expectations[0]
            if actual is None:
                self._add("missing_log", Severity.HIGH,
                          f"log file {key}{whose} is referenced by a digest but missing", [key], marks)
            elif isinstance(actual, ObjectUnreadable):
                self._add("unreadable_object", Severity.HIGH, f"log file {key}{whose} cannot be read: {actual}",
                          [key], marks)
            elif isinstance(actual, Exception):
                self._add("modified_log", Severity.CRITICAL,
                          f"log file {key}{whose} is not the file delivered: {actual}", [key], marks)
            elif any(actual != expected for expected, _, _ in expectations):
                for expected, whose, marks in expectations:
                    if actual != expected:
                        self._add("modified_log", Severity.CRITICAL, f"log file {key}{whose} was modified: "
                                  f"SHA-256 {actual}, digest recorded {expected}", [key], marks)
            else:
                self.result.logs_valid += 1
                self._hashed_ok.add(key)

    # -- stage 3 ------------------------------------------------------------------------
    def check_log_folders(self, listed_keys: Iterable[str]) -> None:
        """``listed_keys``: every object in the chain's log day folders from ``logs_from``
        to the window's end."""
        unaccounted: dict[datetime, list[str]] = defaultdict(list)  # hour -> logs no digest covers
        for key in listed_keys:
            name = self.location.log_name_in_place(self.chain, key)
            if name is None:
                self._add("unexpected_object", Severity.HIGH,
                          f"{key} is in a log folder but is not a CloudTrail log file name of this account and "
                          "region for that day folder: CloudTrail did not write it", [key])
                continue
            if not self.logs_from <= name.time <= self.window.end:
                continue
            self.result.log_objects += 1
            if key in self._referenced or key in self._referenced_backfill or key in self._referenced_by_others:
                if key in self._hashed_ok:  # else missing_log, modified_log or unreadable_object already
                    if key in self._referenced:
                        self.result.logs_vouched += 1
                    elif key in self._referenced_backfill:
                        self.result.logs_vouched_by_backfill += 1
                    else:
                        self.result.logs_vouched_by_other_trails += 1
            elif key in self._vouched_earlier:
                self.result.logs_vouched += 1
            elif self._another_trails_next_digest_may_list(name.time):
                self._unvouched(key, Coverage.PENDING, name.time)
            else:
                coverage = self._coverage(name.time)
                if coverage is None:
                    unaccounted[name.time.replace(minute=0)].append(key)
                else:
                    self._unvouched(key, coverage, name.time)
        for hour, keys in sorted(unaccounted.items()):
            due = hour + DIGEST_DUE <= self.window.now
            if due:
                self._add("missing_digest", Severity.HIGH,
                          f"{len(keys)} log files were delivered in the hour from {hour:%Y-%m-%d %H:%M}Z, "
                          "but no digest of this trail covers it: the digests were deleted", keys[:20],
                          {"expected_end": (hour + CADENCE).isoformat()})
            for key in keys:
                self._unvouched(key, Coverage.TAMPERED if due else Coverage.PENDING, hour)
        self._choose_checkpoint()

    def _another_trails_next_digest_may_list(self, time: datetime) -> bool:
        return any(time + NAME_SLACK >= end and end + DIGEST_DUE > self.window.now
                   for end in self._others_newest.values())

    def _choose_checkpoint(self) -> None:
        """The newest digest that verified and links to its chain, and from which the next
        run still sees every log that is pending now."""
        earliest_pending = min(self._pending, default=_LATEST)
        eligible = [slot for slot in self._slots if slot.eligible and slot.time - NAME_SLACK <= earliest_pending]
        if eligible:
            newest = eligible[-1].digest
            self.result.newest = Anchor(newest.key, newest.end, newest.sha256, newest.signature)

    def _coverage(self, time: datetime) -> Coverage | None:
        """What covers a log named at ``time``: every stretch it may belong to, the worst wins.
        A bisection over the stretches sorted by start, so that a flood of injected logs
        costs a few comparisons each, not one per stretch."""
        if self._index is None:
            spans = sorted(self._spans, key=lambda span: span.low)
            reach, highs = _EARLIEST, []
            for span in spans:
                reach = max(reach, span.high)
                highs.append(reach)
            self._index = ([span.low for span in spans], highs, spans)
        lows, reaches, spans = self._index
        found, n = [], bisect.bisect_right(lows, time + NAME_SLACK) - 1
        while n >= 0 and reaches[n] >= time:  # no stretch before n reaches ``time``
            if spans[n].high >= time:
                found.append(spans[n].coverage)
            n -= 1
        return max(found) if found else None

    def _unvouched(self, key: str, coverage: Coverage, time: datetime) -> None:
        if coverage is Coverage.PENDING:
            self.result.logs_pending += 1
            self._pending.append(time)
        elif coverage is Coverage.VOUCHED:
            self._add("injected_log", Severity.HIGH,
                      f"log file {key} is not referenced by any digest: it was not delivered by CloudTrail", [key])
        else:
            where = "a gap of the digest chain" if coverage is Coverage.GAP else "an hour whose digest is missing or invalid"
            self._add("unverifiable_log", Severity.HIGH if self.result.strict else Severity.MEDIUM,
                      f"log file {key} is in {where}: no digest can vouch for it", [key])

    def report_strays(self, keys: Iterable[str]) -> None:
        """``keys``: objects in the chain's folders outside any day folder (``stray_keys``)."""
        for key in keys:
            self.result.findings.append(unexpected_object(key, self.chain.account, self.chain.region))

    def _add(self, kind: str, severity: Severity, message: str, keys: list, details: dict | None = None) -> None:
        self.result.findings.append(Finding(kind, severity, f"{self.chain}: {message}", tuple(keys),
                                            {"account": self.chain.account, "region": self.chain.region,
                                             **(details or {})}))


def _hour(time: datetime) -> datetime:
    return time.replace(minute=0, second=0, microsecond=0)


def _kind_of(digest: Digest) -> str:
    return "backfill digest" if digest.is_backfill else "digest"


def _marks(digest: Digest) -> dict | None:
    return {"backfill": True} if digest.is_backfill else None


def _named_within(log_key: str, start: datetime, end: datetime) -> bool:
    name = parse_log_name(log_key)
    return name is not None and start <= name.time <= end


def unexpected_object(key: str, account: str, region: str | None = None) -> Finding:
    where = f"{account}/{region}" if region else account
    return Finding("unexpected_object", Severity.HIGH,
                   f"{where}: {key} is not in a day folder of a region, as CloudTrail writes: it did not write it",
                   (key,), {"account": account, "region": region})


_EARLIEST, _LATEST = datetime.min.replace(tzinfo=timezone.utc), datetime.max.replace(tzinfo=timezone.utc)


def _digest_time(key: str | None) -> datetime:
    name = parse_digest_name(key or "")
    return name.end if name else _EARLIEST


def _end_of(link: "_Slot | Anchor | None") -> datetime | None:
    """A slot's end is the time in its name: a valid digest's body agrees with it, and an
    invalid one's body says nothing that can be believed."""
    if link is None:
        return None
    return link.end if isinstance(link, Anchor) else link.time


def _hash_of(link: "_Slot | Anchor") -> str | None:
    if isinstance(link, Anchor):
        return link.sha256
    return link.digest.sha256 if link.digest else None


def _signature_of(link: "_Slot | Anchor") -> str | None:
    if isinstance(link, Anchor):
        return link.signature
    return link.digest.signature if link.digest and link.digest.signature else None
