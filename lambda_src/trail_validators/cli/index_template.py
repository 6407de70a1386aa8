"""The index template ``secure-trail analytics setup`` installs: the fields of ``schema``
with their types, everything else kept in ``_source`` only (``dynamic: false``). Pure."""

from __future__ import annotations

from typing import Any

from ..analytics.schema import KEYWORD, MAX_KEYWORD_CHARS, all_fields


def template_name(index_prefix: str) -> str:
    return f"{index_prefix}-secure-trail"


def index_template(index_prefix: str) -> dict[str, Any]:
    """The body of ``PUT _index_template/<name>`` for ``<prefix>-*`` (no shard settings:
    OpenSearch Serverless refuses them, and a domain's defaults suit daily indices)."""
    properties: dict[str, Any] = {}
    for path, kind in all_fields().items():
        *parents, leaf = path.split(".")
        node = properties
        for parent in parents:
            node = node.setdefault(parent, {"properties": {}})["properties"]
        node[leaf] = {"type": kind, "ignore_above": MAX_KEYWORD_CHARS} if kind == KEYWORD else {"type": kind}
    return {"index_patterns": [f"{index_prefix}-*"], "priority": 100,
            "template": {"mappings": {"dynamic": False, "properties": properties}},
            "_meta": {"managed_by": "secure-trail analytics setup"}}
