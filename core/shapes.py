"""An answer's shape: its keys and the types of its values, never the values themselves.

The call log keeps the shape of an answer a client could not read (core.errors.ContractDrift),
so that whoever looks at it sees *how* the provider answered without the log ever holding a
customer's data; `checkproviders` compares the shapes of read-only answers with what each client
expects. A list shows the shape of its items (those that differ are joined with `|`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 5
MAX_KEYS = 40
MAX_ITEMS_LOOKED_AT = 20
MAX_SHAPE_CHARS = 2000


def type_name(value: Any) -> str:
    """The JSON type of a value, with blank strings told apart (a blank often means "missing")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text" if value.strip() else "blank text"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def value_shape(value: Any, depth: int = 0) -> str:
    if isinstance(value, Mapping):
        if depth >= MAX_DEPTH:
            return "{…}"
        keys = sorted(map(str, value))[:MAX_KEYS]
        more = ", …" if len(value) > MAX_KEYS else ""
        inner = ", ".join(f"{key}: {value_shape(value.get(key), depth + 1)}" for key in keys)
        return "{" + inner + more + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        if depth >= MAX_DEPTH:
            return "[…]"
        shapes = dict.fromkeys(value_shape(item, depth + 1) for item in value[:MAX_ITEMS_LOOKED_AT])
        return f"[{' | '.join(shapes)}] ×{len(value)}"
    return type_name(value)


def answer_shape(body: Any, *, content_type: str = "", size: int | None = None) -> str:
    """The shape of a decoded answer; for a body that is not JSON, its type and size only."""
    if body is None and size:
        kind = (content_type or "unknown type").split(";")[0].strip()
        return f"not JSON ({kind}, {size} bytes)"
    return value_shape(body)[:MAX_SHAPE_CHARS]


# What a client expects of an object: field name → the JSON types it reads there.
Expected = Mapping[str, tuple[str, ...]]


def fields_differing(obj: Any, expected: Expected, *, where: str = "") -> list[str]:
    """The expected fields that `obj` lacks or holds with another type, each named with what
    was found ("data[].codice: missing", "id: list, expected number or text")."""
    prefix = f"{where}." if where else ""
    if not isinstance(obj, Mapping):
        return [f"{where or 'answer'}: {type_name(obj)}, expected object"]
    differing = []
    for name, types in expected.items():
        if name not in obj:
            differing.append(f"{prefix}{name}: missing")
            continue
        found = type_name(obj[name])
        if found not in types:
            differing.append(f"{prefix}{name}: {found}, expected {' or '.join(types)}")
    return differing


def items_differing(items: Any, expected: Expected, *, where: str) -> list[str]:
    """`fields_differing` over the first items of a list, each difference named once."""
    if not isinstance(items, list | tuple):
        return [f"{where}: {type_name(items)}, expected list"]
    seen: dict[str, None] = {}
    for item in items[:MAX_ITEMS_LOOKED_AT]:
        seen.update(dict.fromkeys(fields_differing(item, expected, where=f"{where}[]")))
    return list(seen)
