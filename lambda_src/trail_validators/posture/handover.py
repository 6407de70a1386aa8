"""Handed-over policy statements, checked against a live policy (pure, no boto3).

A part the stack does not own (a bucket, key, topic or log group brought in) cannot have its
policy edited by the stack; the statements CloudTrail and the validators need there are
handed over to its owner. ``check_handover`` says, for one part, which of them are missing.

A live statement covers an expected one when it has the same effect and, for every other
field, at least what the expected one grants: every expected action, resource and principal
is present (or the live field is ``*``), and every expected condition is present with the
same values, and no other condition narrows it. An expected Allow is not in place either when
a live Deny may apply to it (same principal, action and resource, by IAM's wildcards) with no
condition, or one that no handed-over Deny has (such as the TLS deny): a Deny wins. A live
policy that cannot be read or parsed is ``handover_unverifiable``, never taken as in place.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any, Mapping, Sequence

from ..contract import PostureKind
from ..findings import Finding, Severity


def _as_set(value: Any) -> frozenset[str] | None:
    if isinstance(value, str):
        return frozenset([value])
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    return None


def _field_covers(live: Any, expected: Any) -> bool:
    want = _as_set(expected)
    have = _as_set(live)
    if want is None or have is None:
        return False
    return "*" in have or want <= have


def _principal_covers(live: Any, expected: Any) -> bool:
    if live == "*" or live == expected:
        return True
    if not isinstance(live, Mapping) or not isinstance(expected, Mapping):
        return False
    if live.get("AWS") == "*":
        return True
    return all(_field_covers(live.get(kind), values) for kind, values in expected.items())


def _condition_covers(live: Any, expected: Any) -> bool:
    if not live:
        return not expected
    if not isinstance(live, Mapping) or not isinstance(expected or {}, Mapping):
        return False
    expected = expected or {}
    for operator, keys in live.items():  # a live condition the expected one lacks narrows the grant
        if not isinstance(keys, Mapping) or not isinstance(expected.get(operator), Mapping) \
                or not set(keys) <= set(expected[operator]):
            return False
    for operator, keys in expected.items():
        live_keys = live.get(operator)
        if not isinstance(keys, Mapping) or not isinstance(live_keys, Mapping):
            return False
        for key, value in keys.items():
            if _as_set(live_keys.get(key)) != _as_set(value) or _as_set(value) is None:
                return False
    return True


def statement_covers(live: Any, expected: Mapping[str, Any]) -> bool:
    """True when one live statement grants (or denies) at least what ``expected`` does."""
    if not isinstance(live, Mapping) or live.get("Effect") != expected.get("Effect"):
        return False
    for name in ("Action", "Resource"):
        if name in expected and not _field_covers(live.get(name), expected[name]):
            return False
    if "Principal" in expected and not _principal_covers(live.get("Principal"), expected["Principal"]):
        return False
    return _condition_covers(live.get("Condition"), expected.get("Condition"))


def _may_match(patterns: Any, values: Any, *, fold: bool = False) -> bool:
    """Some value of ``values`` may be matched by a pattern of ``patterns`` (IAM's ``*`` and
    ``?``); anything unreadable may."""
    have, want = _as_set(patterns), _as_set(values)
    if have is None or want is None:
        return True
    norm = str.casefold if fold else (lambda v: v)
    return any(fnmatchcase(norm(v), norm(p)) for p in have for v in want)


def _deny_applies(deny: Mapping[str, Any], allow: Mapping[str, Any]) -> bool:
    """A live Deny that may refuse what the expected Allow grants (unreadable: it may)."""
    for name, fold in (("Action", True), ("Resource", False)):
        if f"Not{name}" in deny:
            if _as_set(allow.get(name)) is not None and all(
                    _may_match(deny[f"Not{name}"], v, fold=fold) for v in _as_set(allow.get(name)) or ()):
                return False
        elif name in deny and name in allow and not _may_match(deny[name], allow[name], fold=fold):
            return False
    if "NotPrincipal" in deny or "Principal" not in allow:
        return True
    principal, wanted = deny.get("Principal"), allow["Principal"]
    if principal == "*" or not isinstance(principal, Mapping) or not isinstance(wanted, Mapping):
        return True
    return any(_may_match(principal.get(kind), values) for kind, values in wanted.items() if kind in principal) \
        or "*" in (_as_set(principal.get("AWS")) or ())


def _overriding_deny(statements: Sequence[Any], allow: Mapping[str, Any],
                     expected: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The live Deny that overrides ``allow``, or None. A Deny whose condition is that of a
    handed-over Deny (the TLS deny) refuses only what the handover refuses itself."""
    handed = [s.get("Condition") for s in expected if s.get("Effect") == "Deny" and s.get("Condition")]
    for live in statements:
        if isinstance(live, Mapping) and live.get("Effect") != "Allow" and _deny_applies(live, allow) \
                and not (live.get("Condition") and live.get("Condition") in handed):
            return live
    return None


def check_handover(part: str, live_policy: str | Mapping[str, Any] | None,
                   expected: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Findings for one brought-in ``part``: one per expected statement not in ``live_policy``."""
    policy: Any = live_policy
    if isinstance(live_policy, str):
        try:
            policy = json.loads(live_policy)
        except ValueError:
            policy = None
    statements = policy.get("Statement") if isinstance(policy, Mapping) else None
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        return [Finding(PostureKind.HANDOVER_UNVERIFIABLE, Severity.HIGH,
                        f"The policy of {part} could not be read or parsed: the statements handed over to its "
                        "owner cannot be verified.", keys=(part,), details={"part": part})]
    findings = []
    for wanted in expected:
        deny = _overriding_deny(statements, wanted, expected) if wanted.get("Effect") == "Allow" else None
        if deny is not None or not any(statement_covers(live, wanted) for live in statements):
            lacks = (f"has a Deny ({_cut_sid(deny)}) that overrides a statement handed over to its owner"
                     if deny is not None else "lacks a statement handed over to its owner")
            findings.append(Finding(
                PostureKind.HANDOVER_STATEMENT_MISSING, Severity.HIGH,
                f"The policy of {part} {lacks}"
                f" ({wanted.get('Sid', 'unnamed')}): CloudTrail or a validator may be denied there.",
                keys=(part, str(wanted.get("Sid", ""))), details={"part": part, "statement": dict(wanted)}))
    return findings


def _cut_sid(statement: Mapping[str, Any]) -> str:
    sid = statement.get("Sid")
    return sid[:128] if isinstance(sid, str) and sid else "unnamed"


def handover_findings(checks: Sequence[tuple[str, str, Sequence[Mapping[str, Any]]]],
                      policies: Mapping[str, str | None]) -> list[Finding]:
    """``check_handover`` for each ``(part, resource, statements)`` of ``contract.handover
    .handover_checks``, on ``policies`` (resource → the live policy read, None: unreadable)."""
    return [finding for _, resource, expected in checks
            for finding in check_handover(resource, policies.get(resource), expected)]
