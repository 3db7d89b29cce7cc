"""The smallest JSON schema that still tells a model how to call a tool.

Pydantic's schemas are written for validators: titles, `anyOf: [X, null]` for every
optional field, `$defs`/`$ref`, length and range bounds. A model needs far less,
and on a CPU server every token of the tool list is prompt time (19 tools were
~4,200 tokens). Validation still happens against the full pydantic model, so
dropping bounds here loses nothing: a bad value comes back as a clear tool error.
"""

from __future__ import annotations

from typing import Any

_KEEP = ("type", "description", "enum", "const", "default", "items", "properties", "required")


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` (a pydantic model's JSON schema) without what a model does not need."""
    defs = schema.get("$defs", {})
    compact = _node(schema, defs)
    compact.setdefault("type", "object")
    compact.setdefault("properties", {})
    return compact


def _node(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        target = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
        return _node({**target, **{k: v for k, v in node.items() if k != "$ref"}}, defs)
    options = node.get("anyOf")
    if isinstance(options, list):
        real = [option for option in options if option != {"type": "null"}]
        if len(real) == 1:  # `X | None`: optional already, since it is not required
            merged = {**real[0], **{k: v for k, v in node.items() if k != "anyOf"}}
            return _node(merged, defs)
    out: dict[str, Any] = {}
    for key in _KEEP:
        if key not in node:
            continue
        value = node[key]
        if key == "default" and value is None:
            continue
        if key == "properties":
            value = {name: _node(body, defs) for name, body in value.items()}
        elif key == "items" and isinstance(value, dict):
            value = _node(value, defs)
        out[key] = value
    if "anyOf" in node and "type" not in out:
        out["anyOf"] = [_node(option, defs) for option in node["anyOf"]]
    return out
