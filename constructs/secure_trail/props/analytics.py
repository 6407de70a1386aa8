"""Props of the optional analytics part: the trail's CloudWatch Logs events,
enriched by a Lambda, into OpenSearch. Off unless ``SecureTrailProps.analytics`` is set."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence
from urllib.parse import urlsplit

from ..contract import ANALYTICS_SERVICES, DEFAULT_ANALYTICS_INDEX_PREFIX
from .checks import IAM_PRINCIPAL_ARN, SecureTrailConfigError, keep_lists_as_tuples

INDEX_PREFIX = re.compile(r"[a-z][a-z0-9_-]{0,62}")
# Where a standard endpoint's hostname names its domain or collection.
DOMAIN_ENDPOINT = re.compile(r"(?:search|vpc)-(?P<name>[a-z][a-z0-9-]{2,27})-[a-z0-9]{26}\."
                             r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.es\.amazonaws\.com")
COLLECTION_ENDPOINT = re.compile(r"(?P<id>[a-z0-9]{20,40})\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.aoss\.amazonaws\.com")
RESOURCE_ARN = re.compile(r"arn:aws[a-z-]*:(es:[a-z0-9-]+:[0-9]{12}:domain/[a-z][a-z0-9-]{2,27}"
                          r"|aoss:[a-z0-9-]+:[0-9]{12}:collection/[a-z0-9]{3,40})")
MAX_RESERVED_CONCURRENCY = 1000


@dataclass(frozen=True)
class AnalyticsProps:
    """Where the enriched events go, and how the enrichment runs.

    Exactly one sink: ``endpoint`` (yours) or ``collection=True`` (a provisioned OpenSearch
    Serverless SEARCH collection)."""

    endpoint: Optional[str] = None
    """``https://host`` of your OpenSearch Service domain (``service="es"``) or Serverless
    collection (``service="aoss"``), e.g. ``https://search-audit-abc....eu-west-1.es.amazonaws.com``.
    @default none (then ``collection`` must be True)."""

    service: str = "es"
    """What requests to ``endpoint`` are SigV4-signed for: ``es`` (a domain) or ``aoss`` (a
    Serverless collection). Ignored with ``collection=True`` (always ``aoss``). @default es."""

    endpoint_resource_arn: Optional[str] = None
    """The ARN of the domain or collection behind ``endpoint``, for the enrichment role's IAM
    policy. @default derived from a standard endpoint hostname (domain name, or collection
    id in this stack's account); required for custom endpoint names or another account's
    collection."""

    collection: bool = False
    """Provision an OpenSearch Serverless SEARCH collection (its own KMS key, a network
    policy and a data access policy) as the sink: SEARCH, not TIMESERIES, because only a
    search collection keeps the document ids (the ``eventID``) that make redelivery
    idempotent. @default False."""

    collection_principals: Sequence[str] = ()
    """IAM role or user ARNs (exact, no wildcard) the collection's data access policy lets
    read the indices, create index templates and import dashboards (analysts, the
    ``secure-trail analytics setup`` runner); the enrichment role can only write. @default none."""

    collection_standby_replicas: bool = True
    """Standby replicas in another AZ (Serverless's default; at least 2 OCUs billed). False
    halves the minimum for a trial, without redundancy. @default True."""

    index_prefix: str = DEFAULT_ANALYTICS_INDEX_PREFIX
    """Daily indices are ``<prefix>-YYYY.MM.DD``. @default cloudtrail."""

    reserved_concurrency: int = 5
    """Reserved concurrent executions of the enrichment function: bounds the load on the
    sink (CloudWatch Logs retries a throttled delivery). @default 5."""

    account_names: bool = True
    """Name accounts from AWS Organizations (``organizations:ListAccounts``, cached an hour;
    works in the management or a delegated administrator account; elsewhere a warning is
    logged and documents carry ids only). @default True."""

    def __post_init__(self) -> None:
        keep_lists_as_tuples(self, ("collection_principals",))

    @property
    def signing_service(self) -> str:
        return "aoss" if self.collection else self.service

    def validate(self) -> None:
        _check(isinstance(self.collection, bool), "collection", self.collection, "True or False")
        if self.collection:
            _check(self.endpoint is None, "endpoint", self.endpoint,
                   "None with collection=True (the collection is the sink): choose one")
        else:
            _check(self.endpoint is not None, "endpoint", self.endpoint,
                   "an https:// endpoint, or collection=True to provision an OpenSearch Serverless collection")
            _check(_is_https_host(self.endpoint), "endpoint", self.endpoint,
                   "https://host[:port] with no path, query or credentials (requests are SigV4-signed over TLS)")
            _check(self.service in ANALYTICS_SERVICES, "service", self.service,
                   "es (an OpenSearch Service domain) or aoss (an OpenSearch Serverless collection)")
            if self.endpoint_resource_arn is not None:
                _check(isinstance(self.endpoint_resource_arn, str) and RESOURCE_ARN.fullmatch(self.endpoint_resource_arn)
                       is not None and self.endpoint_resource_arn.split(":")[2] == self.service,
                       "endpoint_resource_arn", self.endpoint_resource_arn,
                       f"the ARN of the {'domain' if self.service == 'es' else 'collection'} behind the endpoint, "
                       "e.g. arn:aws:es:eu-west-1:111111111111:domain/audit")
            else:
                _check(self.endpoint_match() is not None, "endpoint_resource_arn", None,
                       f"the domain or collection ARN: {self.endpoint!r} is not a standard "
                       f"{'*.es.amazonaws.com' if self.service == 'es' else '*.aoss.amazonaws.com'} endpoint "
                       "name to derive it from")
        _check(isinstance(self.collection_principals, (list, tuple)), "collection_principals",
               self.collection_principals, "a list of IAM role or user ARNs")
        for arn in self.collection_principals:
            _check(isinstance(arn, str) and IAM_PRINCIPAL_ARN.fullmatch(arn) is not None, "collection_principals",
                   arn, "exact IAM role, user or account-root ARNs (no wildcard)")
        _check(not self.collection_principals or self.collection, "collection_principals",
               self.collection_principals, "empty unless collection=True (your own endpoint's access is yours)")
        _check(isinstance(self.index_prefix, str) and INDEX_PREFIX.fullmatch(self.index_prefix) is not None,
               "index_prefix", self.index_prefix, "1-63 lowercase letters, digits, '_' or '-', starting with a letter")
        _check(isinstance(self.reserved_concurrency, int) and not isinstance(self.reserved_concurrency, bool)
               and 1 <= self.reserved_concurrency <= MAX_RESERVED_CONCURRENCY, "reserved_concurrency",
               self.reserved_concurrency, f"a whole number from 1 to {MAX_RESERVED_CONCURRENCY}")
        for name in ("account_names", "collection_standby_replicas"):
            _check(isinstance(getattr(self, name), bool), name, getattr(self, name), "True or False")

    def endpoint_match(self) -> re.Match[str] | None:
        host = urlsplit(self.endpoint or "").hostname or ""
        return (DOMAIN_ENDPOINT if self.service == "es" else COLLECTION_ENDPOINT).fullmatch(host)


def _is_https_host(endpoint: Any) -> bool:
    if not isinstance(endpoint, str) or not endpoint.isprintable() or endpoint.strip() != endpoint:
        return False
    try:
        parts = urlsplit(endpoint)
        parts.port  # a bad port raises
    except ValueError:
        return False
    return (parts.scheme == "https" and bool(parts.hostname) and parts.path in ("", "/") and not parts.query
            and not parts.fragment and parts.username is None and parts.password is None)


def _check(ok: bool, prop: str, value: object, expected: str) -> None:
    if not ok:
        raise SecureTrailConfigError(f"analytics.{prop}: {value!r} is not valid; expected {expected}.")


def analytics_from_context(get: Callable[[str, Callable[[Any], Any]], Any],
                           parse_bool: Callable[[Any], bool]) -> AnalyticsProps | None:
    """``analyticsEndpoint`` (+ ``analyticsService``) or ``analyticsCollection=true``; None
    when neither is set."""
    endpoint = get("analyticsEndpoint", str)
    collection = get("analyticsCollection", parse_bool)
    service = get("analyticsService", str)
    if not endpoint and not collection:
        if service:
            _check(False, "service", service, "set only with analyticsEndpoint")
        return None
    return AnalyticsProps(endpoint=endpoint or None, service=service or "es", collection=bool(collection))
