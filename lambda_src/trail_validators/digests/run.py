"""A validation run over many chains: discovery, listing and parallel fetching around the
pure ChainValidator. Storage is behind ObjectReader (S3 in production, a dict in tests)."""

from __future__ import annotations

import functools
import re
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable, Iterator, Mapping, Protocol

from ..findings import Finding
from .chain import (Anchor, ChainResult, ChainValidator, DigestRead, LogHash, ObjectUnreadable, StoredObject, Window,
                    failing_kinds, unexpected_object)
from .digest import MAX_COMPRESSED_DIGEST, DigestFormatError, parse_digest
from .layout import REGION, ChainId, TrailLocation, days, is_date_folder
from .log_files import LogFormatError, log_sha256

ACCOUNT = re.compile(r"[0-9]{12}")
DISCOVERY_CONCURRENCY = 16
MAX_STRAYS_PER_FOLDER = 1000
TREES = ("CloudTrail-Digest", "CloudTrail")


class ObjectReader(Protocol):
    def list_keys(self, prefix: str) -> list[str]: ...
    def list_after(self, prefix: str, start_after: str) -> Iterator[str]:
        """The keys under prefix that sort after ``start_after``, in S3's order, a page at a
        time (a caller that stops reading asks for no further page)."""
        ...
    def list_children(self, prefix: str) -> list[str]:
        """Names of the 'folders' directly under prefix (without slashes)."""
        ...
    def list_level(self, prefix: str) -> tuple[list[str], list[str]]:
        """The keys directly under prefix, and the names of the 'folders' there."""
        ...
    def get(self, key: str, max_bytes: int | None = None) -> StoredObject | None:
        """None when there is no such object. With ``max_bytes``, at most one byte more
        than that is read: enough to tell that the object is over the cap."""
        ...
    def stream(self, key: str) -> Iterator[bytes] | None:
        """The object's bytes in chunks of about CHUNK, or None when there is no such object."""
        ...


PublicKeys = Callable[[str, Window], Mapping[str, bytes]]
"""(region, window) -> {fingerprint: DER} of CloudTrail's published keys."""
RegionKeys = Callable[[Window], Mapping[str, bytes]]
"""PublicKeys of one region."""


def discover_chains(reader: ObjectReader, location: TrailLocation, accounts: Iterable[str] | None = None,
                    regions: Iterable[str] | None = None) -> list[ChainId]:
    """Every account and region with a digest folder or a log folder under the trail's
    bucket and prefix: a region whose digests were all deleted still has its logs."""
    wanted_regions = set(regions) if regions else None
    accounts = [account for account in (list(accounts) if accounts else reader.list_children(location.aws_logs))
                if ACCOUNT.fullmatch(account)]
    folders = [f"{location.account_prefix(account)}{tree}/" for account in accounts for tree in TREES]
    with ThreadPoolExecutor(DISCOVERY_CONCURRENCY, thread_name_prefix="discover") as pool:
        children = dict(zip(folders, pool.map(reader.list_children, folders)))
    return sorted({ChainId(account, region) for account in accounts for tree in TREES
                   for region in children[f"{location.account_prefix(account)}{tree}/"]
                   if REGION.fullmatch(region) and (wanted_regions is None or region in wanted_regions)})


def stray_keys(reader: ObjectReader, root: str, start: datetime, end: datetime,
               folder_name=is_date_folder) -> list[str]:
    """Objects under ``root`` that no day folder holds: directly at a level, or under a
    folder not named as CloudTrail names them. Three levels (year, month, day) below a
    region's folder; only the years and months of the window are looked into."""
    wanted = {(f"{day:%Y}", f"{day:%m}") for day in days(start, end)}
    strays, level = [], [(root, ())]
    for depth in range(3):
        deeper = []
        for prefix, parts in level:
            keys, children = reader.list_level(prefix)
            strays += keys
            for child in children:
                named = parts + (child,)
                if not folder_name(named):
                    strays += reader.list_keys(f"{prefix}{child}/")[:MAX_STRAYS_PER_FOLDER]
                elif depth < 2 and any(named == pair[:len(named)] for pair in wanted):
                    deeper.append((f"{prefix}{child}/", named))
        level = deeper
    return strays


def account_stray_keys(reader: ObjectReader, location: TrailLocation, account: str) -> list[str]:
    """Objects directly in an account's CloudTrail/ and CloudTrail-Digest/ folders, or in a
    folder there that is not named as a region."""
    strays = []
    for tree in TREES:
        prefix = f"{location.account_prefix(account)}{tree}/"
        keys, children = reader.list_level(prefix)
        strays += keys
        for child in children:
            if not REGION.fullmatch(child):
                strays += reader.list_keys(f"{prefix}{child}/")[:MAX_STRAYS_PER_FOLDER]
    return strays


@dataclass
class RunResult:
    chains: list[ChainResult] = field(default_factory=list)
    strict: bool = False
    outside_chains: list[Finding] = field(default_factory=list)
    """Objects in an account's folders that belong to no chain."""

    @property
    def findings(self) -> list[Finding]:
        return [f for chain in self.chains for f in chain.findings] + self.outside_chains

    @property
    def failed(self) -> bool:
        return any(chain.failed for chain in self.chains) or bool(self.outside_chains)

    @property
    def failing_kinds(self) -> frozenset[str]:
        return failing_kinds(self.strict)


def validate_chain(reader: ObjectReader, location: TrailLocation, chain: ChainId, window: Window,
                   public_keys: Mapping[str, bytes], fetcher: Executor, checkpoint: Anchor | None = None,
                   strict: bool = False, backfill_keys: RegionKeys | None = None,
                   scan_strays: bool = True) -> ChainResult:
    """``public_keys``: the window's; ``backfill_keys`` searches the chain's region for
    those of backfill digests (without it they verify only with the window's keys).
    ``scan_strays=False`` (the hourly worker after a checkpoint): the chain's folders are
    listed only from where the window starts to their end (one LIST each in steady state);
    objects that sort before that are left to the trail-bucket watch and to full runs."""
    validator = ChainValidator(chain, location, window, public_keys, checkpoint, strict)
    account_prefix = location.account_prefix(chain.account)
    digest_root, log_root = (f"{account_prefix}{tree}/{chain.region}/" for tree in TREES)
    if scan_strays:
        digest_listing = fetcher.submit(_list_days, reader, digest_root, validator.digests_from,
                                        validator.digests_until)
        log_listing = fetcher.submit(_list_days, reader, log_root, validator.logs_from, window.end)
        strays = [fetcher.submit(stray_keys, reader, root, start, end)
                  for root, start, end in ((digest_root, validator.digests_from, validator.digests_until),
                                           (log_root, validator.logs_from, window.end))]
    else:
        digests_from, logs_from = validator.digests_from, validator.logs_from
        digests_after = f"{location.digest_day_prefix(chain, digests_from)}{chain.account}_CloudTrail-Digest_"
        logs_after = (f"{location.log_day_prefix(chain, logs_from)}{chain.account}_CloudTrail_{chain.region}_"
                      f"{logs_from:%Y%m%dT%H%M}Z")
        digest_listing = fetcher.submit(_list_to_end, reader, digest_root, digests_after)
        log_listing = fetcher.submit(_list_to_end, reader, log_root, logs_after)
        strays = []
    to_fetch = validator.plan_digests(digest_listing.result()).to_fetch
    digests = dict(zip(to_fetch, fetcher.map(lambda key: read_digest(reader, key), to_fetch)))
    for key_window in validator.backfill_key_windows(digests) if backfill_keys else ():
        validator.add_public_keys(key_window, backfill_keys(key_window))
    log_keys = validator.check_digests(digests)
    validator.check_logs(dict(zip(log_keys, fetcher.map(lambda key: hash_log(reader, key), log_keys))))
    log_keys_listed = log_listing.result()
    validator.check_log_folders(log_keys_listed)
    judged = set(digest_listing.result()) | set(log_keys_listed)
    validator.report_strays(key for stray in strays for key in stray.result() if key not in judged)
    return validator.result


def read_digest(reader: ObjectReader, key: str) -> DigestRead:
    """Fetch and parse one digest in a fetch thread: only the parsed form is kept."""
    try:
        stored = reader.get(key, max_bytes=MAX_COMPRESSED_DIGEST)
    except ObjectUnreadable as error:
        return error
    if stored is None:
        return None
    try:
        return parse_digest(key, stored.data, stored.metadata)
    except DigestFormatError as error:
        return error


def hash_log(reader: ObjectReader, key: str) -> LogHash:
    """Hash one log while it streams in (see log_files for the memory budget)."""
    try:
        chunks = reader.stream(key)
        return None if chunks is None else log_sha256(chunks)
    except (LogFormatError, ObjectUnreadable) as error:
        return error


def validate_trail(reader: ObjectReader, location: TrailLocation, chains: list[ChainId], window: Window,
                   public_keys: PublicKeys, concurrency: int = 64, strict: bool = False,
                   anchors: Mapping[ChainId, Anchor] | None = None,
                   on_chain_done: Callable[[ChainResult], None] | None = None) -> RunResult:
    """Validate every chain; chains run side by side and share one pool of object fetches."""
    result = RunResult(strict=strict)
    with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="fetch") as fetcher, \
            ThreadPoolExecutor(max(1, min(len(chains), concurrency)), thread_name_prefix="chain") as runner:
        regions = sorted({c.region for c in chains})
        keys_by_region = dict(zip(regions, fetcher.map(lambda region: public_keys(region, window), regions)))
        futures = [runner.submit(validate_chain, reader, location, chain, window, keys_by_region[chain.region],
                                 fetcher, (anchors or {}).get(chain), strict,
                                 functools.partial(public_keys, chain.region)) for chain in chains]
        accounts = sorted({chain.account for chain in chains})
        for account, keys in zip(accounts, fetcher.map(lambda a: account_stray_keys(reader, location, a), accounts)):
            result.outside_chains += [unexpected_object(key, account) for key in keys]
        for future in futures:
            chain_result = future.result()
            result.chains.append(chain_result)
            if on_chain_done:
                on_chain_done(chain_result)
    return result


def _list_days(reader: ObjectReader, root: str, start: datetime, end: datetime) -> list[str]:
    """Every key from the first day folder's to the last one's, with whatever sorts between
    them (one listing, not one per day)."""
    span = days(start, end)
    first, last = span[0], span[-1]
    stop_at = f"{root}{last + timedelta(days=1):%Y/%m/%d}"
    keys = []
    for key in reader.list_after(root, f"{root}{first:%Y/%m/%d}"):
        if key >= stop_at:
            break
        keys.append(key)
    return keys


def _list_to_end(reader: ObjectReader, root: str, start_after: str) -> list[str]:
    return list(reader.list_after(root, start_after))
