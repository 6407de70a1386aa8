"""What the scheduled posture check compares the stack's EventBridge rules and CloudWatch
alarms with, and how the construct writes it into the watcher's environment (which holds
4 KB in all, so everything here is compact).

A rule is expected with its state (enabled), each target's id and ARN, and a digest of its
event pattern or schedule (``rule_digest``). An alarm is expected by its logical id (its
CloudFormation-generated name is ``<stack>-<logical id>-<suffix>``) with the ARNs of its
three kinds of actions.

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

from . import POSTURE_FAILED_CALLS, POSTURE_WATCHER, PostureEnv

DEFAULT_TARGET_ID = "Target0"
"""The id CDK gives a rule's first target."""
RULE_FAMILIES = {"^": f"{POSTURE_WATCHER}-", "!": f"{POSTURE_FAILED_CALLS}-"}
"""``^x`` in a rule entry: ``<trail>-posture-watcher-x``; ``!x``: ``<trail>-posture-failed-calls-x``."""
ALERTS_TOPIC_SPEC = "$"
DIGEST_CHARS = 12
"""A rule digest: 72 bits of SHA-256, base64url."""
ALARM_ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")
ALARM_KEY_CHARS = 8
"""An alarm is named in the environment by the last characters of its logical id (CDK's
path hash), or the whole id where two would share them."""


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

    text = json.dumps({"pattern": canon(pattern), "schedule": canon(schedule)}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=True)
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode()[:DIGEST_CHARS]


def parse_pattern(text: Any) -> Any:
    """EventBridge's ``EventPattern`` text as ``rule_digest`` reads it (unreadable text stays text)."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


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
    if not spec or " " in spec or "|" in spec:
        raise ValueError(f"unusable ARN spec {spec!r}")
    return spec


def encode_rules(rules: Mapping[str, tuple[Sequence[tuple[str, str]], str | None]], trail_name: str) -> str:
    """``{name: ([(target id, ARN spec), ...], digest)}`` as ``spec spec ...|entry,entry``: an
    entry is the name (``~x`` for ``<trail>-x``, ``^x`` and ``!x`` as ``RULE_FAMILIES`` says),
    ``=id@i+id@i`` unless the one target is ``Target0`` of spec 0 (``@i`` alone: ``Target0``),
    and ``#digest``. No rule: the empty text (the variable is then not read)."""
    if not rules:
        return ""
    table = _table([_check_spec(spec) for targets, _ in (rules[n] for n in sorted(rules)) for _, spec in targets])
    entries = []
    for name, (targets, digest) in sorted(rules.items()):
        entry = _short_rule_name(name, trail_name)
        pairs = sorted((target_id, table.index(spec)) for target_id, spec in targets)
        if pairs != [(DEFAULT_TARGET_ID, 0)]:
            entry += "=" + "+".join(f"{'' if target_id == DEFAULT_TARGET_ID else target_id}@{index}"
                                    for target_id, index in pairs)
        entries.append(entry + (f"#{digest}" if digest else ""))
    return " ".join(table) + "|" + ",".join(entries)


def _short_rule_name(name: str, trail_name: str) -> str:
    head = f"{trail_name}-"
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
    head = f"{context.trail_name}-"
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
            targets = tuple(sorted((target_id, context.arn(table[index])) for target_id, index in pairs))
        except (ValueError, IndexError):
            raise ValueError(f"unreadable rule entry {entry!r}") from None
        if short in ("", "~", *RULE_FAMILIES) or not all(t for t, _ in targets) or name in rules \
                or "#" in digest or (entry.count("#") and not digest):
            raise ValueError(f"unreadable rule entry {entry!r}")
        rules[name] = RuleExpectation(targets, digest or None)
    return rules


def alarm_keys(logical_ids: Sequence[str]) -> dict[str, str]:
    """Logical id -> how the environment names it: its last ``ALARM_KEY_CHARS`` characters,
    or the whole id where two ids share them."""
    tails = [i[-ALARM_KEY_CHARS:] for i in logical_ids]
    return {i: tail if tails.count(tail) == 1 else i for i, tail in zip(logical_ids, tails)}


def encode_alarms(alarms: Mapping[str, Sequence[Sequence[str]]]) -> str:
    """``{key: (alarm specs, OK specs, insufficient-data specs)}`` as ``spec ...|entry,entry``:
    an entry is the key, and ``=i+i/i/i`` unless the actions are spec 0 on alarm only. No
    alarm: the empty text."""
    if not alarms:
        return ""
    table = _table([_check_spec(s) for key in sorted(alarms) for kind in alarms[key] for s in kind])
    entries = []
    for key, kinds in sorted(alarms.items()):
        indexes = [sorted(table.index(s) for s in kind) for kind in kinds]
        entries.append(key if indexes == [[0], [], []] else
                       f"{key}=" + "/".join("+".join(map(str, kind)) for kind in indexes))
    return " ".join(table) + "|" + ",".join(entries)


def decode_alarms(text: str, context: ArnContext) -> dict[str, dict[str, tuple[str, ...]]]:
    """The inverse of ``encode_alarms``: key -> ``{ALARM_ACTIONS[i]: sorted ARNs}``."""
    table_text, bar, entries_text = text.partition("|")
    table = table_text.split(" ") if table_text else []
    if not bar or not all(table) or not entries_text:
        raise ValueError(f"no ARN table before '|' or no alarm in {text[:80]!r}")
    alarms: dict[str, dict[str, tuple[str, ...]]] = {}
    for entry in entries_text.split(","):
        key, separator, actions = entry.partition("=")
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
        alarms[key] = expanded
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
