"""Finding resources and following references in the assembly's templates.

A reference is followed the way CloudFormation resolves it inside one stack (``Ref``,
``Fn::GetAtt``), and across stacks by the name it spells out (the organization shape joins
its two stacks by derived names, never by exports): a bucket name, or an ARN ending in a
topic, log group or alias name. Anything else is not followed, so a check reports it as
not found rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Any, Callable, Iterator

from .assembly import Assembly, Stack
from .cfn import document as as_document
from .cfn import is_intrinsic, possibly_present, presence

NAME_PROPERTY = {"AWS::S3::Bucket": "BucketName", "AWS::SNS::Topic": "TopicName",
                 "AWS::Logs::LogGroup": "LogGroupName", "AWS::KMS::Alias": "AliasName",
                 "AWS::Lambda::Function": "FunctionName"}


@dataclass(frozen=True, eq=False)
class Resource:
    stack: Stack
    logical_id: str

    @property
    def key(self) -> tuple[str, str]:
        return self.stack.name, self.logical_id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Resource) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def body(self) -> dict[str, Any]:
        return self.stack.resources[self.logical_id]

    @property
    def type(self) -> str:
        kind = self.body.get("Type")
        return kind if isinstance(kind, str) else ""

    @property
    def properties(self) -> dict[str, Any]:
        properties = self.body.get("Properties")
        return properties if isinstance(properties, dict) else {}

    def get(self, path: str) -> tuple[bool, Any]:
        """``(present, value)`` of a dotted property path (``a.b[0].c``) under Properties,
        or of a top-level attribute when the path starts with ``@`` (``@DeletionPolicy``).
        An intrinsic function on the way (``Fn::If`` around a whole configuration) is
        returned as the value, present: what it holds is not known, not absent."""
        if path.startswith("@"):
            return (path[1:] in self.body, self.body.get(path[1:]))
        value: Any = self.properties
        for part in _parts(path):
            if is_intrinsic(value):
                return True, value
            if isinstance(part, int):
                if not isinstance(value, list) or part >= len(value):
                    return False, None
            elif not isinstance(value, dict) or part not in value:
                return False, None
            value = value[part]
        return True, value

    def value(self, path: str) -> Any:
        return self.get(path)[1]

    @property
    def name(self) -> str | None:
        """The physical name as the template spells it (``${AWS::AccountId}`` for pseudo
        parameters), or None."""
        prop = NAME_PROPERTY.get(self.type)
        return flatten(self.properties.get(prop)) if prop else None


def _parts(path: str) -> Iterator[str | int]:
    for part in path.split("."):
        name, _, rest = part.partition("[")
        if name:
            yield name
        while rest:
            index, _, rest = rest.partition("]")
            yield int(index)
            rest = rest.lstrip("[")


def cached(assembly: Assembly, key: Any, build: Callable[[], Any]) -> Any:
    if key not in assembly.indexes:
        assembly.indexes[key] = build()
    return assembly.indexes[key]


def _by_type(assembly: Assembly, possibly: bool) -> dict[Any, list[Resource]]:
    found: dict[Any, list[Resource]] = {}
    for stack in assembly.stacks:
        for logical_id, body in stack.resources.items():
            if not (possibly_present(stack, body) if possibly else presence(stack, body)[0]):
                continue  # a resource CloudFormation may never create satisfies nothing
            kind = body.get("Type")
            found.setdefault(kind if isinstance(kind, str) else "", []).append(Resource(stack, logical_id))
    return found


def resources(assembly: Assembly, *types: str, possibly: bool = False) -> list[Resource]:
    """The resources of ``types`` CloudFormation provably creates; with ``possibly``, also
    those whose Condition is undecided (for what they could break: a second policy, a grant)."""
    index = cached(assembly, ("by_type", possibly), lambda: _by_type(assembly, possibly))
    return [resource for kind in dict.fromkeys(types) for resource in index.get(kind, [])] if types else \
        [resource for group in index.values() for resource in group]


def _by_name(assembly: Assembly, resource_type: str) -> dict[str, Resource | None]:
    """Resources by physical name; a name two resources claim maps to None, so that a decoy
    in another stack can never stand in for the resource a reference means."""
    found: dict[str, Resource | None] = {}
    for resource in resources(assembly, resource_type):
        if resource.name:
            found[resource.name] = None if resource.name in found else resource
    return found


def _name_candidates(spelled: str) -> list[str]:
    """The names an ARN or name may end in (none of these types' names holds a colon)."""
    trimmed = spelled[:-2] if spelled.endswith(":*") else spelled
    return [spelled, trimmed.rsplit(":", 1)[-1]]


SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def flatten(value: Any) -> str | None:
    """A string, or an ``Fn::Join`` / ``Fn::Sub`` of strings, pseudo parameters and ``GetAtt``
    as one string (``${AWS::AccountId}``, ``${Bucket.Arn}``); else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        sub = value.get("Fn::Sub")
        if isinstance(sub, str) and all(name.startswith("AWS::") or "." in name
                                        for name in SUB_VARIABLE.findall(sub)):
            return sub
        if isinstance(value.get("Ref"), str) and value["Ref"].startswith("AWS::"):
            return "${" + value["Ref"] + "}"
        if isinstance(value.get("Fn::GetAtt"), list) and len(value["Fn::GetAtt"]) == 2 \
                and all(isinstance(part, str) for part in value["Fn::GetAtt"]):
            return "${" + ".".join(value["Fn::GetAtt"]) + "}"
        join = value.get("Fn::Join")
        if isinstance(join, list) and len(join) == 2 and isinstance(join[0], str) and isinstance(join[1], list):
            parts = [flatten(part) for part in join[1]]
            if all(part is not None for part in parts):
                return join[0].join(parts)  # type: ignore[arg-type]
    return None


def referenced(assembly: Assembly, origin: Stack, value: Any, *types: str) -> Resource | None:
    """The resource of one of ``types`` that ``value`` (written in stack ``origin``) names."""
    if isinstance(value, dict) and len(value) == 1:
        target = value.get("Ref")
        if target is None and isinstance(value.get("Fn::GetAtt"), list) and value["Fn::GetAtt"]:
            target = value["Fn::GetAtt"][0]
        if isinstance(target, str) and target in origin.resources:
            found = Resource(origin, target)
            return found if found.type in types and presence(origin, found.body)[0] else None
    spelled = flatten(value)
    if not spelled:
        return None
    for resource_type in types:
        names = cached(assembly, ("by_name", resource_type), lambda: _by_name(assembly, resource_type))
        for name in _name_candidates(spelled):
            if name in names:
                return names[name]
    return None


def referring(assembly: Assembly, target: Resource, resource_type: str, path: str,
              possibly: bool = False) -> list[Resource]:
    """Resources of ``resource_type`` whose property ``path`` (or any item of it, when it
    is a list) names ``target`` (with ``possibly``, also those whose Condition is undecided)."""
    def build() -> dict[tuple[str, str], list[Resource]]:
        found: dict[tuple[str, str], list[Resource]] = {}
        for candidate in resources(assembly, resource_type, possibly=possibly):
            value = candidate.value(path)
            named = {referenced(assembly, candidate.stack, item, target.type)
                     for item in (value if isinstance(value, list) else [value])}
            for resource in named - {None}:
                found.setdefault(resource.key, []).append(candidate)  # type: ignore[union-attr]
        return found
    index = cached(assembly, ("referring", resource_type, path, target.type, possibly), build)
    return index.get(target.key, [])


def unresolved(assembly: Assembly, resource_type: str, path: str, target_type: str) -> list[Resource]:
    """Resources of ``resource_type`` (possibly created) whose ``path`` holds an item that
    names no resource of ``target_type`` and is no literal name either (a parameter,
    ``Fn::ImportValue``, ``Fn::If``...): it may attach to any of them."""
    def build() -> list[Resource]:
        found = []
        for candidate in resources(assembly, resource_type, possibly=True):
            value = candidate.value(path)
            if any(referenced(assembly, candidate.stack, item, target_type) is None and flatten(item) is None
                   for item in (value if isinstance(value, list) else [value])):
                found.append(candidate)
        return found
    return cached(assembly, ("unresolved", resource_type, path, target_type), build)


def statements(document: Any) -> list[Any]:
    """A policy document's statements (a single statement object counts as a list of one)."""
    document = as_document(document)
    body = document.get("Statement") if isinstance(document, dict) else None
    return body if isinstance(body, list) else [body] if isinstance(body, dict) else []


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def service_principals(statement: Any) -> list[str]:
    principal = statement.get("Principal") if isinstance(statement, dict) else None
    return [item for item in as_list(principal.get("Service")) if isinstance(item, str)] \
        if isinstance(principal, dict) else []


def is_everyone(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    return principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS")))


def conditions(statement: dict[str, Any], key: str) -> list[tuple[str, Any]]:
    """``(operator, value)`` for each condition on ``key`` (keys compare case-insensitively, as in IAM)."""
    block = statement.get("Condition")
    found = []
    if isinstance(block, dict):
        for operator, entries in block.items():
            if isinstance(entries, dict):
                found.extend((operator, value) for name, value in entries.items()
                             if isinstance(name, str) and name.lower() == key.lower())
    return found


def conditions_only_on(statement: dict[str, Any], key: str) -> bool:
    """The statement's only condition key is ``key``: any other narrows a deny (to one
    account, one address...) below everyone."""
    block = statement.get("Condition")
    return isinstance(block, dict) and all(
        isinstance(entries, dict) and all(isinstance(name, str) and name.lower() == key.lower() for name in entries)
        for entries in block.values())


def actions(statement: dict[str, Any]) -> list[str]:
    return [item for item in as_list(statement.get("Action")) if isinstance(item, str)]
