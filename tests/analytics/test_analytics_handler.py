"""The enrichment handler: what it counts (EMF), what fails the invocation (so the
on-failure destination keeps the payload), and account names from AWS Organizations."""

from __future__ import annotations

import json
import logging

import boto3
import pytest
from moto import mock_aws

import analytics_samples as samples
from opensearch_bulk_server import BulkServer, Faults
from trail_validators.analytics import accounts
from trail_validators.analytics.accounts import AccountNames, organizations_loader
from trail_validators.analytics.sink import client_for, deliver
from trail_validators.analytics.subscription import PayloadError
from trail_validators.contract import ANALYTICS_ENRICHMENT, HEARTBEATS, AnalyticsEnv, AnalyticsMetrics, ConfigurationError
from trail_validators.handlers import analytics_enrichment
from trail_validators.handlers.analytics_enrichment import DeliveryFailed, config_from_env, process

ENV = {AnalyticsEnv.ENDPOINT: "https://search-x.eu-west-1.es.amazonaws.com", AnalyticsEnv.SERVICE: "aoss",
       AnalyticsEnv.INDEX_PREFIX: "trail", AnalyticsEnv.ACCOUNT_NAMES: "true"}


def emitted(capsys) -> dict[str, float]:
    """Metric name -> value, from the EMF lines Powertools printed."""
    analytics_enrichment.metrics.flush_metrics()
    values: dict[str, float] = {}
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and "_aws" in line:
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                assert directive["Namespace"] == AnalyticsMetrics.RECEIVED.namespace
                assert directive["Dimensions"] == [list(AnalyticsMetrics.RECEIVED.dimensions)]
                for metric in directive["Metrics"]:
                    value = blob[metric["Name"]]
                    values[metric["Name"]] = values.get(metric["Name"], 0) + (
                        sum(value) if isinstance(value, list) else value)
    return values


def run(event, server: BulkServer, **options):
    client = client_for(server.url, service="es", region="eu-west-1")
    return process(event, deliver=lambda docs: deliver(client, docs, sleep=lambda s: None, **options),
                   account_names=samples.ACCOUNTS, index_prefix="trail")


def test_config_reads_every_variable_the_stack_sets():
    assert config_from_env(ENV) == analytics_enrichment.EnrichmentConfig(ENV[AnalyticsEnv.ENDPOINT], "aoss", "trail", True)
    with pytest.raises(ConfigurationError, match=AnalyticsEnv.SERVICE):
        config_from_env({**ENV, AnalyticsEnv.SERVICE: "s3"})
    with pytest.raises(ConfigurationError, match=AnalyticsEnv.ENDPOINT):
        config_from_env({k: v for k, v in ENV.items() if k != AnalyticsEnv.ENDPOINT})


def test_a_batch_is_indexed_and_counted(capsys):
    records = [samples.root_console_login("111111111111", 1), samples.access_denied("222222222222", 2)]
    event = samples.payload(records, extra_messages=[("bad-1", "garbage")])
    with BulkServer(Faults(item_failures={records[1]["eventID"]: [429]})) as server:
        summary = run(event, server)
    assert summary == {"received": 3, "indexed": 2, "rejected": 1}
    assert server.documents[("trail-2026.11.25", records[0]["eventID"])]["account"]["name"] == "management"
    assert emitted(capsys) == {"EventsReceived": 3, "EventsIndexed": 2, "EventsRejected": 1, "EventsRetried": 1,
                               "EventsFailed": 0, HEARTBEATS[ANALYTICS_ENRICHMENT].metric.name: 1}


def test_each_rejection_is_logged_with_its_event_id():
    event = samples.payload([], extra_messages=[("id-a", "x"), ("id-b", "y"), ("id-c", "[]")])
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    analytics_enrichment.logger.addHandler(handler)
    try:
        with BulkServer() as server:
            run(event, server)
    finally:
        analytics_enrichment.logger.removeHandler(handler)
    assert {(record.reason, tuple(record.event_ids)) for record in records
            if record.getMessage() == "log events rejected, not indexed"} == {
        ("message is not JSON", ("id-a", "id-b")), ("message is not a JSON object", ("id-c",))}


def test_documents_still_failing_after_the_retries_fail_the_invocation(capsys):
    records = [samples.root_console_login("111111111111", n) for n in range(3)]
    with BulkServer(Faults(always_reject={records[1]["eventID"]: 400})) as server:
        with pytest.raises(DeliveryFailed, match="1 of 3"):
            run(samples.payload(records), server)
    assert len(server.documents) == 2
    assert emitted(capsys)["EventsFailed"] == 1


def test_a_redelivered_payload_is_indexed_once_never_duplicated():
    records = [samples.root_console_login("111111111111", n) for n in range(4)]
    with BulkServer(Faults(request_statuses=[503] * 5)) as server:
        with pytest.raises(DeliveryFailed):
            run(samples.payload(records), server, max_rounds=2)  # the first attempt: the endpoint is down
        run(samples.payload(records), server)  # Lambda's retry of the same payload
        run(samples.payload(records), server)
    assert len(server.documents) == 4 and set(server.writes.values()) == {1}


def test_an_unreadable_payload_fails_the_invocation_and_is_counted(capsys):
    with BulkServer() as server:
        with pytest.raises(PayloadError):
            run(samples.encode(b"not json"), server)
        assert server.requests == []
    assert emitted(capsys)["EventsRejected"] == 1


def test_a_control_message_sends_nothing():
    with BulkServer() as server:
        assert run(samples.payload([], message_type="CONTROL_MESSAGE"), server)["indexed"] == 0
        assert server.requests == []


# -- account names -------------------------------------------------------------------------
@mock_aws
def test_account_names_come_from_every_page_of_list_accounts():
    organizations = boto3.client("organizations", region_name="us-east-1")
    organizations.create_organization(FeatureSet="ALL")
    for n in range(25):
        organizations.create_account(AccountName=f"workload-{n}", Email=f"w{n}@example.com")
    names = organizations_loader(organizations)()
    assert len(names) == 26  # the management account too; ListAccounts returns 20 a page at most
    assert {f"workload-{n}" for n in range(25)} <= set(names.values())


def test_account_names_are_cached_for_the_ttl():
    loads, now = [], [0.0]
    names = AccountNames(lambda: loads.append(1) or {"1": f"v{len(loads)}"}, ttl=60, clock=lambda: now[0])
    assert names.current() == {"1": "v1"}
    now[0] = 59
    assert names.current() == {"1": "v1"} and len(loads) == 1
    now[0] = 60
    assert names.current() == {"1": "v2"}


def test_a_failure_to_load_names_is_logged_and_keeps_what_was_known():
    outcomes = [{"1": "one"}, RuntimeError("AccessDenied for organizations:ListAccounts")]
    now = [0.0]

    def load():
        outcome = outcomes.pop(0) if outcomes else {"1": "again"}
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    names = AccountNames(load, ttl=10, retry_after_failure=30, clock=lambda: now[0])
    assert names.current() == {"1": "one"}
    now[0] = 10
    warnings: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    logging.getLogger(accounts.__name__).addHandler(handler)
    try:
        assert names.current() == {"1": "one"}
    finally:
        logging.getLogger(accounts.__name__).removeHandler(handler)
    assert len(warnings) == 1 and "AccessDenied" in warnings[0]
    now[0] = 39
    assert names.current() == {"1": "one"}  # no retry before retry_after_failure
    now[0] = 40
    assert names.current() == {"1": "again"}


def test_no_names_at_all_still_indexes():
    names = AccountNames(lambda: (_ for _ in ()).throw(PermissionError("no organizations access")))
    assert names.current() == {}
