"""Python values -> JSON data (return values, defaults), and wire strings -> typed values."""
from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import enum
import json
import math
import uuid
from pathlib import PurePath
from typing import Any

from ._nodes import ArgumentError, Node

_NO_DEFAULT = object()


def _json_default(value: Any) -> Any:
    """A default as JSON for the schema, or _NO_DEFAULT when it has no JSON form."""
    try:
        out = to_jsonable(value)
        json.dumps(out, allow_nan=False)
        return out
    except (TypeError, ValueError):
        return _NO_DEFAULT


# ---------------------------------------------------------------- Python -> JSON

def to_jsonable(value: Any) -> Any:
    """A return value as plain JSON data (dict, list, str, int, float, bool, None)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} has no JSON form")
        return value
    if isinstance(value, dict):
        return {_key(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump") and not isinstance(value, type):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, PurePath)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot turn a {type(value).__name__} into JSON")


def _key(k: Any) -> str:
    if isinstance(k, str):
        return k
    if isinstance(k, enum.Enum):
        return str(k.value)
    if isinstance(k, (int, float, bool)) or k is None:
        return json.dumps(k)
    raise TypeError(f"cannot use a {type(k).__name__} as a JSON object key")


def from_string(node: Node, text: str, path: str) -> Any:
    """A value given as a string on the wire (prompt arguments, URI variables) for a typed parameter."""
    try:
        return node.convert(text, path)
    except ArgumentError as first:
        try:
            decoded = json.loads(text)
        except ValueError:
            raise first from None
        return node.convert(decoded, path)
