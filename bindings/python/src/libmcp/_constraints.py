"""Annotated[T, ...] metadata: a str, or an object with .description / .title, gives the
schema's description / title; annotated-types style constraints (ge, gt, le, lt,
multiple_of, min_length, max_length, pattern; also inside a pydantic FieldInfo) go
into the schema and are checked after conversion."""
from __future__ import annotations

import re
from typing import Any, Callable

from ._nodes import ArgumentError, Node


_CONSTRAINTS = {
    "ge": ("minimum", lambda v, c: v >= c, "at least"),
    "gt": ("exclusiveMinimum", lambda v, c: v > c, "greater than"),
    "le": ("maximum", lambda v, c: v <= c, "at most"),
    "lt": ("exclusiveMaximum", lambda v, c: v < c, "less than"),
    "multiple_of": ("multipleOf", lambda v, c: (v % c) == 0, "a multiple of"),
}


def _apply_metadata(node: Node, metadata: tuple) -> Node:
    """Annotated[T, ...]: descriptions, titles and simple constraints."""
    schema = dict(node.schema)
    checks: list[Callable[[Any, str], None]] = []

    def add_constraint(obj: Any) -> None:
        for attr, (key, ok, words) in _CONSTRAINTS.items():
            bound = getattr(obj, attr, None)
            if bound is None or isinstance(bound, bool) or not isinstance(bound, (int, float)):
                continue
            schema[key] = bound

            def check(value: Any, path: str, bound=bound, ok=ok, words=words) -> None:
                if isinstance(value, (int, float)) and not ok(value, bound):
                    raise ArgumentError(path, f"must be {words} {bound}, got {value}")
            checks.append(check)
        for attr, sign in (("min_length", 1), ("max_length", -1)):
            bound = getattr(obj, attr, None)
            if not isinstance(bound, int) or isinstance(bound, bool):
                continue
            kind = schema.get("type")
            key = {"string": "Length", "array": "Items", "object": "Properties"}.get(kind, "Length")
            schema[("min" if sign > 0 else "max") + key] = bound

            def check(value: Any, path: str, bound=bound, sign=sign) -> None:
                if isinstance(value, (str, list, tuple, set, frozenset, dict)):
                    n = len(value)
                    if (sign > 0 and n < bound) or (sign < 0 and n > bound):
                        word = "at least" if sign > 0 else "at most"
                        raise ArgumentError(path, f"length must be {word} {bound}, got {n}")
            checks.append(check)
        pattern = getattr(obj, "pattern", None)
        if isinstance(pattern, str):
            schema["pattern"] = pattern
            rx = re.compile(pattern)

            def check(value: Any, path: str, rx=rx, pattern=pattern) -> None:
                if isinstance(value, str) and not rx.search(value):
                    raise ArgumentError(path, f"must match {pattern!r}")
            checks.append(check)

    for meta in metadata:
        if isinstance(meta, str):
            schema["description"] = meta
            continue
        description = getattr(meta, "description", None)
        if isinstance(description, str):
            schema["description"] = description
        title = getattr(meta, "title", None)
        if isinstance(title, str):
            schema["title"] = title
        add_constraint(meta)
        for inner in getattr(meta, "metadata", None) or ():  # pydantic FieldInfo
            add_constraint(inner)

    if not checks:
        return Node(schema, node.convert)
    base = node.convert

    def convert(value: Any, path: str) -> Any:
        out = base(value, path)
        for check in checks:
            check(out, path)
        return out
    return Node(schema, convert)
