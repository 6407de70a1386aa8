"""A validation run over many chains: discovery, listing and parallel fetching around the
pure ChainValidator. Storage is behind ObjectReader (S3 in production, a dict in tests)."""

from __future__ import annotations

import re
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable, Iterable, Mapping, Protocol

from .chain import Anchor, ChainResult, ChainValidator, StoredObject, Window
from .digest import DigestFormatError, parse_digest
from .findings import Finding
from .trail_layout import ChainId, TrailLocation, days, digest_key_time, log_key_time

ACCOUNT = re.compile(r"^\d{12}$")
ANCHOR_LOOKBACK = timedelta(hours=3)
DISCOVERY_CONCURRENCY = 16


class ObjectReader(Protocol):
    def list_keys(self, prefix: str) -> list[str]: ...
    def list_children(self, prefix: str) -> list[str]:
        """Names of the 'folders' directly under prefix (without slashes)."""
        ...
    def get(self, key: str) -> StoredObject | None:
        """None when there is no such object."""
        ...


PublicKeys = Callable[[str, Window], Mapping[str, bytes]]
"""(region, window) -> {fingerprint: DER} of CloudTrail's published keys."""


class MemoryReader:
    """An ObjectReader over a dict of objects, for tests and local runs."""

    def __init__(self, objects: Mapping[str, StoredObject]) -> None:
        self.objects = objects

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    def list_children(self, prefix: str) -> list[str]:
        return sorted({k[len(prefix):].split("/", 1)[0] for k in self.objects
                       if k.startswith(prefix) and "/" in k[len(prefix):]})

    def get(self, key: str) -> StoredObject | None:
        return self.objects.get(key)


def discover_chains(reader: ObjectReader, location: TrailLocation, accounts: Iterable[str] | None = None,
                    regions: Iterable[str] | None = None) -> list[ChainId]:
    """Every account and region that has digests of this trail's bucket and prefix."""
    wanted_regions = set(regions) if regions else None
    accounts = [account for account in (list(accounts) if accounts else reader.list_children(location.aws_logs))
                if ACCOUNT.match(account)]
    with ThreadPoolExecutor(DISCOVERY_CONCURRENCY, thread_name_prefix="discover") as pool:
        regions_by_account = pool.map(
            lambda account: reader.list_children(f"{location.account_prefix(account)}CloudTrail-Digest/"), accounts)
        return sorted(ChainId(account, region) for account, account_regions in zip(accounts, regions_by_account)
                      for region in account_regions if wanted_regions is None or region in wanted_regions)


@dataclass
class RunResult:
    chains: list[ChainResult] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for chain in self.chains for f in chain.findings]

    @property
    def tampered(self) -> bool:
        return any(chain.tampered for chain in self.chains)


def validate_chain(reader: ObjectReader, location: TrailLocation, chain: ChainId, window: Window,
                   public_keys: Mapping[str, bytes], fetcher: Executor, anchor: Anchor | None = None) -> ChainResult:
    digest_listing = _list_days(reader, location.digest_day_prefix, chain, window.start - ANCHOR_LOOKBACK,
                                window.end, fetcher)
    log_listing = _list_days(reader, location.log_day_prefix, chain, window.start, window.end, fetcher)
    listed = _keys(digest_listing)
    ours = [(digest_key_time(k), k) for k in listed if location.is_this_trails_digest(k) and digest_key_time(k)]
    in_window = [k for t, k in ours if window.start <= t <= window.end]
    if anchor is None:
        before = sorted((t, k) for t, k in ours if t < window.start)
        anchor = _anchor_from(before[-1][1], reader.get(before[-1][1])) if before else None
    validator = ChainValidator(chain, location, window, public_keys, anchor)
    digests = dict(zip(in_window, fetcher.map(reader.get, in_window)))
    log_keys = validator.check_digests(digests)
    logs = dict(zip(log_keys, fetcher.map(lambda k: _data(reader.get(k)), log_keys)))
    validator.check_logs(logs)
    validator.check_unreferenced(
        k for k in _keys(log_listing) if (t := log_key_time(k)) and window.start <= t <= window.end)
    return validator.result


def validate_trail(reader: ObjectReader, location: TrailLocation, chains: list[ChainId], window: Window,
                   public_keys: PublicKeys, concurrency: int = 64,
                   anchors: Mapping[ChainId, Anchor] | None = None,
                   on_chain_done: Callable[[ChainResult], None] | None = None) -> RunResult:
    """Validate every chain; chains run side by side and share one pool of object fetches."""
    result = RunResult()
    with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="fetch") as fetcher, \
            ThreadPoolExecutor(max(1, min(len(chains), concurrency)), thread_name_prefix="chain") as runner:
        regions = sorted({c.region for c in chains})
        keys_by_region = dict(zip(regions, fetcher.map(lambda region: public_keys(region, window), regions)))
        futures = [runner.submit(validate_chain, reader, location, chain, window, keys_by_region[chain.region],
                                 fetcher, (anchors or {}).get(chain)) for chain in chains]
        for future in futures:
            chain_result = future.result()
            result.chains.append(chain_result)
            if on_chain_done:
                on_chain_done(chain_result)
    return result


def _list_days(reader: ObjectReader, day_prefix, chain: ChainId, start, end, fetcher: Executor) -> list[Future]:
    """Start listing each day's folder; the lists run while the caller does other work."""
    return [fetcher.submit(reader.list_keys, day_prefix(chain, day)) for day in days(start, end)]


def _keys(listing: list[Future]) -> list[str]:
    return [key for day in listing for key in day.result()]


def _anchor_from(key: str, stored: StoredObject | None) -> Anchor | None:
    if stored is None:
        return None
    try:
        digest = parse_digest(key, stored.data, stored.metadata)
    except DigestFormatError:
        return None
    return Anchor(key, digest.end, digest.sha256, digest.signature)


def _data(stored: StoredObject | None) -> bytes | None:
    return None if stored is None else stored.data
