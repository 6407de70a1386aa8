"""The analytics sink against a local server speaking ``_bulk``: every document ends up
indexed exactly once (by its eventID) or among the failures the handler turns into a failed
invocation; bulk requests stay within their document and byte bounds."""

from __future__ import annotations

import socket

import pytest

from opensearch_bulk_server import BulkServer, Faults
from trail_validators.analytics.documents import Document
from trail_validators.analytics.sink import client_for, deliver, retryable


def documents(count: int, *, size: int = 10) -> list[Document]:
    return [Document(f"cloudtrail-2026.11.{1 + n % 3:02d}", f"event-{n:04d}", {"eventName": "X", "pad": "p" * size})
            for n in range(count)]


def send(server_url: str, docs, **options):
    sleeps: list[float] = []
    delivery = deliver(client_for(server_url, service="es", region="eu-west-1"), docs,
                       sleep=sleeps.append, **options)
    return delivery, sleeps


def assert_exactly_once_or_failed(server: BulkServer, docs, delivery) -> None:
    failed = {(f.index, f.id) for f in delivery.failures}
    for document in docs:
        key = (document.index, document.id)
        assert (key in server.documents) != (key in failed), key
        if key in server.documents:
            assert server.documents[key] == document.source
    assert delivery.indexed == len(server.documents)


def test_every_document_is_indexed_once_under_its_event_id():
    docs = documents(1200)
    with BulkServer() as server:
        delivery, sleeps = send(server.url, docs)
    assert delivery.indexed == 1200 and not delivery.failures and delivery.retried == 0 and sleeps == []
    assert set(server.writes.values()) == {1}
    assert_exactly_once_or_failed(server, docs, delivery)


def test_bulk_requests_are_bounded_in_documents_and_bytes():
    docs = documents(300, size=2000)
    with BulkServer() as server:
        delivery, _ = send(server.url, docs, max_bulk_documents=100, max_bulk_bytes=64 * 1024)
    assert delivery.indexed == 300
    assert max(server.requests) <= 100 and max(server.request_bytes) <= 64 * 1024
    assert len(server.requests) > 3  # the byte bound, not only the count, split the requests


def test_whole_request_429_and_5xx_are_retried_with_growing_jittered_backoff():
    docs = documents(50)
    with BulkServer(Faults(request_statuses=[429, 503, 502])) as server:
        delivery, sleeps = send(server.url, docs, jitter=lambda low, high: high)
    assert delivery.indexed == 50 and not delivery.failures
    assert delivery.retried == 150
    assert sleeps == [0.5, 1.0, 2.0]
    assert_exactly_once_or_failed(server, docs, delivery)


def test_jitter_draws_each_backoff_between_zero_and_its_cap():
    drawn = []
    with BulkServer(Faults(request_statuses=[429, 429])) as server:
        deliver(client_for(server.url, service="aoss", region="eu-west-1"), documents(3), sleep=lambda s: None,
                jitter=lambda low, high: drawn.append((low, high)) or low)
    assert drawn == [(0, 0.5), (0, 1.0)]


def test_item_level_failures_are_retried_and_only_those_items_resent():
    docs = documents(20)
    faults = Faults(item_failures={"event-0003": [429], "event-0007": [503, 500]})
    with BulkServer(faults) as server:
        delivery, _ = send(server.url, docs)
    assert delivery.indexed == 20 and not delivery.failures
    assert server.requests == [20, 2, 1]
    assert delivery.retried == 3
    assert set(server.writes.values()) == {1}
    assert_exactly_once_or_failed(server, docs, delivery)


def test_a_document_the_index_refuses_is_a_failure_and_is_not_retried():
    docs = documents(10)
    with BulkServer(Faults(always_reject={"event-0004": 400})) as server:
        delivery, _ = send(server.url, docs)
    assert [(f.id, f.status) for f in delivery.failures] == [("event-0004", 400)]
    assert "simulated_exception" in delivery.failures[0].reason
    assert server.requests == [10]
    assert_exactly_once_or_failed(server, docs, delivery)


def test_failures_that_outlast_the_retries_are_returned_not_dropped():
    docs = documents(5)
    faults = Faults(item_failures={"event-0001": [503] * 10}, request_statuses=[])
    with BulkServer(faults) as server:
        delivery, sleeps = send(server.url, docs, max_rounds=3)
    assert [(f.id, f.status) for f in delivery.failures] == [("event-0001", 503)]
    assert len(sleeps) == 2 and delivery.indexed == 4
    assert_exactly_once_or_failed(server, docs, delivery)


def test_a_dead_endpoint_fails_every_document_after_the_retries():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    docs = documents(7)
    delivery, sleeps = send(dead, docs, max_rounds=2)
    assert delivery.indexed == 0 and len(sleeps) == 1
    assert sorted(f.id for f in delivery.failures) == [d.id for d in docs]


def test_documents_sharing_an_event_id_are_sent_once_the_first_kept():
    first, second = Document("i", "same", {"v": 1}), Document("i", "same", {"v": 2})
    with BulkServer() as server:
        delivery, _ = send(server.url, [first, second])
    assert delivery.indexed == 1 and server.documents[("i", "same")] == {"v": 1}


def test_a_forged_record_reusing_an_indexed_event_id_cannot_overwrite_it():
    with BulkServer() as server:
        send(server.url, [Document("i", "real", {"eventName": "StopLogging"})])
        delivery, _ = send(server.url, [Document("i", "real", {"eventName": "DescribeTrails"})])
    assert delivery.indexed == 1 and delivery.failures == []  # 409: delivered before
    assert server.documents[("i", "real")] == {"eventName": "StopLogging"} and server.writes[("i", "real")] == 1


@pytest.mark.parametrize("status, expected", [(429, True), (500, True), (503, True), ("N/A", True),
                                              (400, False), (409, False), (404, False)])
def test_retryable_statuses(status, expected):
    assert retryable(status) is expected


@pytest.mark.parametrize("endpoint", ["ftp://host", "https://", "https://host/path", "host:443"])
def test_client_refuses_an_endpoint_that_is_not_a_bare_url(endpoint):
    with pytest.raises(ValueError, match="endpoint"):
        client_for(endpoint, service="es", region="eu-west-1", credentials=object())


def test_client_refuses_an_unknown_signing_service():
    with pytest.raises(ValueError, match="service"):
        client_for("https://search.example.com", service="s3", region="eu-west-1", credentials=object())


class AnswersForOthers(BulkServer):
    """Drops the last item of every answer and confirms a document nobody sent instead."""

    def bulk(self, body):
        status, reply = super().bulk(body)
        if "items" in reply:
            reply["items"] = reply["items"][:-1] + [{"index": {"_index": "x", "_id": "forged", "status": 201}}]
        return status, reply


class AnswersNonsense(BulkServer):
    def bulk(self, body):
        return 200, "not a bulk response"


def test_a_document_the_answer_does_not_confirm_is_never_counted_as_indexed():
    docs = documents(5)
    with AnswersForOthers() as server:
        delivery, _ = send(server.url, docs, max_rounds=3)
    assert delivery.indexed == 4
    assert [(f.id, f.status) for f in delivery.failures] == [(docs[-1].id, "unanswered")]


def test_an_answer_that_is_not_a_bulk_response_is_retried_then_a_failure():
    docs = documents(5)
    with AnswersNonsense() as server:
        delivery, sleeps = send(server.url, docs, max_rounds=2)
    assert delivery.indexed == 0 and delivery.retried == 5 and len(sleeps) == 1
    assert {f.status for f in delivery.failures} == {"unreadable response"} and len(delivery.failures) == 5
