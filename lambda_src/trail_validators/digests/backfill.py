"""The backfill's items and windows: every chain (account and region) times every UTC day
of a request, one Distributed Map item each (``contract.BackfillItem``). Pure."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Iterator

from ..contract import BackfillError, BackfillItem, BackfillRequest
from .chain import Window
from .layout import REGION, ChainId
from .run import ACCOUNT


def backfill_items(chains: Iterable[ChainId], request: BackfillRequest) -> Iterator[BackfillItem]:
    """Day by day, each chain: the order the Distributed Map starts them in."""
    chains = sorted(chains)
    for day in request.days():
        for chain in chains:
            yield BackfillItem(chain.account, chain.region, day.isoformat())


def json_lines(items: Iterable[BackfillItem]) -> Iterator[bytes]:
    """What the Distributed Map's JSON Lines reader reads: one item per line."""
    for item in items:
        yield json.dumps(item.to_json(), separators=(",", ":")).encode() + b"\n"


def item_chain(item: BackfillItem) -> ChainId:
    """The chain an item names, judged as a chain's folder names are."""
    if not ACCOUNT.fullmatch(item.account):
        raise BackfillError(f"backfill item account {item.account!r} is not a 12-digit account id")
    if not REGION.fullmatch(item.region):
        raise BackfillError(f"backfill item region {item.region!r} is not a region name")
    return ChainId(item.account, item.region)


def day_window(item: BackfillItem, now: datetime) -> Window:
    """The item's UTC day, up to ``now`` for today; a day after ``now`` is refused."""
    start = datetime.combine(date.fromisoformat(item.day), time(0), tzinfo=timezone.utc)
    if start > now:
        raise BackfillError(f"backfill item day {item.day} is after now ({now.isoformat()})")
    return Window(start, min(start + timedelta(days=1), now), now)
