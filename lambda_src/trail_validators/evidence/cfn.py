"""CloudFormation as the checks must read it: whether a resource is provably created,
Booleans in every form CloudFormation accepts, and policy documents as object or JSON text.

Anything this module cannot decide from the template alone (a parameter, whose default a
deploy may override; an intrinsic where a literal is needed) is *undecided*, and a check
treats undecided as "not satisfied": satisfied is earned, never assumed. A resource whose
Condition is undecided is not there for what it would satisfy, and is there for what it
would break (a second policy, a grant).
"""

from __future__ import annotations

import json
from typing import Any

from .assembly import Stack

TRUE_FORMS = {"true"}
FALSE_FORMS = {"false"}


def boolean(value: Any) -> bool | None:
    """``True``/``False`` for every form CloudFormation accepts for a Boolean (``true``,
    ``"true"``, ``"True"``, ``"TRUE"``...), ``None`` for anything else (an intrinsic, a number)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        return True if lowered in TRUE_FORMS else False if lowered in FALSE_FORMS else None
    return None


def integer(value: Any) -> int | None:
    """An Integer property in every form CloudFormation accepts (``365`` or ``"365"``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    function = next(iter(value))
    return function in ("Ref", "Condition") or str(function).startswith("Fn::")


def document(value: Any) -> Any:
    """A policy document as an object: CloudFormation also accepts it as JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _literal(stack: Stack, value: Any) -> tuple[bool, Any]:
    """``(known, value)`` of a condition operand: a literal, or ``Ref`` to a parameter whose
    ``AllowedValues`` admit one value only. A parameter's ``Default`` decides nothing: a
    deploy may pass another value."""
    if isinstance(value, (str, int, float, bool)):
        return True, str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("Ref"), str):
        parameter = stack.parameters.get(value["Ref"])
        allowed = parameter.get("AllowedValues") if isinstance(parameter, dict) else None
        if isinstance(allowed, list) and len(allowed) == 1:
            return _literal(stack, allowed[0])
    return False, None


def condition_value(stack: Stack, expression: Any, seen: frozenset[str] = frozenset()) -> bool | None:
    """The truth of a condition expression (``Fn::Equals``/``And``/``Or``/``Not``, or a
    ``{"Condition": name}``) over literals; ``None`` when undecided."""
    if isinstance(expression, bool):
        return expression
    if not isinstance(expression, dict) or len(expression) != 1:
        return None
    (function, operand), = expression.items()
    if function == "Condition":
        return named_condition(stack, operand, seen)
    if not isinstance(operand, list):
        return None
    if function == "Fn::Equals":
        if len(operand) != 2:
            return None
        (known_a, a), (known_b, b) = _literal(stack, operand[0]), _literal(stack, operand[1])
        return a == b if known_a and known_b else None
    values = [condition_value(stack, item, seen) for item in operand]
    if function == "Fn::Not":
        return None if len(values) != 1 or values[0] is None else not values[0]
    if function == "Fn::And":
        return False if False in values else None if None in values or not values else True
    if function == "Fn::Or":
        return True if True in values else None if None in values or not values else False
    return None


def named_condition(stack: Stack, name: Any, seen: frozenset[str] = frozenset()) -> bool | None:
    if not isinstance(name, str) or name in seen or name not in stack.conditions:
        return None
    return condition_value(stack, stack.conditions[name], seen | {name})


def presence(stack: Stack, body: Any) -> tuple[bool, str]:
    """``(provably created, why not)`` of a resource body: one without ``Condition`` is
    created; one with a ``Condition`` only when that condition is provably true."""
    if not isinstance(body, dict) or "Condition" not in body:
        return True, ""
    truth = named_condition(stack, body["Condition"])
    if truth is True:
        return True, ""
    return False, (f"its Condition {body['Condition']!r} is false" if truth is False
                   else f"its Condition {body['Condition']!r} cannot be proven true from the template")


def possibly_present(stack: Stack, body: Any) -> bool:
    """CloudFormation may create the resource: no ``Condition``, or one not provably false."""
    if not isinstance(body, dict) or "Condition" not in body:
        return True
    return named_condition(stack, body["Condition"]) is not False
