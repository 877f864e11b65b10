"""What every converter shares: Node (a JSON Schema and its converter), ArgumentError, and
the converters of JSON scalars (int, float, str, bool, null, base64 bytes, date-time, UUID)."""
from __future__ import annotations

import base64
import json
from typing import Any, Callable

_NoneType = type(None)


class ArgumentError(ValueError):
    """A JSON value does not fit the annotation. `path` says where (e.g. "items[2].name")."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message


class Node:
    """One annotation compiled: its JSON Schema and its converter."""

    __slots__ = ("schema", "convert", "is_object")

    def __init__(self, schema: dict, convert: Callable[[Any, str], Any]):
        self.schema = schema
        self.convert = convert
        self.is_object = schema.get("type") == "object"


def describe(value: Any) -> str:
    """A short description of a JSON value for error messages."""
    kind = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)
    text = json.dumps(value, default=str) if not isinstance(value, (dict, list)) else ""
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{kind} {text}".strip()


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _identity(value: Any, path: str) -> Any:
    return value


# ---------------------------------------------------------------- scalars

def _conv_int(value: Any, path: str) -> int:
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ArgumentError(path, f"expected an integer, got {describe(value)}")


def _conv_float(value: Any, path: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ArgumentError(path, f"expected a number, got {describe(value)}")


def _conv_str(value: Any, path: str) -> str:
    if isinstance(value, str):
        return value
    raise ArgumentError(path, f"expected a string, got {describe(value)}")


def _conv_bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ArgumentError(path, f"expected true or false, got {describe(value)}")


def _conv_none(value: Any, path: str) -> None:
    if value is None:
        return None
    raise ArgumentError(path, f"expected null, got {describe(value)}")


def _conv_bytes(value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        raise ArgumentError(path, f"expected a base64 string, got {describe(value)}")
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raise ArgumentError(path, "expected base64 data") from None


def _string_parser(kind: str, parse: Callable[[str], Any]) -> Callable[[Any, str], Any]:
    def convert(value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise ArgumentError(path, f"expected a {kind} string, got {describe(value)}")
        try:
            return parse(value)
        except (ValueError, TypeError):
            raise ArgumentError(path, f"expected a {kind} string, got {describe(value)}") from None
    return convert


def _json_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return None
