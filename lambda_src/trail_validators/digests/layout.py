"""Where CloudTrail puts digests and logs, and what their names say. Pure.

Every object name is hostile until parsed: the parsers below are total (they return
None for anything that is not exactly a CloudTrail name, they never raise), and a name is
only trusted where it agrees with the folder it was found in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

UTC = timezone.utc
CLOUDTRAIL_EPOCH = datetime(2013, 11, 13, tzinfo=UTC)
"""CloudTrail's launch: no trail has an object named before it."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of this machine's clock AWS's may be."""
BACKFILL_SUFFIX = "_backfill.json.gz"
"""Ends the name of a backfill digest: one CloudTrail delivers later, for late log files."""


@dataclass(frozen=True, order=True)
class ChainId:
    """One digest chain: an account and a region of a trail."""
    account: str
    region: str

    def __str__(self) -> str:
        return f"{self.account}/{self.region}"


@dataclass(frozen=True)
class DigestName:
    """``<account>_CloudTrail-Digest_<region>_<trail>_<home-region>_<end>[_backfill].json.gz``"""
    account: str
    region: str
    trail_name: str
    home_region: str
    end: datetime
    backfill: bool


@dataclass(frozen=True)
class LogName:
    """``<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 letters or digits>.json.gz``"""
    account: str
    region: str
    time: datetime


@dataclass(frozen=True)
class TrailLocation:
    bucket: str
    prefix: str | None
    """``S3KeyPrefix`` of the trail, without slashes at either end."""
    org_id: str | None
    """Set for an organization trail: its keys carry ``AWSLogs/<org-id>/``."""
    trail_name: str
    home_region: str

    @property
    def aws_logs(self) -> str:
        base = f"{self.prefix}/AWSLogs/" if self.prefix else "AWSLogs/"
        return f"{base}{self.org_id}/" if self.org_id else base

    def account_prefix(self, account: str) -> str:
        return f"{self.aws_logs}{account}/"

    def digest_day_prefix(self, chain: ChainId, day: datetime) -> str:
        return f"{self.account_prefix(chain.account)}CloudTrail-Digest/{chain.region}/{day:%Y/%m/%d}/"

    def log_day_prefix(self, chain: ChainId, day: datetime) -> str:
        return f"{self.account_prefix(chain.account)}CloudTrail/{chain.region}/{day:%Y/%m/%d}/"

    def digest_key(self, chain: ChainId, end: datetime, backfill: bool = False) -> str:
        return (f"{self.digest_day_prefix(chain, end)}{chain.account}_CloudTrail-Digest_{chain.region}_"
                f"{self.trail_name}_{self.home_region}_{end:%Y%m%dT%H%M%SZ}"
                f"{BACKFILL_SUFFIX if backfill else '.json.gz'}")

    def is_this_trails(self, name: DigestName) -> bool:
        """Exactly this trail: ``old_<name>`` or another home region is another trail."""
        return (name.trail_name, name.home_region) == (self.trail_name, self.home_region)

    def digest_name_in_place(self, chain: ChainId, key: str) -> DigestName | None:
        """The digest name of ``key`` if it is one, of this chain, in the day folder of its time."""
        name = parse_digest_name(key)
        if name is None or (name.account, name.region) != (chain.account, chain.region):
            return None
        return name if key == f"{self.digest_day_prefix(chain, name.end)}{_base(key)}" else None

    def log_name_in_place(self, chain: ChainId, key: str) -> LogName | None:
        """The log name of ``key`` if it is one, of this chain, in the day folder of its time."""
        name = parse_log_name(key)
        if name is None or (name.account, name.region) != (chain.account, chain.region):
            return None
        return name if key == f"{self.log_day_prefix(chain, name.time)}{_base(key)}" else None


_REGION = r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}"
REGION = re.compile(_REGION)
_DIGEST_NAME = re.compile(
    rf"([0-9]{{12}})_CloudTrail-Digest_({_REGION})_([A-Za-z0-9._-]{{3,128}})_({_REGION})_"
    r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z(_backfill)?\.json\.gz")
_LOG_NAME = re.compile(
    rf"([0-9]{{12}})_CloudTrail_({_REGION})_([0-9]{{4}})([0-9]{{2}})([0-9]{{2}})T([0-9]{{2}})([0-9]{{2}})Z_"
    r"[A-Za-z0-9]{16}\.json\.gz")
_BODY_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,9})?Z")


def parse_digest_name(key: str) -> DigestName | None:
    match = _DIGEST_NAME.fullmatch(_base(key))
    if match is None:
        return None
    account, region, trail, home, *time, backfill = match.groups()
    end = _utc(*time)
    return None if end is None else DigestName(account, region, trail, home, end, backfill is not None)


def is_backfill_key(key: str) -> bool:
    return key.endswith(BACKFILL_SUFFIX)


def parse_log_name(key: str) -> LogName | None:
    match = _LOG_NAME.fullmatch(_base(key))
    if match is None:
        return None
    account, region, *time = match.groups()
    when = _utc(*time, "00")
    return None if when is None else LogName(account, region, when)


def parse_time(value: str) -> datetime:
    """CloudTrail's ``2026-11-24T01:00:00Z`` (fractions allowed, UTC only); ValueError otherwise."""
    match = _BODY_TIME.fullmatch(value)
    parsed = _utc(*match.groups()) if match else None
    if parsed is None:
        raise ValueError(f"{value[:40]!r} is not a UTC time like 2026-11-24T01:00:00Z")
    return parsed


def is_date_folder(parts: tuple[str, ...]) -> bool:
    """``("2026",)``, ``("2026", "11")`` or ``("2026", "11", "20")``: a year, month or day
    folder as CloudTrail names them (four and two digits, a real date)."""
    if not 1 <= len(parts) <= 3 or [len(p) for p in parts] != [4, 2, 2][:len(parts)] \
            or not all(p.isascii() and p.isdigit() for p in parts):
        return False
    return _utc(*parts, *["01"] * (3 - len(parts)), "00", "00", "00") is not None


def days(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return [first + timedelta(days=n) for n in range((end - first).days + 1)]


def _utc(*fields: str) -> datetime | None:
    try:
        return datetime(*(int(f) for f in fields), tzinfo=UTC)
    except ValueError:  # month 13, February 30, hour 24 ...
        return None


def _base(key: str) -> str:
    return key.rsplit("/", 1)[-1]
