"""Evaluates CloudWatch Logs JSON filter patterns on a parsed event, so that detection tags
match exactly what the CIS metric filters (``monitoring_controls``) count.

The subset AWS uses in those patterns: ``{ ... }``, ``&&``, ``||``, parentheses, selectors
``$.a.b``, ``=`` and ``!=`` against a quoted or bare value (``*`` is a wildcard), and
``NOT EXISTS`` / ``EXISTS`` / ``IS NULL``. Anything else is a ``PatternError`` at import time
(a test compiles every pattern of the table), never a silent mismatch.

As in CloudWatch Logs, a comparison on a field the event lacks is false (``!=`` too), and
only a scalar can equal a value (``true`` is compared as its JSON text).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Union

_TOKEN = re.compile(r'\s*(?:(\{|\}|\(|\)|&&|\|\||!=|=)|"((?:[^"\\]|\\.)*)"|(NOT\s+EXISTS|EXISTS|IS\s+NULL)\b'
                    r'|(\$(?:\.[A-Za-z0-9_@-]+)+)|([^\s(){}&|=!"]+))')
_MISSING = object()


class PatternError(ValueError):
    """A filter pattern outside the subset this evaluator understands."""


@dataclass(frozen=True)
class Comparison:
    path: tuple[str, ...]
    operator: str  # "=", "!=", "exists", "not exists", "is null"
    value: str = ""

    def __call__(self, event: Any) -> bool:
        found = _lookup(event, self.path)
        if self.operator == "not exists":
            return found is _MISSING
        if self.operator == "exists":
            return found is not _MISSING
        if self.operator == "is null":
            return found is None
        if found is _MISSING or isinstance(found, (dict, list)):
            return False
        text = found if isinstance(found, str) else json.dumps(found)
        matched = _wildcard(self.value).fullmatch(text) is not None if "*" in self.value else text == self.value
        return matched if self.operator == "=" else not matched


@dataclass(frozen=True)
class Both:
    left: "Condition"
    right: "Condition"

    def __call__(self, event: Any) -> bool:
        return self.left(event) and self.right(event)


@dataclass(frozen=True)
class Either:
    left: "Condition"
    right: "Condition"

    def __call__(self, event: Any) -> bool:
        return self.left(event) or self.right(event)


@dataclass(frozen=True)
class OneOf:
    """``($.p = a) || ($.p = b) || ...`` without wildcards: one set lookup."""

    path: tuple[str, ...]
    values: frozenset[str]

    def __call__(self, event: Any) -> bool:
        found = _lookup(event, self.path)
        if found is _MISSING or isinstance(found, (dict, list)):
            return False
        return (found if isinstance(found, str) else json.dumps(found)) in self.values


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple["Condition", ...]

    def __call__(self, event: Any) -> bool:
        return any(condition(event) for condition in self.conditions)


Condition = Union[Comparison, Both, Either, OneOf, AnyOf]


def compile_pattern(pattern: str) -> Callable[[Any], bool]:
    """The pattern as a predicate on a parsed JSON event."""
    tokens = _tokenize(pattern)
    if len(tokens) < 2 or tokens[0] != ("op", "{") or tokens[-1] != ("op", "}"):
        raise PatternError(f"{pattern!r}: a JSON filter pattern is enclosed in {{ }}")
    parser = _Parser(tokens[1:-1], pattern)
    condition = parser.expression()
    if parser.position != len(parser.tokens):
        raise PatternError(f"{pattern!r}: unexpected {parser.tokens[parser.position][1]!r}")
    return _simplified(condition)


def _simplified(condition: Condition) -> Condition:
    """The same predicate, faster: a disjunction of exact matches on one field becomes a
    set lookup (the CIS patterns are mostly lists of event names)."""
    if isinstance(condition, Both):
        return Both(_simplified(condition.left), _simplified(condition.right))
    if not isinstance(condition, Either):
        return condition
    alternatives: list[Condition] = []
    pending = [condition]
    while pending:
        node = pending.pop()
        if isinstance(node, Either):
            pending.extend((node.right, node.left))
        else:
            alternatives.append(_simplified(node))
    exact: dict[tuple[str, ...], set[str]] = {}
    rest: list[Condition] = []
    for alternative in alternatives:
        if isinstance(alternative, Comparison) and alternative.operator == "=" and "*" not in alternative.value:
            exact.setdefault(alternative.path, set()).add(alternative.value)
        else:
            rest.append(alternative)
    merged = [OneOf(path, frozenset(values)) for path, values in exact.items()] + rest
    return merged[0] if len(merged) == 1 else AnyOf(tuple(merged))


def _tokenize(pattern: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(pattern):
        if pattern[position:].strip() == "":
            break
        match = _TOKEN.match(pattern, position)
        if match is None:
            raise PatternError(f"{pattern!r}: cannot read from {pattern[position:position + 20]!r}")
        operator, quoted, keyword, selector, bare = match.groups()
        if operator:
            tokens.append(("op", operator))
        elif quoted is not None:
            tokens.append(("value", quoted.replace('\\"', '"')))
        elif keyword:
            tokens.append(("keyword", " ".join(keyword.split())))
        elif selector:
            tokens.append(("selector", selector))
        else:
            tokens.append(("value", bare))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], pattern: str) -> None:
        self.tokens, self.pattern, self.position = tokens, pattern, 0

    def expression(self) -> Condition:
        condition = self.conjunction()
        while self._take("op", "||"):
            condition = Either(condition, self.conjunction())
        return condition

    def conjunction(self) -> Condition:
        condition = self.term()
        while self._take("op", "&&"):
            condition = Both(condition, self.term())
        return condition

    def term(self) -> Condition:
        if self._take("op", "("):
            condition = self.expression()
            if not self._take("op", ")"):
                raise PatternError(f"{self.pattern!r}: a parenthesis is not closed")
            return condition
        kind, selector = self._next()
        if kind != "selector":
            raise PatternError(f"{self.pattern!r}: expected a $. selector, found {selector!r}")
        path = tuple(selector.split(".")[1:])
        kind, word = self._next()
        if kind == "keyword":
            return Comparison(path, word.lower())
        if kind != "op" or word not in ("=", "!="):
            raise PatternError(f"{self.pattern!r}: only =, !=, EXISTS, NOT EXISTS and IS NULL are supported")
        value_kind, value = self._next()
        if value_kind != "value":
            raise PatternError(f"{self.pattern!r}: expected a value after {word}")
        return Comparison(path, word, value)

    def _take(self, kind: str, text: str) -> bool:
        if self.position < len(self.tokens) and self.tokens[self.position] == (kind, text):
            self.position += 1
            return True
        return False

    def _next(self) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise PatternError(f"{self.pattern!r}: ends too early")
        token = self.tokens[self.position]
        self.position += 1
        return token


@lru_cache(maxsize=256)
def _wildcard(value: str) -> re.Pattern[str]:
    """``*`` matches any run of characters; nothing else is special."""
    return re.compile(".*".join(re.escape(part) for part in value.split("*")), re.DOTALL)


def _lookup(event: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if not isinstance(event, dict) or name not in event:
            return _MISSING
        event = event[name]
    return event
