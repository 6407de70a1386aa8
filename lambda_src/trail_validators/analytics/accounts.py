"""Account id -> name, loaded from AWS Organizations (``ListAccounts``, every page) and
cached for a while. A failure to load is logged and leaves documents without names (the
previous mapping, if any, is kept); it never fails an invocation."""

from __future__ import annotations

import logging
import time
from typing import Callable, Mapping

TTL_SECONDS = 3600
RETRY_AFTER_FAILURE_SECONDS = 300
MAX_ACCOUNTS = 100_000

log = logging.getLogger(__name__)


class AccountNames:
    def __init__(self, load: Callable[[], Mapping[str, str]], *, ttl: float = TTL_SECONDS,
                 retry_after_failure: float = RETRY_AFTER_FAILURE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._load, self._ttl, self._retry_after_failure, self._clock = load, ttl, retry_after_failure, clock
        self._names: Mapping[str, str] = {}
        self._next_load = float("-inf")

    def current(self) -> Mapping[str, str]:
        now = self._clock()
        if now >= self._next_load:
            try:
                self._names = dict(self._load())
                self._next_load = now + self._ttl
            except Exception as error:  # any failure: names are a nicety, never a reason to fail
                log.warning("account names not loaded from AWS Organizations: %s: %s",
                            type(error).__name__, str(error)[:300])
                self._next_load = now + self._retry_after_failure
        return self._names


def organizations_loader(organizations_client) -> Callable[[], dict[str, str]]:
    """Every account of the organization (``organizations:ListAccounts``, paginated)."""

    def load() -> dict[str, str]:
        names: dict[str, str] = {}
        for page in organizations_client.get_paginator("list_accounts").paginate():
            for account in page.get("Accounts", []):
                if isinstance(account.get("Id"), str) and isinstance(account.get("Name"), str):
                    names[account["Id"]] = account["Name"][:256]
            if len(names) > MAX_ACCOUNTS:
                break
        return names

    return load
