"""A minimal evaluator of Deny statements: enough operators for the guardrail documents, and
an unknown operator fails the test rather than being skipped."""

from fnmatch import fnmatchcase


def _list(value):
    return value if isinstance(value, list) else [value]


def _match(patterns, value, *, case=True) -> bool:
    if case:
        return any(fnmatchcase(value, p) for p in _list(patterns))
    return any(fnmatchcase(value.lower(), p.lower()) for p in _list(patterns))


def _condition_holds(operator: str, key: str, expected, context: dict) -> bool:
    present = key in context
    if operator == "ArnNotLike":
        return not present or not _match(expected, context[key])
    if operator == "ForAnyValue:StringEquals":
        return present and any(v in _list(expected) for v in _list(context[key]))
    if operator == "BoolIfExists":
        return not present or str(context[key]).lower() == str(expected).lower()
    raise AssertionError(f"operator {operator} not known to the evaluator")


def denied(document: dict, action: str, resource: str, context: dict) -> bool:
    for statement in document["Statement"]:
        assert statement["Effect"] == "Deny"
        if not _match(statement["Action"], action, case=False) or not _match(statement["Resource"], resource):
            continue
        if all(_condition_holds(op, key, expected, context)
               for op, block in statement.get("Condition", {}).items() for key, expected in block.items()):
            return True
    return False
