"""Time to detect, proven: for each attack class, what finds it and within how long, on a
simulated clock (no wall-clock anywhere). The windows come from the constants the stack uses
(the contract's schedules and ``HEARTBEATS``; the template's rules and alarms are checked
against them), and the table in docs/monitoring.md ("Time to detect") is rendered here from
the same rows: a change of a schedule or window that the page does not follow fails."""

from __future__ import annotations

import gzip
import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from aws_cdk.assertions import Template

from conftest import REPO, build_stack, default_props
from posture_events import ACCOUNT, BUCKETS, KEY_ARN, REGION, TRAIL_ARN, WATCHED, WATCHED_CALLS, api_call_event
from trail_simulation import T0, MemoryReader, SimulatedTrail
from trail_validators.contract import (ACCESS_LOG_AUDITOR, ANALYTICS_ENRICHMENT, DEFAULT_POSTURE_CHECK_MINUTES,
                                      DEFAULT_REVALIDATION_DAYS, DIGEST_PLAN_MINUTE, DIGEST_PLAN_MINUTES,
                                      DIGEST_PLANNER, DIGEST_VALIDATOR, FAILED_CALL_WINDOW_MINUTES, HEARTBEATS,
                                      POSTURE_WATCHER, REVALIDATION_HOUR, REVALIDATION_MINUTE, REVALIDATION_MINUTES,
                                      TRAIL_WATCH, PostureKind, TrailWatchKind)
from trail_validators.digests.chain import CADENCE, JITTER, Anchor, StoredObject
from trail_validators.digests.layout import ChainId, TrailLocation
from trail_validators.handlers import digest_validation
from trail_validators.posture.judge import (PostureObservation, failed_call_window, failed_calls_summary,
                                            judge_api_call, judge_status)
from trail_validators.trail_watch.judge import judge as judge_object_event, parse_event, trail_object
from watch_events import created, deleted

MINUTE = timedelta(minutes=1)
DIGEST_ARRIVAL = int((CADENCE + JITTER) / MINUTE)
"""A log is covered by the digest that ends within the hour after it, delivered within the
jitter after that end."""
CHAIN_AFTER_ATTACK = DIGEST_PLAN_MINUTES
CHAIN_AFTER_WRITE = int(CADENCE / MINUTE) + DIGEST_PLAN_MINUTE
"""The hourly run starts at a fixed minute after the jitter: the digest ending on the hour
after a log is read by the run that follows its delivery, never an hour later."""
assert JITTER < DIGEST_PLAN_MINUTE * MINUTE < CADENCE


# -- the table ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    attack: str
    detector: str
    within: str


def heartbeat_within(role: str, schedule_minutes: int = 0) -> str:
    heartbeat = HEARTBEATS[role]
    period = heartbeat.period_minutes or schedule_minutes
    return (f"{heartbeat.window_minutes(schedule_minutes)} min of silence "
            f"(at most {heartbeat.window_minutes(schedule_minutes) + period} min after its last run)")


EVENT_DRIVEN = "minutes (the event's delivery to EventBridge; no schedule waited for)"
ROWS = [
    Row("A call that blinds a validator or weakens the trail, its buckets, key or log group",
        "posture watcher's rules (`weakening_api_call`)", EVENT_DRIVEN),
    Row("The same call tried and failed (denied): one alert a principal, resource and "
        f"{FAILED_CALL_WINDOW_MINUTES} min, the rest counted", "failed-calls rules and function "
        "(`failed_weakening_calls`; its own queue, never delaying the real alerts)", EVENT_DRIVEN),
    Row("Drift in what the scheduled check reads (docs/posture.md), when its event is missed",
        "scheduled posture check", f"{DEFAULT_POSTURE_CHECK_MINUTES} min (`posture_check_interval`)"),
    Row("Digest planner stopped", "heartbeat `PlannerHeartbeat`", heartbeat_within(DIGEST_PLANNER)),
    Row("Digest worker stopped", "heartbeat `WorkerHeartbeat`", heartbeat_within(DIGEST_VALIDATOR)),
    Row("Access-log auditor stopped", "heartbeat `AuditedObjectHeartbeat`", heartbeat_within(ACCESS_LOG_AUDITOR)),
    Row("Trail-bucket watch stopped", "heartbeat `WatchedEventHeartbeat`", heartbeat_within(TRAIL_WATCH)),
    Row("Posture check stopped", "heartbeat `CheckHeartbeat`",
        heartbeat_within(POSTURE_WATCHER, DEFAULT_POSTURE_CHECK_MINUTES)),
    Row("Analytics enrichment stopped (when on)", "heartbeat `EnrichmentHeartbeat`",
        heartbeat_within(ANALYTICS_ENRICHMENT)),
    Row("A log backdated, overwritten or deleted behind the checkpoint", "trail-bucket watch", EVENT_DRIVEN),
    Row("The same, when its event is missed", "daily re-validation of the last "
        f"{DEFAULT_REVALIDATION_DAYS} days (`revalidation_days`)", f"{REVALIDATION_MINUTES // 60} h"),
    *(Row(attack, f"digest chain (`{kind}`)",
          f"{CHAIN_AFTER_ATTACK} min after the attack once the digest covering it is delivered; "
          f"at most {CHAIN_AFTER_WRITE} min after the {what}")
      for attack, kind, what in (("A log modified", "modified_log", "log was written"),
                                 ("A log deleted", "missing_log", "log was written"),
                                 ("A log injected", "injected_log", "log's name time"),
                                 ("The newest digest deleted", "missing_digest", "deleted digest's end"))),
    Row("A digest forged", "digest chain (`invalid_digest_signature`, `chain_link_mismatch`)",
        f"{CHAIN_AFTER_ATTACK} min after the attack (the next hourly run)"),
    Row("Props that weaken (`expected_principals` matching everyone; a log expiry under a year)",
        "synth (refused, or a warning to acknowledge)", "before deployment"),
]
DOCS_HEADER = ["| attack | detected by | within |", "| --- | --- | --- |"]


def rendered() -> list[str]:
    return DOCS_HEADER + [f"| {row.attack} | {row.detector} | {row.within} |" for row in ROWS]


def test_the_docs_table_is_the_one_these_tests_prove():
    page = (REPO / "docs" / "monitoring.md").read_text()
    section = page.split("## Time to detect", 1)[1]
    table = [line for line in section.split("\n## ", 1)[0].splitlines() if line.startswith("|")]
    assert table == rendered(), "docs/monitoring.md's time-to-detect table is stale:\n" + "\n".join(rendered())


@pytest.fixture(scope="module")
def template() -> dict:
    return Template.from_stack(build_stack(default_props())).to_json()


def test_the_stack_runs_on_the_schedules_the_windows_are_computed_from(template):
    rules = {r["Properties"].get("ScheduleExpression") for r in template["Resources"].values()
             if r["Type"] == "AWS::Events::Rule"}
    assert DIGEST_PLAN_MINUTES == 60 and REVALIDATION_MINUTES == 24 * 60  # what the two crons below run
    assert {f"cron({DIGEST_PLAN_MINUTE} * * * ? *)", f"cron({REVALIDATION_MINUTE} {REVALIDATION_HOUR} * * ? *)",
            rate(DEFAULT_POSTURE_CHECK_MINUTES)} <= rules
    # the daily re-validation never starts in the same minute as an hourly run
    assert REVALIDATION_MINUTE != DIGEST_PLAN_MINUTE


def rate(minutes: int) -> str:
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            count = minutes // size
            return f"rate({count} {unit}{'s' if count > 1 else ''})"
    raise AssertionError(minutes)


# -- heartbeats: a CloudWatch alarm whose missing data is breaching, on a simulated clock ----------
def first_alarm(runs: list[datetime], period: int, evaluation_periods: int, until: datetime) -> datetime | None:
    """When an alarm (Sum < 1 over ``evaluation_periods`` periods of ``period`` minutes in a row,
    missing data breaching, periods aligned on the clock) first fires: at the end of the last
    of those periods."""
    start = T0  # the validator runs from the first period on
    slots = {math.floor((run - start) / (period * MINUTE)) for run in runs}
    empty_in_a_row = 0
    for slot in range(math.ceil((until - start) / (period * MINUTE))):
        empty_in_a_row = 0 if slot in slots else empty_in_a_row + 1
        if empty_in_a_row == evaluation_periods:
            return start + (slot + 1) * period * MINUTE
    return None


HEARTBEAT_SCHEDULES = {DIGEST_PLANNER: DIGEST_PLAN_MINUTES, DIGEST_VALIDATOR: DIGEST_PLAN_MINUTES,
                       POSTURE_WATCHER: DEFAULT_POSTURE_CHECK_MINUTES,
                       ACCESS_LOG_AUDITOR: 5, TRAIL_WATCH: 5, ANALYTICS_ENRICHMENT: 1}
"""How often each validator runs: on its schedule, or (event-driven) as often as its events
come, here every few minutes: the alarm's bound does not depend on it."""


@pytest.mark.parametrize("role", sorted(HEARTBEATS))
def test_a_stopped_validator_raises_its_heartbeat_alarm_within_the_documented_time(role):
    heartbeat, every = HEARTBEATS[role], HEARTBEAT_SCHEDULES[role]
    schedule = DEFAULT_POSTURE_CHECK_MINUTES if role == POSTURE_WATCHER else 0
    period, window = heartbeat.period_minutes or schedule, heartbeat.window_minutes(schedule)
    worst = 0
    # the hourly validators run at DIGEST_PLAN_MINUTE past the hour: that phase among the tried ones
    phases = sorted({*range(0, every, max(1, every // 5)), *([DIGEST_PLAN_MINUTE] if every == DIGEST_PLAN_MINUTES else [])})
    for phase in phases:
        runs = [T0 + (phase + n * every) * MINUTE for n in range(2 * 24 * 60 // every)]
        for stop in range(24 * 60 // every, 24 * 60 // every + 2 * period // every + 2):
            ran = runs[:stop]
            alarm = first_alarm(ran, period, heartbeat.evaluation_periods, ran[-1] + timedelta(days=1))
            # never while it runs, always within the window plus the period its last run fell in
            assert first_alarm(ran, period, heartbeat.evaluation_periods, ran[-1]) is None, role
            assert window * MINUTE <= alarm - ran[-1] <= (window + period) * MINUTE, role
            worst = max(worst, int((alarm - ran[-1]) / MINUTE))
    assert worst > window, role  # the bound is reached: the table does not promise less than the alarm does


# -- event-driven: the finding is made from the event itself --------------------------------------
def test_a_blinding_or_weakening_call_is_a_finding_on_its_own_event():
    for source, name, parameters, resources in WATCHED_CALLS:
        event = api_call_event(source, name, parameters, account=ACCOUNT, region=REGION, resources=resources)
        finding = judge_api_call(event, WATCHED)
        assert getattr(finding, "kind", None) == PostureKind.WEAKENING_API_CALL, name


def test_a_failed_weakening_call_is_summarized_on_its_own_event():
    """Its window is read from the event's time: no schedule is waited for."""
    now = datetime(2026, 11, 25, 4, 13, tzinfo=timezone.utc)
    for source, name, parameters, resources in WATCHED_CALLS:
        event = api_call_event(source, name, parameters, account=ACCOUNT, region=REGION, resources=resources,
                               error_code="AccessDenied")
        call = judge_api_call(event, WATCHED)
        window = failed_call_window(call.details["event_time"], now, FAILED_CALL_WINDOW_MINUTES)
        summary = failed_calls_summary(call, window, FAILED_CALL_WINDOW_MINUTES)
        assert (summary.kind, window) == (PostureKind.FAILED_CALLS, "2026-11-25T04:00Z"), name


LOCATION = TrailLocation("trail-bucket", None, "o-a1b2c3d4e5", "org-trail", "us-east-1")
CHAIN = ChainId("111111111111", "us-east-1")


def test_history_rewritten_behind_the_checkpoint_is_a_finding_on_its_own_event():
    sim = SimulatedTrail(LOCATION)
    digests = sim.deliver(CHAIN, T0, 6)
    checkpoint_end = trail_object(LOCATION, digests[-1]).time
    old_log = next(k for k in sim.objects if "/CloudTrail/" in k)
    backdated = sim.put_log(CHAIN, T0 + timedelta(hours=1, minutes=30), random.Random(1))
    now = checkpoint_end + 5 * MINUTE
    cases = [(created(LOCATION.bucket, backdated, "v1", now), [], TrailWatchKind.BACKDATED),
             (created(LOCATION.bucket, old_log, "v2", now), ["v1"], TrailWatchKind.OVERWRITE),
             (deleted(LOCATION.bucket, old_log, "v3", now), [], TrailWatchKind.DELETION)]
    for body, other_versions, kind in cases:
        findings = judge_object_event(parse_event(json.loads(body)), LOCATION, checkpoint_end=checkpoint_end,
                                      other_versions=other_versions, expiration_days=365)
        assert kind in {f.kind for f in findings}, kind


# -- scheduled: the posture check ------------------------------------------------------------------
TLS_DENY = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKETS[0]}", f"arn:aws:s3:::{BUCKETS[0]}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
SELECTORS = [{"Name": "All management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]


def observed(at: datetime, drift_at: datetime) -> PostureObservation:
    policy = None if at >= drift_at else json.dumps({"Version": "2012-10-17", "Statement": [TLS_DENY]})
    return PostureObservation(
        trail={"IsMultiRegionTrail": True, "IsOrganizationTrail": True, "LogFileValidationEnabled": True},
        status={"IsLogging": True}, selectors={"AdvancedEventSelectors": SELECTORS},
        key={"Arn": KEY_ARN, "KeyState": "Enabled", "Enabled": True}, bucket_policies={BUCKETS[0]: policy})


def test_posture_drift_whose_event_was_missed_is_found_within_one_check_interval():
    interval = DEFAULT_POSTURE_CHECK_MINUTES
    checks = [T0 + n * interval * MINUTE for n in range(20)]
    worst = timedelta(0)
    for drift_minute in range(interval * 3, interval * 5):
        drift_at = T0 + drift_minute * MINUTE + timedelta(seconds=1)
        found = next(at for at in checks if judge_status(observed(at, drift_at), expected_selectors=SELECTORS,
                                                         trail_arn=TRAIL_ARN))
        worst = max(worst, found - drift_at)
    assert worst <= interval * MINUTE and worst > (interval - 1) * MINUTE


# -- synth: props that weaken ----------------------------------------------------------------------
def test_weakening_props_are_refused_or_warned_before_deployment():
    from aws_cdk.assertions import Annotations, Match
    from secure_trail.props import SHORT_LOG_RETENTION_WARNING, SecureTrailConfigError
    with pytest.raises(SecureTrailConfigError, match="^expected_principals: .*matches every principal"):
        default_props(expected_principals=("*",)).validate()
    stack = build_stack(default_props(log_transition_days=1, log_expiration_days=2))
    Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp(f".*{SHORT_LOG_RETENTION_WARNING}"))


# -- the digest chain, hourly, and the daily re-validation ------------------------------------------
class Checkpoints:
    def __init__(self) -> None:
        self.anchors: dict[ChainId, Anchor] = {}

    def load(self, chain: ChainId) -> Anchor | None:
        return self.anchors.get(chain)

    def save(self, chain: ChainId, anchor: Anchor) -> None:
        self.anchors[chain] = anchor


class Alerts:
    def __init__(self) -> None:
        self.kinds: set[str] = set()

    def claim(self, marker: str) -> bool:
        return True

    def release(self, marker: str) -> None:
        pass

    def publish(self, scope: str, kind: str, findings) -> None:
        self.kinds.add(kind)


class SimulatedBucket:
    """The trail bucket as it is at a moment: a log from its name time, a digest from its end
    plus the delivery jitter (the latest it arrives)."""

    def __init__(self, sim: SimulatedTrail) -> None:
        self.sim = sim
        self.arrival = {key: self._arrival(key) for key in sim.objects}

    def _arrival(self, key: str) -> datetime:
        found = trail_object(LOCATION, key)
        return found.time + (JITTER if found.is_digest else timedelta(0))

    def at(self, now: datetime) -> MemoryReader:
        return MemoryReader({k: v for k, v in self.sim.objects.items() if self.arrival.get(k, now) <= now})

    def newest(self, now: datetime, digest: bool) -> str:
        kind = "/CloudTrail-Digest/" if digest else "/CloudTrail/"
        return max((k for k in self.sim.objects if kind in k and self.arrival[k] <= now), key=self.arrival.get)


def worker_run(bucket: SimulatedBucket, checkpoints: Checkpoints, now: datetime,
               revalidate_days: int | None = None) -> set[str]:
    alerts = Alerts()
    worker = digest_validation.DigestWorker(bucket.at(now), LOCATION, checkpoints, alerts, alerts,
                                            lambda region, window: bucket.sim.public_keys, clock=lambda: now)
    worker.validate(CHAIN, revalidate_days)
    return alerts.kinds


def modify(bucket: SimulatedBucket, key: str) -> None:
    bucket.sim.objects[key] = StoredObject(gzip.compress(b'{"Records": []}', mtime=0), {})


def newest_log(bucket: SimulatedBucket, now: datetime) -> str:
    return bucket.newest(now, digest=False)


def forge(bucket: SimulatedBucket, now: datetime) -> datetime:
    key = bucket.newest(now, digest=True)
    bucket.sim.replace_digest_body(key, {**bucket.sim.digest_body(key), "logFiles": []})  # the old signature kept
    return trail_object(LOCATION, key).time


def delete_newest_digest(bucket: SimulatedBucket, now: datetime) -> datetime:
    key = bucket.newest(now, digest=True)
    del bucket.sim.objects[key]
    return trail_object(LOCATION, key).time


def inject(bucket: SimulatedBucket, now: datetime) -> datetime:
    key = bucket.sim.put_log(CHAIN, now, random.Random(str(now)))
    bucket.arrival[key] = now
    return now


def tampered_log(change):
    def attack(bucket: SimulatedBucket, now: datetime) -> datetime:
        key = newest_log(bucket, now)
        change(bucket, key)
        return trail_object(LOCATION, key).time
    return attack


ATTACKS = {
    "modified_log": tampered_log(modify),
    "missing_log": tampered_log(lambda bucket, key: bucket.sim.objects.pop(key)),
    "injected_log": inject,
    "invalid_digest_signature": forge,
    "missing_digest": delete_newest_digest,
}
"""Each tampers with the newest object of its kind (one the checkpoint has not passed) and
returns the time it covers: a log's name time, a digest's end."""
DETECTED_AS = {"invalid_digest_signature": {"invalid_digest_signature", "chain_link_mismatch"},
               "missing_digest": {"missing_digest", "missing_newest_digest"}}
FAILING = {"modified_log", "missing_log", "injected_log", "invalid_digest_signature", "chain_link_mismatch",
           "missing_digest"}


def hourly_runs(start: datetime, count: int, minute: int = DIGEST_PLAN_MINUTE) -> list[datetime]:
    """The hourly run's ticks from ``start`` (on an hour): at ``minute`` past each hour."""
    return [start + (minute + n * DIGEST_PLAN_MINUTES) * MINUTE for n in range(count)]


@pytest.mark.parametrize("kind", sorted(ATTACKS))
@pytest.mark.parametrize("attack_minute", [5, 25, 50])
def test_chain_tampering_is_found_by_the_next_hourly_run_after_its_digest_arrives(kind, attack_minute):
    sim = SimulatedTrail(LOCATION)
    sim.deliver(CHAIN, T0, 12)
    bucket, checkpoints = SimulatedBucket(sim), Checkpoints()
    ticks = hourly_runs(T0 + timedelta(hours=3), 8)
    assert not worker_run(bucket, checkpoints, ticks[0]) & FAILING  # healthy before the attack
    assert not worker_run(bucket, checkpoints, ticks[1]) & FAILING
    attack_at = ticks[1] + attack_minute * MINUTE
    covered = ATTACKS[kind](bucket, attack_at)
    found = next(tick for tick in ticks[2:] if worker_run(bucket, checkpoints, tick) & DETECTED_AS.get(kind, {kind}))
    covering_digest_arrives = min(bucket.arrival[k] for k in sim.objects  # a deleted digest: the next one
                                  if "/CloudTrail-Digest/" in k and trail_object(LOCATION, k).time >= covered)
    assert covering_digest_arrives - covered <= DIGEST_ARRIVAL * MINUTE + MINUTE  # (the simulated end jitter)
    assert found - max(attack_at, covering_digest_arrives) <= CHAIN_AFTER_ATTACK * MINUTE
    assert found - covered <= (CHAIN_AFTER_WRITE + 1) * MINUTE


def first_finding_after_write(minute: int) -> timedelta:
    """The log written 2 minutes after an hour (the simulation's, near the worst case: its
    digest ends on the next hour), modified at once: how long after its write the hourly run
    at ``minute`` past each hour finds it."""
    sim = SimulatedTrail(LOCATION)
    sim.deliver(CHAIN, T0, 8, logs_per_hour=1)
    bucket, checkpoints = SimulatedBucket(sim), Checkpoints()
    key = min(k for k in sim.objects if "/CloudTrail/" in k and trail_object(LOCATION, k).time >= T0 + 3 * CADENCE)
    written = trail_object(LOCATION, key).time
    runs = hourly_runs(T0 + 2 * CADENCE, 6, minute)
    assert not worker_run(bucket, checkpoints, runs[0]) & FAILING  # a checkpoint before the write
    modify(bucket, key)
    found = next(t for t in runs if t > written and "modified_log" in worker_run(bucket, checkpoints, t))
    return found - written


def test_the_hourly_minute_bounds_the_time_from_a_write_to_its_finding():
    """At ``DIGEST_PLAN_MINUTE`` the worst case (a log written just after the hour) is found
    within ``CHAIN_AFTER_WRITE``; a run at a minute before the delivery jitter ends waits an
    hour more: the minute, not luck, makes the bound."""
    at_the_minute = first_finding_after_write(DIGEST_PLAN_MINUTE)
    assert (CHAIN_AFTER_WRITE - 5) * MINUTE < at_the_minute <= CHAIN_AFTER_WRITE * MINUTE
    too_early = first_finding_after_write(5)  # :05, before the digest's delivery: read an hour later
    assert too_early > (CHAIN_AFTER_WRITE + 45) * MINUTE


@pytest.mark.parametrize("attack", ["modify", "delete"])
def test_history_rewritten_behind_the_checkpoint_is_found_by_the_next_daily_re_validation(attack):
    sim = SimulatedTrail(LOCATION)
    sim.deliver(CHAIN, T0, 24 * (DEFAULT_REVALIDATION_DAYS + 2), logs_per_hour=1)
    bucket, checkpoints = SimulatedBucket(sim), Checkpoints()
    start = T0 + timedelta(days=DEFAULT_REVALIDATION_DAYS, hours=1)
    daily = [start + n * REVALIDATION_MINUTES * MINUTE for n in range(2)]
    assert not worker_run(bucket, checkpoints, daily[0], DEFAULT_REVALIDATION_DAYS) & FAILING
    attack_at = daily[0] + timedelta(minutes=7)
    victim = sorted(k for k in sim.objects if "/CloudTrail/" in k and bucket.arrival[k] < daily[0] - timedelta(days=2))[-1]
    modify(bucket, victim) if attack == "modify" else sim.objects.pop(victim)
    found = worker_run(bucket, checkpoints, daily[1], DEFAULT_REVALIDATION_DAYS)
    assert found & {"modified_log", "missing_log"}
    assert daily[1] - attack_at <= REVALIDATION_MINUTES * MINUTE
