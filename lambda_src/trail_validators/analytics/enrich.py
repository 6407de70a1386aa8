"""A decoded subscription batch -> documents to index + rejections to count. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .documents import Document, build_document
from .records import parse_record
from .subscription import Rejection, SubscriptionBatch


@dataclass(frozen=True)
class Enrichment:
    received: int
    """Log events in the payload, rejected ones included."""
    documents: tuple[Document, ...]
    rejections: tuple[Rejection, ...]


def enrich(batch: SubscriptionBatch, *, index_prefix: str, account_names: Mapping[str, str]) -> Enrichment:
    """Every log event becomes a document or a rejection; a control message, neither."""
    documents: list[Document] = []
    rejections = list(batch.rejections)
    for log_event in batch.events:
        record = parse_record(log_event)
        if isinstance(record, Rejection):
            rejections.append(record)
        else:
            documents.append(build_document(record, log_event, batch, index_prefix=index_prefix,
                                            account_names=account_names))
    return Enrichment(len(batch.events) + len(batch.rejections), tuple(documents), tuple(rejections))
