"""What the scheduled posture check compares the stack's EventBridge rules and CloudWatch
alarms with, and how the construct writes it into the watcher's environment (which holds
4 KB in all, so everything here is compact).

A rule (named ``<rule prefix>...``, ``contract.rule_prefix``) is expected with its state
(enabled), each target's id, ARN and a digest of its settings (input, dead-letter queue,
retry policy: ``target_digest``), and a digest of its event pattern or schedule
(``rule_digest``). An alarm is expected by its logical id (its CloudFormation-generated name
is ``<stack>-<logical id>-<suffix>``) with the ARNs of its three kinds of actions and a
digest of its definition (metric, statistic, period, threshold, comparison, evaluation,
missing data: ``alarm_digest``).

ARNs are written as *specs*: ``$`` is the alerts topic (``Env.ALERTS_TOPIC_ARN``), a bare
name is a Lambda function of this account and region (``~x``: ``<trail>-x``), anything
starting with ``arn:`` is itself. Pure: no boto3, no CDK.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from . import POSTURE_FAILED_CALLS, POSTURE_WATCHER, PostureEnv, rule_prefix

DEFAULT_TARGET_ID = "Target0"
"""The id CDK gives a rule's first target."""
RULE_FAMILIES = {"^": f"{POSTURE_WATCHER}-", "%": f"{POSTURE_FAILED_CALLS}-"}
"""In a rule entry, ``^x``: ``<rule prefix>posture-watcher-x``; ``%x``: ``<rule prefix>posture-failed-calls-x``."""
ALERTS_TOPIC_SPEC = "$"
DIGEST_CHARS = 12
"""A rule digest: 72 bits of SHA-256, base64url."""
ALARM_ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")
ALARM_KEY_CHARS = 8
"""An alarm is named in the environment by the last characters of its logical id (CDK's
path hash), or the whole id where two would share them."""
ALARM_LOCATOR_CHARS = 2
"""Of each alarm's definition digest, what the environment holds (``encode_alarms``)."""
NOT_LOCATED = "." * ALARM_LOCATOR_CHARS
GENERATED_DIMENSIONS = ("QueueName", "StateMachineArn")
"""Dimensions an alarm may hold a name CloudFormation generates in (none of the watcher's
variables): where the construct has a reference there, the value is not compared."""


@dataclass(frozen=True)
class Placeholder:
    """In a rule's pattern as the construct knows it: a value only known once deployed,
    which the watcher's environment variable ``name`` holds."""

    name: str


KEY_ID = f"{PostureEnv.KEY_ARN}:id"
"""The placeholder of the key id (the last part of ``PostureEnv.KEY_ARN``)."""
PATTERN_VARIABLES = (PostureEnv.TRAIL_BUCKET, PostureEnv.ACCESS_LOG_BUCKET, PostureEnv.KEY_ARN)
"""The watcher's variables whose values a rule's pattern may hold (and the key id)."""


@dataclass(frozen=True)
class ArnTail:
    """In a rule's pattern as the construct knows it: ``arn:<partition>:<tail>`` where the
    partition is only known once deployed."""

    tail: str


def rule_digest(pattern: Any, schedule: Any, values: Mapping[str, str] | None = None,
                partition: str | None = None) -> str:
    """A short digest of a rule's event pattern (parsed JSON) and schedule expression. A
    string leaf equal to a key of ``values`` counts as the placeholder named by its value,
    one starting ``arn:<partition>:`` as an ``ArnTail`` (the watcher's side, and literals on
    the construct's); a ``Placeholder`` or ``ArnTail`` as itself (the construct's side).
    Literal, placeholder and tail never collide: each kind is written with its own prefix."""
    return _digest({"pattern": pattern, "schedule": schedule}, values, partition)


DEFAULT_RETRY = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
"""EventBridge's retry policy of a target that sets none (or sets one part)."""


def target_digest(target: Mapping[str, Any], values: Mapping[str, str] | None = None,
                  partition: str | None = None) -> str:
    """A short digest of a rule target's settings, by ListTargetsByRule's names: what it sends
    (``Input`` as parsed JSON, ``InputPath``, ``InputTransformer``), where what it fails to
    deliver goes (``DeadLetterConfig``) and how often it retries (``RetryPolicy``, EventBridge's
    defaults filled in). ``values`` and ``partition``: as ``rule_digest``."""
    target = _fields(target)
    retry = _fields(target.get("RetryPolicy"))
    transformer = target.get("InputTransformer")
    transformer = None if transformer is None else _fields(transformer)
    return _digest({
        "input": parse_pattern(target.get("Input")), "input_path": target.get("InputPath"),
        "transformer": None if transformer is None else {"paths": transformer.get("InputPathsMap") or {},
                                                         "template": transformer.get("InputTemplate")},
        "dead_letter": dict(_fields(target.get("DeadLetterConfig"))), "retry": {**DEFAULT_RETRY, **retry}},
        values, partition)


ALARM_DEFINITION = ("Namespace", "MetricName", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
                    "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
                    "EvaluateLowSampleCountPercentile", "Metrics", "ThresholdMetricId", "AlarmRule")
"""What an alarm watches and when it fires, by DescribeAlarms' names (``alarm_digest``)."""
WILDCARD = Placeholder("*")


def alarm_digest(alarm: Mapping[str, Any], values: Mapping[str, str] | None = None, partition: str | None = None,
                 wildcards: Sequence[str] = ()) -> str:
    """A short digest of an alarm's definition (``ALARM_DEFINITION``, a ``MetricAlarms`` or
    ``CompositeAlarms`` entry of DescribeAlarms, math alarms' ``Metrics`` included). What the
    API leaves out when unset counts as its default (``DatapointsToAlarm``: the evaluation
    periods, ``TreatMissingData``: missing, ``ReturnData``: true), numbers as numbers,
    dimensions and metrics in any order. The value of a dimension named in ``wildcards`` (one
    only known once deployed that is none of the watcher's variables) is not compared;
    ``values`` and ``partition``: as ``rule_digest``."""
    alarm = _fields(alarm)

    def dimensions(node: Any) -> list[list[Any]]:
        pairs = [[d.get("Name"), WILDCARD if d.get("Name") in wildcards else d.get("Value")]
                 for d in map(_fields, _items(node))]
        return sorted(pairs, key=lambda pair: str(pair[0]))

    def query(node: Any) -> dict[str, Any]:
        node = _fields(node)
        stat = None if node.get("MetricStat") is None else _fields(node.get("MetricStat"))
        metric = _fields((stat or {}).get("Metric"))
        return {"Id": node.get("Id"), "Expression": node.get("Expression"), "Period": node.get("Period"),
                "AccountId": node.get("AccountId"),
                "ReturnData": True if node.get("ReturnData") is None else node.get("ReturnData"),
                "MetricStat": None if stat is None else {
                    "Namespace": metric.get("Namespace"), "MetricName": metric.get("MetricName"),
                    "Dimensions": dimensions(metric.get("Dimensions")), "Period": stat.get("Period"),
                    "Stat": stat.get("Stat"), "Unit": stat.get("Unit")}}

    definition = {field: alarm.get(field) for field in ALARM_DEFINITION}
    definition["Dimensions"] = dimensions(alarm.get("Dimensions"))
    definition["Metrics"] = sorted(map(query, _items(alarm.get("Metrics"))), key=lambda q: str(q["Id"]))
    if definition["DatapointsToAlarm"] is None:
        definition["DatapointsToAlarm"] = definition["EvaluationPeriods"]
    if definition["TreatMissingData"] is None:
        definition["TreatMissingData"] = "missing"
    return _digest(_numbers(definition), values, partition)


def _fields(node: Any) -> Mapping[str, Any]:
    """A mapping as itself, None as no fields, anything else as one unreadable field (so
    that it digests as neither)."""
    if isinstance(node, Mapping):
        return node
    return {} if node is None else {"unreadable": repr(node)}


def _items(node: Any) -> list[Any]:
    return list(node) if isinstance(node, (list, tuple)) else [] if node is None else [{"unreadable": repr(node)}]


def _numbers(node: Any) -> Any:
    """Every number a float: CloudFormation's ``1`` is DescribeAlarms' ``1.0``."""
    if isinstance(node, bool):
        return node
    if isinstance(node, (int, float)):
        return float(node)
    if isinstance(node, Mapping):
        return {k: _numbers(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_numbers(v) for v in node]
    return node


def _digest(node: Any, values: Mapping[str, str] | None, partition: str | None) -> str:
    values = values or {}
    head = f"arn:{partition}:" if partition else None

    def canon(node: Any) -> Any:
        if isinstance(node, Placeholder):
            return f"p:{node.name}"
        if isinstance(node, ArnTail):
            return f"a:{node.tail}"
        if isinstance(node, str):
            return f"p:{values[node]}" if node in values else f"a:{node[len(head):]}" \
                if head and node.startswith(head) else f"s:{node}"
        if isinstance(node, Mapping):
            return {str(k): canon(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [canon(v) for v in node]
        return node

    text = json.dumps(canon(node), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode()[:DIGEST_CHARS]


def parse_pattern(text: Any) -> Any:
    """EventBridge's ``EventPattern`` text as ``rule_digest`` reads it (unreadable text stays text)."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


MIRRORED = "^"
"""A failed-calls rule's digest written as ``^``: its pattern is its real-alert twin's (the
``posture-watcher-`` rule of the same suffix) with ``errorCode`` present instead of absent, so
the twin's digest stands for both (``mirrored_pattern``)."""


def mirrored_pattern(pattern: Any) -> Any:
    """A failed-calls rule's pattern as its real-alert twin's (``"errorCode": [{"exists":
    true}]`` turned false), or None when it does not ask for an ``errorCode`` just so."""
    detail = pattern.get("detail") if isinstance(pattern, dict) else None
    if not isinstance(detail, dict) or detail.get("errorCode") != [{"exists": True}]:
        return None
    return {**pattern, "detail": {**detail, "errorCode": [{"exists": False}]}}


def mirror_twin(name: str, trail_name: str) -> str | None:
    """The real-alert rule a failed-calls rule mirrors, by name."""
    failed, watcher = (rule_prefix(trail_name) + RULE_FAMILIES[code] for code in "%^")
    return f"{watcher}{name[len(failed):]}" if name.startswith(failed) and len(name) > len(failed) else None


DEFAULT_TARGET_DIGEST = target_digest({})
"""A target that sends the event itself, with no dead-letter queue and the default retries."""


def pattern_values(environ: Mapping[str, str]) -> dict[str, str]:
    """Deployed value -> placeholder name, for the ``PATTERN_VARIABLES`` of ``environ`` and the key id."""
    values = {environ[name]: name for name in PATTERN_VARIABLES if environ.get(name)}
    key_arn = environ.get(PostureEnv.KEY_ARN)
    if key_arn and "/" in key_arn:
        values[key_arn.rsplit("/", 1)[-1]] = KEY_ID
    return values


@dataclass(frozen=True)
class RuleExpectation:
    targets: tuple[tuple[str, str], ...]
    """``(id, ARN)`` of each target, sorted."""
    digest: str | None = None
    """``rule_digest`` of the deployed pattern and schedule; None: not compared."""
    settings: tuple[tuple[str, str | None], ...] = ()
    """``(id, target_digest)`` of each target, sorted (None: that target's settings are not
    compared); empty: none compared."""
    mirrored: bool = False
    """``digest`` is the real-alert twin's: compare it with ``mirrored_pattern`` of the pattern."""


@dataclass(frozen=True)
class AlarmExpectation:
    actions: Mapping[str, tuple[str, ...]]
    """``{ALARM_ACTIONS[i]: sorted ARNs}``."""
    locator: str | None = None
    """The first ``ALARM_LOCATOR_CHARS`` of the ``alarm_digest`` of the deployed definition
    (which alarm changed; ``ExpectedAlarms.digest`` pins them all); None: not compared."""
    wildcards: tuple[str, ...] = ()
    """The dimensions whose values ``alarm_digest`` does not compare."""


@dataclass(frozen=True)
class ArnContext:
    """What a spec is expanded with: this account, region and partition, the trail's name and
    the alerts topic."""

    trail_name: str
    partition: str
    region: str
    account: str
    alerts_topic: str = ""

    def arn(self, spec: str) -> str:
        if spec == ALERTS_TOPIC_SPEC:
            return self.alerts_topic
        if spec.startswith("arn:"):
            return spec
        name = f"{self.trail_name}-{spec[1:]}" if spec.startswith("~") else spec
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{name}"


def _table(specs: Sequence[str]) -> list[str]:
    """The distinct specs, the most used first (index 0 is each encoding's default)."""
    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec] = counts.get(spec, 0) + 1
    return sorted(counts, key=lambda s: (-counts[s], list(counts).index(s)))


def _check_spec(spec: str) -> str:
    if not spec or spec.startswith("@") or any(c in spec for c in " |!,#"):
        raise ValueError(f"unusable ARN spec {spec!r}")
    return spec


def encode_rules(rules: Mapping[str, tuple[Sequence[tuple[str, ...]], str | None]], trail_name: str) -> str:
    """``{name: ([(target id, ARN spec[, target digest]), ...], digest)}`` as ``target target
    ...|entry,entry``. A target of the table is its spec (``@k`` where table target ``k``
    wrote it already), and ``!digest`` unless its settings are the defaults
    (``DEFAULT_TARGET_DIGEST``: also where no digest is given), ``!`` alone where they are not
    compared (a digest of None). An entry is the name (``~x`` for
    ``<rule prefix>x``, ``^x`` and ``%x`` as ``RULE_FAMILIES`` says), ``=id@i+id@i`` unless
    the one target is ``Target0`` of table entry 0 (``@i`` alone: ``Target0``), and
    ``#digest``. No rule: the empty text (the variable is then not read)."""
    if not rules:
        return ""

    def table_entry(spec: str, *settings: str | None) -> str:
        digest = settings[0] if settings else DEFAULT_TARGET_DIGEST
        return _check_spec(spec) if digest == DEFAULT_TARGET_DIGEST else f"{_check_spec(spec)}!{digest or ''}"

    table = _table([table_entry(*target[1:]) for targets, _ in (rules[n] for n in sorted(rules)) for target in targets])
    entries = []
    for name, (targets, digest) in sorted(rules.items()):
        entry = _short_rule_name(name, trail_name)
        pairs = sorted((target[0], table.index(table_entry(*target[1:]))) for target in targets)
        if pairs != [(DEFAULT_TARGET_ID, 0)]:
            entry += "=" + "+".join(f"{'' if target_id == DEFAULT_TARGET_ID else target_id}@{index}"
                                    for target_id, index in pairs)
        entries.append(entry + (f"#{digest}" if digest else ""))
    written: dict[str, int] = {}
    for index, target in enumerate(table):
        spec, bang, settings = target.partition("!")
        if spec in written:
            table[index] = f"@{written[spec]}{bang}{settings}"
        else:
            written[spec] = index
    return " ".join(table) + "|" + ",".join(entries)


def _short_rule_name(name: str, trail_name: str) -> str:
    head = rule_prefix(trail_name)
    for code, family in RULE_FAMILIES.items():
        if name.startswith(head + family) and len(name) > len(head + family):
            return f"{code}{name[len(head + family):]}"
    return f"~{name[len(head):]}" if name.startswith(head) else name


def decode_rules(text: str, context: ArnContext) -> dict[str, RuleExpectation]:
    """The inverse of ``encode_rules``, each spec expanded; ValueError on what it cannot read."""
    table_text, bar, entries_text = text.partition("|")
    table = table_text.split(" ") if table_text else []
    if not bar or not all(table):
        raise ValueError(f"no ARN table before '|' in {text[:80]!r}")
    rules: dict[str, RuleExpectation] = {}
    head = rule_prefix(context.trail_name)
    specs: list[str] = []
    settings_of: list[str | None] = []
    for target in table:
        spec, bang, settings = target.partition("!")
        if spec.startswith("@"):
            k = spec[1:]
            if not k.isdigit() or int(k) >= len(specs) or table[int(k)].startswith("@"):
                raise ValueError(f"unreadable table target {target!r}")
            spec = specs[int(k)]
        specs.append(spec)
        settings_of.append(DEFAULT_TARGET_DIGEST if not bang else settings or None)
    for entry in entries_text.split(","):
        body, _, digest = entry.partition("#")
        name, separator, targets_text = body.partition("=")
        short = name
        name = (f"{head}{RULE_FAMILIES[name[0]]}{name[1:]}" if name[:1] in RULE_FAMILIES
                else f"{head}{name[1:]}" if name.startswith("~") else name)
        try:
            pairs = [(DEFAULT_TARGET_ID, 0)] if not separator else [
                (target_id or DEFAULT_TARGET_ID, int(index))
                for target_id, _, index in (t.partition("@") for t in targets_text.split("+"))]
            targets = tuple(sorted((target_id, context.arn(specs[index])) for target_id, index in pairs))
            settings = tuple(sorted((target_id, settings_of[index]) for target_id, index in pairs))
        except (ValueError, IndexError):
            raise ValueError(f"unreadable rule entry {entry!r}") from None
        if short in ("", "~", *RULE_FAMILIES) or not all(t for t, _ in targets) or name in rules \
                or "#" in digest or (entry.count("#") and not digest):
            raise ValueError(f"unreadable rule entry {entry!r}")
        rules[name] = RuleExpectation(targets, digest or None, settings)
    for name, rule in rules.items():
        if rule.digest == MIRRORED:
            twin = rules.get(mirror_twin(name, context.trail_name) or "")
            if twin is None or twin.digest in (None, MIRRORED):
                raise ValueError(f"rule {name} mirrors no rule with a digest")
            rules[name] = RuleExpectation(rule.targets, twin.digest, rule.settings, mirrored=True)
    return rules


def alarm_keys(logical_ids: Sequence[str]) -> dict[str, str]:
    """Logical id -> how the environment names it: its last ``ALARM_KEY_CHARS`` characters,
    or the whole id where two ids share them."""
    tails = [i[-ALARM_KEY_CHARS:] for i in logical_ids]
    return {i: tail if tails.count(tail) == 1 else i for i, tail in zip(logical_ids, tails)}


def encode_alarms(alarms: Mapping[str, Sequence[Sequence[str]]],
                  definitions: Mapping[str, tuple[str | None, Sequence[str]]] | None = None) -> str:
    """``{key: (alarm specs, OK specs, insufficient-data specs)}`` and ``{key: (alarm_digest,
    wildcard dimensions)}`` as ``spec ...|entry,entry|digest``: an entry is the key,
    ``=i+i/i/i`` unless the actions are spec 0 on alarm only, and ``!`` where its
    ``GENERATED_DIMENSIONS`` are wildcards; ``digest``: ``alarms_digest`` of the definitions,
    then the first ``ALARM_LOCATOR_CHARS`` of each one's digest, entry by entry
    (``NOT_LOCATED``: its definition is not compared), which tell which alarm changed (the
    4 KB hold a full digest per alarm only for a few). No alarm: the empty text."""
    definitions = {k: d for k, d in (definitions or {}).items() if d[0]}
    if not alarms:
        return ""
    table = _table([_check_spec(s) for key in sorted(alarms) for kind in alarms[key] for s in kind])
    entries = []
    for key, kinds in sorted(alarms.items()):
        indexes = [sorted(table.index(s) for s in kind) for kind in kinds]
        entry = key if indexes == [[0], [], []] else f"{key}=" + "/".join("+".join(map(str, kind)) for kind in indexes)
        if key in definitions:
            digest, wildcards = definitions[key]
            if not set(wildcards) <= set(GENERATED_DIMENSIONS):
                raise ValueError(f"dimensions {sorted(set(wildcards) - set(GENERATED_DIMENSIONS))} are no "
                                 "GENERATED_DIMENSIONS")
            entry += "!" if wildcards else ""
        entries.append(entry)
    if not definitions:
        return " ".join(table) + "|" + ",".join(entries)
    locators = "".join(definitions[key][0][:ALARM_LOCATOR_CHARS] if key in definitions else NOT_LOCATED
                       for key in sorted(alarms))
    combined = alarms_digest({key: digest for key, (digest, _) in definitions.items()})
    return " ".join(table) + "|" + ",".join(entries) + f"|{combined}{locators}"


def alarms_digest(digests: Mapping[str, str]) -> str:
    """One digest of the alarms' ``alarm_digest``, by key."""
    return _digest(sorted(digests.items()), None, None)


class ExpectedAlarms(dict):
    """Key -> ``AlarmExpectation``; ``digest``: ``alarms_digest`` of the definitions of those
    with a locator (None: none compared)."""

    digest: str | None = None


def decode_alarms(text: str, context: ArnContext) -> ExpectedAlarms:
    """The inverse of ``encode_alarms``, each spec expanded."""
    table_text, bar, rest = text.partition("|")
    entries_text, bar_2, combined = rest.partition("|")
    table = table_text.split(" ") if table_text else []
    if not bar or not all(table) or not entries_text:
        raise ValueError(f"no ARN table before '|' or no alarm in {text[:80]!r}")
    alarms = ExpectedAlarms()
    entries = entries_text.split(",")
    combined, locators = combined[:DIGEST_CHARS], combined[DIGEST_CHARS:]
    if bar_2 and not (re.fullmatch(r"[A-Za-z0-9_-]{%d}" % DIGEST_CHARS, combined)
                      and re.fullmatch(r"([A-Za-z0-9_-]{%d}|%s)*" % (ALARM_LOCATOR_CHARS, re.escape(NOT_LOCATED)),
                                       locators)
                      and len(locators) == ALARM_LOCATOR_CHARS * len(entries) and set(locators) != {"."}):
        raise ValueError(f"no digest of the alarms' definitions and one locator an alarm after the second '|' "
                         f"in {text[-80:]!r}")
    for n, entry in enumerate(entries):
        body, bang, after = entry.partition("!")
        locator = locators[n * ALARM_LOCATOR_CHARS:(n + 1) * ALARM_LOCATOR_CHARS]
        if after or bang and not locators:
            raise ValueError(f"unreadable alarm entry {entry!r}")
        key, separator, actions = body.partition("=")
        try:
            kinds = actions.split("/") if separator else ["0", "", ""]
            if len(kinds) != len(ALARM_ACTIONS):
                raise ValueError
            indexes = [[int(i) for i in kind.split("+")] if kind else [] for kind in kinds]
            expanded = {field: tuple(sorted(context.arn(table[i]) for i in kind))
                        for field, kind in zip(ALARM_ACTIONS, indexes)}
        except (ValueError, IndexError):
            raise ValueError(f"unreadable alarm entry {entry!r}") from None
        if not re.fullmatch(r"[A-Za-z0-9]+", key) or key in alarms:
            raise ValueError(f"unreadable alarm entry {entry!r}")
        alarms[key] = AlarmExpectation(expanded, None if locator in ("", NOT_LOCATED) else locator,
                                       GENERATED_DIMENSIONS if bang else ())
    alarms.digest = combined or None
    return alarms


def alarm_key(name: str, stack_prefix: str, expected: Mapping[str, Any]) -> str | None:
    """The key of ``expected`` that an alarm named ``name`` is, or None when it is not one of
    ours: a generated name is ``<stack>-<logical id>-<suffix>``, and a logical id holds no
    ``-``, so an alarm of a stack ``<stack>-X`` (``<stack>-X-<id>-<suffix>``) is never ours."""
    if not name.startswith(stack_prefix):
        return None
    logical_id, separator, suffix = name[len(stack_prefix):].rpartition("-")
    if not separator or not re.fullmatch(r"[A-Za-z0-9]+", logical_id) or not re.fullmatch(r"[A-Za-z0-9]+", suffix):
        return None
    if logical_id in expected:
        return logical_id
    tail = logical_id[-ALARM_KEY_CHARS:]
    return tail if tail in expected else None
