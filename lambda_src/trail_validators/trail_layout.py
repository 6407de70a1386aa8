"""Where CloudTrail puts digests and logs, and the times their names carry. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

UTC = timezone.utc


@dataclass(frozen=True, order=True)
class ChainId:
    """One digest chain: an account and a region of a trail."""
    account: str
    region: str

    def __str__(self) -> str:
        return f"{self.account}/{self.region}"


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

    def digest_key(self, chain: ChainId, end: datetime) -> str:
        return (f"{self.digest_day_prefix(chain, end)}{chain.account}_CloudTrail-Digest_{chain.region}_"
                f"{self.trail_name}_{self.home_region}_{end:%Y%m%dT%H%M%SZ}.json.gz")

    def is_this_trails_digest(self, key: str) -> bool:
        return f"_{self.trail_name}_{self.home_region}_" in key.rsplit("/", 1)[-1]


_DIGEST_TIME = re.compile(r"_(\d{8}T\d{6}Z)(?:_backfill)?\.json\.gz$")
_LOG_TIME = re.compile(r"_(\d{8}T\d{4}Z)_[^/_]+\.json\.gz$")


def digest_key_time(key: str) -> datetime | None:
    match = _DIGEST_TIME.search(key)
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) if match else None


def log_key_time(key: str) -> datetime | None:
    match = _LOG_TIME.search(key)
    return datetime.strptime(match.group(1), "%Y%m%dT%H%MZ").replace(tzinfo=UTC) if match else None


def parse_time(value: str) -> datetime:
    """CloudTrail's ``2026-11-24T01:00:00Z`` (fractions allowed)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def days(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return [first + timedelta(days=n) for n in range((end - first).days + 1)]
