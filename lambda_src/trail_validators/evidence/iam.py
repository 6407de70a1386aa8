"""Policy statements evaluated as IAM evaluates them.

A statement applies only when every condition in it holds (operators and keys are ANDed;
the values listed for one key are ORed). A deny counts as "the deny" of a control only
when each of its conditions is one this module models as matching the requests the control
is about: an extra condition on another key narrows it, a contradictory one (``StringEquals
aws:SecureTransport never``, ``Null aws:SecureTransport true``, ``NumericGreaterThan
s3:TlsVersion 9``) makes it never match, and ``Not*`` elements, ``...IfExists`` and unknown
operators are not modelled, so each of those is "not the deny", with the reason.
"""

from __future__ import annotations

from typing import Any

NOT_ELEMENTS = ("NotPrincipal", "NotAction", "NotResource")


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower() == str(b).lower()
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()


def deny_matches(statement: dict[str, Any], key: str, operators: tuple[str, ...], values: tuple) -> str | None:
    """``None`` when the statement's conditions select exactly the requests where ``key``
    is one of ``values`` under one of ``operators``; else why the statement is not that deny."""
    for element in NOT_ELEMENTS:
        if element in statement:
            return f"the statement uses {element}, which this check does not model"
    block = statement.get("Condition")
    if not isinstance(block, dict) or not block:
        return f"the statement has no condition on {key}"
    matched = False
    for operator, entries in block.items():
        if not isinstance(entries, dict) or not entries:
            return f"condition operator {operator!r} has no key/value object"
        for name, value in entries.items():
            if not isinstance(name, str) or name.lower() != key.lower():
                return f"the condition {operator} {name} narrows the deny below every request on {key}"
            if operator not in operators:
                return (f"the condition {operator} {name} {value!r} is not one this check models as matching "
                        f"the requests it must deny ({' or '.join(operators)} {values[0]!r})")
            if not any(_same(item, wanted) for item in _values(value) for wanted in values):
                return f"the condition {operator} {name} {value!r} never matches the requests it must deny"
            matched = True
    return None if matched else f"the statement has no condition on {key}"
