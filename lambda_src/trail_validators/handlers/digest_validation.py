"""Lambdas of the continuous digest validation.

``planner`` (hourly schedule): one SQS message per account and region that has digests;
(daily schedule, input ``{"revalidate": true}``) the same messages asking for the last
``REVALIDATION_DAYS`` days again.
``worker`` (SQS, partial batch failures): validates one chain from its checkpoint to now,
alerts once per finding, emits metrics and advances the checkpoint; a re-validation message
validates its whole window from scratch (strays included) and leaves the checkpoint alone. Redelivery is
harmless: the checkpoint has moved on, and every alert is claimed once in the table.

Backfill (the Step Functions state machine, ``contract.BACKFILL_FIELD`` and
``BACKFILL_ITEM_FIELD``): the planner writes every chain x day of a request to the backfill
bucket as JSON Lines; the worker validates one item's day from scratch, alerts through the
same once-only claims, leaves the checkpoint alone and returns its counts.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from botocore.config import Config

from ..alerts import AlertPublisher, ValidatorsTable, group_for_alerts, publish_once
from ..contract import (BACKFILL_FIELD, BACKFILL_ITEM_FIELD, BackfillError, BackfillItem, BackfillRequest,
                        backfill_items_key)
from ..contract import (DEFAULT_REVALIDATION_DAYS, DIGEST_PLANNER, DIGEST_VALIDATOR, HEARTBEATS, MAX_REVALIDATION_DAYS, METRIC_NAMESPACE,
                        MIN_REVALIDATION_DAYS, REVALIDATE_FIELD, ConfigurationError, DigestMetrics, Env, alert_marker,
                        decode_flag, required)
from ..digests.backfill import backfill_items, day_window, item_chain, json_lines
from ..digests.aws import CheckpointStore, S3Reader, cloudtrail_public_keys
from ..digests.chain import ChainResult, Window, failing_kinds
from ..digests.layout import ChainId, TrailLocation
from ..digests.run import PublicKeys, discover_chains, validate_chain

logger = Logger(service=DIGEST_VALIDATOR)
metrics = Metrics(namespace=METRIC_NAMESPACE, service=DIGEST_VALIDATOR)
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
FETCH_CONCURRENCY = 16
INITIAL_LOOKBACK = timedelta(hours=int(os.environ.get("INITIAL_LOOKBACK_HOURS", "3")))


def location_from_env(environ: Mapping[str, str] = os.environ) -> TrailLocation:
    return TrailLocation(bucket=required(environ, Env.TRAIL_BUCKET), prefix=environ.get(Env.TRAIL_PREFIX) or None,
                         org_id=required(environ, Env.ORG_ID), trail_name=required(environ, Env.TRAIL_NAME),
                         home_region=required(environ, Env.HOME_REGION))


@dataclass(frozen=True)
class PlannerConfig:
    location: TrailLocation
    queue_url: str
    revalidation_days: int = DEFAULT_REVALIDATION_DAYS
    """What the daily re-validation covers."""
    backfill_bucket: str = ""
    """Where backfill item lists go; empty: this planner plans no backfill."""


@dataclass(frozen=True)
class WorkerConfig:
    location: TrailLocation
    table_name: str
    alerts_topic_arn: str
    strict: bool = False


def planner_config_from_env(environ: Mapping[str, str] = os.environ) -> PlannerConfig:
    """Unset, ``REVALIDATION_DAYS`` is the default (``DEFAULT_REVALIDATION_DAYS``)."""
    days = environ.get(Env.REVALIDATION_DAYS)
    return PlannerConfig(location_from_env(environ), required(environ, Env.QUEUE_URL),
                         DEFAULT_REVALIDATION_DAYS if days is None else revalidation_days(days, Env.REVALIDATION_DAYS),
                         environ.get(Env.BACKFILL_BUCKET, ""))


def revalidation_days(value: object, where: str) -> int:
    """A whole number of days in the allowed range (an int, or its digits from the
    environment), or ConfigurationError."""
    days = int(value) if where == Env.REVALIDATION_DAYS and isinstance(value, str) \
        and value.isascii() and value.isdigit() else value
    if isinstance(days, bool) or not isinstance(days, int) \
            or not MIN_REVALIDATION_DAYS <= days <= MAX_REVALIDATION_DAYS:
        raise ConfigurationError(f"{where}: {value!r} is not a whole number of days from "
                                 f"{MIN_REVALIDATION_DAYS} to {MAX_REVALIDATION_DAYS}")
    return days


def chain_messages(chains: list[ChainId], days: int | None) -> list[str]:
    """One worker message per chain; ``days``: a re-validation of that many days."""
    extra = {} if days is None else {REVALIDATE_FIELD: days}
    return [json.dumps({"account": c.account, "region": c.region, **extra}) for c in chains]


def worker_config_from_env(environ: Mapping[str, str] = os.environ) -> WorkerConfig:
    return WorkerConfig(location_from_env(environ), required(environ, Env.TABLE_NAME),
                        required(environ, Env.ALERTS_TOPIC_ARN), decode_flag(environ, Env.STRICT_VALIDATION))


def _s3():
    return boto3.client("s3", config=Config(max_pool_connections=FETCH_CONCURRENCY))


@metrics.log_metrics
@logger.inject_lambda_context
def planner(event, context):
    config = planner_config_from_env()
    if isinstance(event, dict) and BACKFILL_FIELD in event:
        return plan_backfill(event[BACKFILL_FIELD], config, _s3(), datetime.now(timezone.utc).date())
    days = config.revalidation_days if isinstance(event, dict) and event.get(REVALIDATE_FIELD) is True else None
    location = config.location
    chains = discover_chains(S3Reader(_s3(), location.bucket), location)
    sqs, queue_url = boto3.client("sqs"), config.queue_url
    messages = chain_messages(chains, days)
    for first in range(0, len(messages), 10):
        batch = messages[first:first + 10]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(n), "MessageBody": body} for n, body in enumerate(batch)])
        if response.get("Failed"):
            raise RuntimeError(f"could not queue {len(response['Failed'])} chains: {response['Failed']}")
    metrics.add_metric(name=DigestMetrics.CHAINS_PLANNED.name, unit=MetricUnit.Count, value=len(chains))
    metrics.add_metric(name=HEARTBEATS[DIGEST_PLANNER].metric.name, unit=MetricUnit.Count, value=1)
    return {"chains": len(chains)} if days is None else {"chains": len(chains), "revalidation_days": days}


def plan_backfill(event: object, config: PlannerConfig, s3, today) -> dict:
    """Write every chain x day of the request (``{"since", "until", "execution"}``) to the
    backfill bucket, one JSON line each, and say where. No chain found: an error (a backfill
    that would examine nothing does not pass)."""
    if not config.backfill_bucket:
        raise ConfigurationError(f"environment variable {Env.BACKFILL_BUCKET} is missing or empty: "
                                 "the stack sets it on the planner of a deployment with the backfill")
    if not isinstance(event, dict):
        raise BackfillError(f"backfill input {event!r} is not an object")
    fields = dict(event)
    key = backfill_items_key(fields.pop("execution", None))
    request = BackfillRequest.parse(fields, today=today)
    location = config.location
    chains = discover_chains(S3Reader(s3, location.bucket), location)
    if not chains:
        raise BackfillError(f"no digest chain under s3://{location.bucket}/{location.aws_logs}: nothing to backfill")
    count = 0
    with tempfile.TemporaryFile() as lines:
        for line in json_lines(backfill_items(chains, request)):
            lines.write(line)
            count += 1
        lines.seek(0)
        s3.upload_fileobj(lines, config.backfill_bucket, key)
    logger.info("backfill planned", extra={"since": request.since, "until": request.until, "chains": len(chains),
                                           "items": count, "key": key})
    return {"bucket": config.backfill_bucket, "key": key, "items": count, "chains": len(chains),
            "days": len(request.days())}


class DigestWorker:
    def __init__(self, reader: S3Reader, location: TrailLocation, checkpoints: CheckpointStore,
                 table: ValidatorsTable, alerts: AlertPublisher, public_keys: PublicKeys,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc), strict: bool = False) -> None:
        self.reader, self.location, self.checkpoints = reader, location, checkpoints
        self.table, self.alerts, self.public_keys, self.clock = table, alerts, public_keys, clock
        self.strict = strict

    def handle_message(self, body: str) -> ChainResult:
        message = json.loads(body)
        chain = ChainId(str(message["account"]), str(message["region"]))
        if REVALIDATE_FIELD in message:
            return self.validate(chain, revalidation_days(message[REVALIDATE_FIELD], "message field revalidate"))
        return self.validate(chain)

    def validate(self, chain: ChainId, revalidate_days: int | None = None) -> ChainResult:
        """From the checkpoint (or INITIAL_LOOKBACK ago) to now. The checkpoint only ever
        moves to a digest that verified and links to its chain (ChainResult.newest).
        ``revalidate_days``: the last that many days instead, from scratch (every object of
        the window, strays included), whatever the checkpoint says; it stays where it is."""
        stored = self.checkpoints.load(chain)
        anchor = None if revalidate_days else stored
        now = self.clock()
        start = (now - timedelta(days=revalidate_days) if revalidate_days
                 else anchor.end if anchor else now - INITIAL_LOOKBACK)
        result = self._validate_window(chain, Window(start, now, now), anchor,
                                       {"revalidation_days": revalidate_days})
        if not revalidate_days and result.newest is not None and (anchor is None or result.newest.key != anchor.key):
            self.checkpoints.save(chain, result.newest)
        return result

    def backfill(self, item: BackfillItem) -> dict:
        """One item's UTC day, from scratch (strays included); the checkpoint stays where it is."""
        window = day_window(item, self.clock())
        result = self._validate_window(item_chain(item), window, None, {"backfill_day": item.day})
        return {**item.to_json(), "digests_valid": result.digests_valid, "logs_valid": result.logs_valid,
                "backfill_digests_valid": result.backfill_digests_valid, "findings": len(result.findings),
                "failed": result.failed}

    def _validate_window(self, chain: ChainId, window: Window, anchor, extra: dict) -> ChainResult:
        """Validate, alert once per finding and emit the metrics; ``anchor``: where a hourly
        run starts from (None: from scratch)."""
        start = window.start
        with ThreadPoolExecutor(FETCH_CONCURRENCY) as fetcher:
            result = validate_chain(self.reader, self.location, chain, window,
                                    self.public_keys(chain.region, window), fetcher, anchor, self.strict,
                                    functools.partial(self.public_keys, chain.region),
                                    scan_strays=anchor is None)
        for kind, findings in group_for_alerts(result.findings).items():
            identity = hashlib.sha256(json.dumps(sorted(
                [list(f.keys), f.details.get("expected_end")] for f in findings)).encode()).hexdigest()
            publish_once(self.table, self.alerts, alert_marker(str(chain), kind, identity), str(chain), kind, findings)
        metrics.add_metric(name=DigestMetrics.DIGESTS_VALID.name, unit=MetricUnit.Count, value=result.digests_valid)
        metrics.add_metric(name=DigestMetrics.LOGS_VALID.name, unit=MetricUnit.Count, value=result.logs_valid)
        metrics.add_metric(name=DigestMetrics.TAMPERING_FINDINGS.name, unit=MetricUnit.Count,
                           value=sum(1 for f in result.findings if f.kind in failing_kinds(self.strict)))
        metrics.add_metric(name=DigestMetrics.CHAIN_GAPS.name, unit=MetricUnit.Count,
                           value=sum(1 for f in result.findings if f.kind == "chain_gap"))
        metrics.add_metric(name=HEARTBEATS[DIGEST_VALIDATOR].metric.name, unit=MetricUnit.Count, value=1)
        logger.info("validated", extra={"chain": str(chain), "start": start.isoformat(), **extra,
                                        "digests_valid": result.digests_valid,
                                        "backfill_digests_valid": result.backfill_digests_valid,
                                        "backfill_findings": sum(1 for f in result.findings
                                                                 if f.details.get("backfill")),
                                        "findings": len(result.findings)})
        return result


_worker: DigestWorker | None = None


def _default_worker() -> DigestWorker:
    global _worker
    if _worker is None:
        config, dynamodb = worker_config_from_env(), boto3.client("dynamodb")
        location, table_name = config.location, config.table_name
        _worker = DigestWorker(
            S3Reader(_s3(), location.bucket), location, CheckpointStore(table_name, dynamodb),
            ValidatorsTable(table_name, dynamodb), AlertPublisher(config.alerts_topic_arn, boto3.client("sns")),
            cloudtrail_public_keys(lambda region: boto3.client("cloudtrail", region_name=region)), strict=config.strict)
    return _worker


@metrics.log_metrics
@logger.inject_lambda_context
def worker(event, context):
    digest_worker = _default_worker()
    if isinstance(event, dict) and BACKFILL_ITEM_FIELD in event:
        return digest_worker.backfill(BackfillItem.parse(event[BACKFILL_ITEM_FIELD]))
    return process_partial_response(event=event, processor=processor, context=context,
                                    record_handler=lambda record: digest_worker.handle_message(record.body))
