"""Delivers documents to OpenSearch with opensearch-py: bulk requests bounded in documents
and bytes (``helpers.streaming_bulk``), and every document that fails for a reason that may
pass (429, 5xx, a connection or timeout error, at the request or the item level) sent again
after a backoff with full jitter, up to ``max_rounds``. Whatever still fails is returned to
the caller, which fails the invocation so the on-failure destination keeps the payload.
Documents carry their CloudTrail ``eventID`` as ``_id`` and are sent as ``create``: a
retried or redelivered document is refused with 409 and counts as delivered, never indexed
twice; and a forged record reusing a real ``eventID`` cannot overwrite the document already
indexed (the first of a batch's records with one id is the one sent).

The only module of the enrichment that imports opensearch-py (the ``[analytics]`` extra of
``secure-trail-validators``; bundled in the Lambda asset)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection, helpers
from opensearchpy.exceptions import SerializationError

from .documents import Document

MAX_BULK_DOCUMENTS = 500
MAX_BULK_BYTES = 5 * 1024 * 1024
"""Under every OpenSearch Service instance type's HTTP payload limit (10 MiB and up)."""
MAX_ROUNDS = 5
INITIAL_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0
REQUEST_TIMEOUT_SECONDS = 30
SERVICES = ("es", "aoss")
ALREADY_INDEXED = 409
"""A ``create`` of an ``_id`` the index holds: delivered before (a retry or redelivery)."""


@dataclass(frozen=True)
class Failure:
    index: str
    id: str
    status: Any
    reason: str


@dataclass
class Delivery:
    indexed: int = 0
    retried: int = 0
    """Document sends after the first (one document retried twice counts 2)."""
    failures: list[Failure] = field(default_factory=list)


def retryable(status: Any) -> bool:
    """429, any 5xx, and errors without an HTTP status (connection refused, timeout)."""
    return not isinstance(status, int) or status == 429 or status >= 500


def deliver(client: OpenSearch, documents: Iterable[Document], *, max_rounds: int = MAX_ROUNDS,
            max_bulk_documents: int = MAX_BULK_DOCUMENTS, max_bulk_bytes: int = MAX_BULK_BYTES,
            sleep: Callable[[float], None] = time.sleep, jitter: Callable[[float, float], float] = random.uniform,
            initial_backoff: float = INITIAL_BACKOFF_SECONDS, max_backoff: float = MAX_BACKOFF_SECONDS) -> Delivery:
    """Index every document once (the first of any that share an index and id)."""
    pending: dict[tuple[str, str], Document] = {}
    for document in documents:
        pending.setdefault((document.index, document.id), document)
    delivery = Delivery()
    for round_number in range(max_rounds):
        if not pending:
            break
        if round_number:
            delivery.retried += len(pending)
            sleep(jitter(0, min(max_backoff, initial_backoff * 2 ** (round_number - 1))))
        failed: dict[tuple[str, str], Failure] = {}
        try:
            for ok, item in helpers.streaming_bulk(
                    client, _actions(list(pending.values())), chunk_size=max_bulk_documents,
                    max_chunk_bytes=max_bulk_bytes, raise_on_error=False, raise_on_exception=False, max_retries=0,
                    yield_ok=True):
                result = next(iter(item.values())) if isinstance(item, dict) and item else {}
                key = (result.get("_index"), result.get("_id")) if isinstance(result, dict) else None
                if key not in pending:
                    continue  # not one of ours: never counted as indexed
                if ok or result.get("status") == ALREADY_INDEXED:
                    delivery.indexed += 1
                    del pending[key]
                else:
                    failed[key] = Failure(key[0], key[1], result.get("status"), _reason(result.get("error")))
        except (TypeError, KeyError, AttributeError, ValueError, SerializationError) as error:
            # A response that is not a bulk response: what it did not confirm is sent again.
            for key in pending:
                failed.setdefault(key, Failure(*key, "unreadable response", f"{type(error).__name__}: {error}"[:500]))
        final = {key: failure for key, failure in failed.items() if not retryable(failure.status)}
        delivery.failures.extend(final.values())
        for key in final:
            del pending[key]
        if round_number == max_rounds - 1:
            delivery.failures.extend(failed[key] for key in pending if key in failed)
            delivery.failures.extend(Failure(*key, "unanswered", "no result for this document")
                                     for key in pending if key not in failed)
    return delivery


def _actions(documents: Iterable[Document]) -> Iterable[dict[str, Any]]:
    for document in documents:
        yield {"_op_type": "create", "_index": document.index, "_id": document.id, "_source": document.source}


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('type', '')}: {error.get('reason', '')}"[:500]
    return str(error)[:500]


def client_for(endpoint: str, *, service: str, region: str, credentials: Any = None) -> OpenSearch:
    """A client for an OpenSearch Service domain (``es``) or Serverless collection (``aoss``)
    at ``https://host[:port]``, every request SigV4-signed with ``credentials`` (boto3's
    default chain when None). ``http://`` is accepted for local test servers only, unsigned."""
    if service not in SERVICES:
        raise ValueError(f"service {service!r} is not one of {', '.join(SERVICES)}")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"endpoint {endpoint!r} is not https://host[:port]")
    secure = parts.scheme == "https"
    if secure and credentials is None:
        import boto3  # the Lambda runtime's and the CLI's default credential chain

        credentials = boto3.Session().get_credentials()
    return OpenSearch(
        hosts=[{"host": parts.hostname, "port": parts.port or (443 if secure else 80)}],
        http_auth=AWSV4SignerAuth(credentials, region, service) if secure else None,
        use_ssl=secure, verify_certs=secure, connection_class=RequestsHttpConnection,
        timeout=REQUEST_TIMEOUT_SECONDS, max_retries=0)
