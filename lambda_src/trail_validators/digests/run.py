"""A validation run over many chains: discovery, listing and parallel fetching around the
pure ChainValidator. Storage is behind ObjectReader (S3 in production, a dict in tests)."""

from __future__ import annotations

import functools
import re
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
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
                   strict: bool = False, backfill_keys: RegionKeys | None = None) -> ChainResult:
    """``public_keys``: the window's; ``backfill_keys`` searches the chain's region for
    those of backfill digests (without it they verify only with the window's keys)."""
    validator = ChainValidator(chain, location, window, public_keys, checkpoint, strict)
    digest_listing = _list_days(reader, location.digest_day_prefix, chain, validator.digests_from,
                                validator.digests_until, fetcher)
    log_listing = _list_days(reader, location.log_day_prefix, chain, validator.logs_from, window.end, fetcher)
    strays = [fetcher.submit(stray_keys, reader, f"{location.account_prefix(chain.account)}{tree}/{chain.region}/",
                             start, end)
              for tree, start, end in (("CloudTrail-Digest", validator.digests_from, validator.digests_until),
                                       ("CloudTrail", validator.logs_from, window.end))]
    to_fetch = validator.plan_digests(_keys(digest_listing)).to_fetch
    digests = dict(zip(to_fetch, fetcher.map(lambda key: read_digest(reader, key), to_fetch)))
    for key_window in validator.backfill_key_windows(digests) if backfill_keys else ():
        validator.add_public_keys(key_window, backfill_keys(key_window))
    log_keys = validator.check_digests(digests)
    validator.check_logs(dict(zip(log_keys, fetcher.map(lambda key: hash_log(reader, key), log_keys))))
    validator.check_log_folders(_keys(log_listing))
    validator.report_strays(_keys(strays))
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


def _list_days(reader: ObjectReader, day_prefix, chain: ChainId, start: datetime, end: datetime,
               fetcher: Executor) -> list[Future]:
    """Start listing each day's folder; the lists run while the caller does other work."""
    return [fetcher.submit(reader.list_keys, day_prefix(chain, day)) for day in days(start, end)]


def _keys(listing: list[Future]) -> list[str]:
    return [key for day in listing for key in day.result()]
