"""Python type hints -> JSON Schema, and JSON values -> Python values checked against them.

`TypeCompiler.node(tp)` turns one annotation into a `Node`: its JSON Schema and a
converter that takes a decoded JSON value and returns the Python value the
handler expects (an int, a dataclass instance, a pydantic model, ...) or raises
`ArgumentError` naming where and why. Nodes are built once, at registration, so a
call only runs the small converter functions.

Supported: int, float, str, bool, None, bytes (base64), datetime/date/time, UUID,
Any, list/Sequence/tuple/set/frozenset, dict/Mapping with str keys, Optional and
Union (also `X | Y`), Literal, Enum, TypedDict, dataclasses, NewType, Annotated
(a str or an object with .description gives the description; annotated-types
style constraints ge/gt/le/lt/min_length/max_length/multiple_of/pattern are
checked), and pydantic models when pydantic is installed.
"""
from __future__ import annotations

import collections.abc as cabc
import dataclasses
import datetime as _dt
import enum
import inspect
import json
import types
import typing
import uuid
from pathlib import PurePath
from typing import Any

from ._constraints import _apply_metadata
from ._jsonable import _NO_DEFAULT, _json_default, from_string, to_jsonable  # noqa: F401 - re-exported
from ._nodes import (  # noqa: F401 - re-exported
    ArgumentError, Node, _conv_bool, _conv_bytes, _conv_float, _conv_int, _conv_none, _conv_str, _identity, _join,
    _json_type, _NoneType, _string_parser, describe,
)

_SCALARS: dict[Any, Node] = {
    int: Node({"type": "integer"}, _conv_int),
    float: Node({"type": "number"}, _conv_float),
    str: Node({"type": "string"}, _conv_str),
    bool: Node({"type": "boolean"}, _conv_bool),
    _NoneType: Node({"type": "null"}, _conv_none),
    bytes: Node({"type": "string", "contentEncoding": "base64"}, _conv_bytes),
    _dt.datetime: Node({"type": "string", "format": "date-time"},
                       _string_parser("date-time", _dt.datetime.fromisoformat)),
    _dt.date: Node({"type": "string", "format": "date"}, _string_parser("date", _dt.date.fromisoformat)),
    _dt.time: Node({"type": "string", "format": "time"}, _string_parser("time", _dt.time.fromisoformat)),
    uuid.UUID: Node({"type": "string", "format": "uuid"}, _string_parser("UUID", uuid.UUID)),
    Any: Node({}, _identity),
    object: Node({}, _identity),
}


def _is_pydantic_model(tp: Any) -> bool:
    return isinstance(tp, type) and hasattr(tp, "model_json_schema") and hasattr(tp, "model_validate")


# ---------------------------------------------------------------- compiler

class TypeCompiler:
    """Compiles annotations for one feature; collects shared "$defs".

    mode "input" (arguments: unknown dataclass fields refused, schema says
    additionalProperties false) or "output" (return values: pydantic
    serialization schema, unknown keys tolerated).
    """

    def __init__(self, mode: str = "input", frame: Any = None):
        self.mode = mode
        self.frame = frame  # where forward references to locally defined classes resolve
        self.defs: dict[str, dict] = {}
        self._active: dict[type, str] = {}
        self._recursive: set[type] = set()
        self._done: dict[type, Node] = {}

    def attach_defs(self, schema: dict) -> dict:
        if self.defs:
            schema = dict(schema)
            schema["$defs"] = dict(self.defs)
        return schema

    def node(self, tp: Any, where: str) -> Node:
        try:
            return self._node(tp, where)
        except TypeError as e:
            if str(e).startswith(where):
                raise
            raise TypeError(f"{where}: {e}") from None

    def _node(self, tp: Any, where: str) -> Node:
        if tp is inspect.Parameter.empty:
            return _SCALARS[Any]
        if isinstance(tp, str):
            raise TypeError(f"unresolved forward reference {tp!r}")
        if _hashable(tp) and tp in _SCALARS:
            return _SCALARS[tp]
        if isinstance(tp, typing.NewType):
            return self._node(tp.__supertype__, where)
        if isinstance(tp, type) and issubclass(tp, PurePath):
            return Node({"type": "string"}, _string_parser("path", tp))
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            return _apply_metadata(self._node(args[0], where), tuple(tp.__metadata__))
        if origin is typing.Union or origin is types.UnionType:
            return self._union(args, where)
        if origin is typing.Literal:
            return self._literal(args)
        if tp in (list, tuple, set, frozenset) or origin in (list, set, frozenset, cabc.Sequence,
                                                           cabc.MutableSequence, cabc.Iterable,
                                                           cabc.Collection, cabc.Set, cabc.MutableSet):
            return self._sequence(origin or tp, args, where)
        if origin is tuple:
            return self._tuple(args, where)
        if tp is dict or origin in (dict, cabc.Mapping, cabc.MutableMapping):
            return self._mapping(args, where)
        if isinstance(tp, type):
            if issubclass(tp, enum.Enum):
                return self._enum(tp)
            if _is_pydantic_model(tp):
                return self._pydantic(tp)
            if typing.is_typeddict(tp) or dataclasses.is_dataclass(tp):
                return self._named(tp, where)
        raise TypeError(f"cannot map annotation {tp!r} to JSON Schema (use int, float, str, bool, list, "
                        f"dict, Optional, Literal, an Enum, a TypedDict, a dataclass or a pydantic model)")

    # -- unions and literals
    def _union(self, args: tuple, where: str) -> Node:
        members = [a for a in args if a is not _NoneType]
        nullable = len(members) != len(args)
        nodes = [self._node(a, where) for a in members]
        schemas = [n.schema for n in nodes] + ([{"type": "null"}] if nullable else [])
        schema = {"anyOf": schemas}

        def convert(value: Any, path: str) -> Any:
            if value is None and nullable:
                return None
            problems = []
            for n in nodes:
                try:
                    return n.convert(value, path)
                except ArgumentError as e:
                    problems.append(e)
            if len(problems) == 1 and not nullable:
                raise problems[0]
            reasons = "; ".join(dict.fromkeys(p.reason for p in problems))
            if nullable:
                reasons += "; or null"
            raise ArgumentError(path, f"no alternative fits {describe(value)} ({reasons})")
        return Node(schema, convert)

    def _literal(self, values: tuple) -> Node:
        values = tuple(v.value if isinstance(v, enum.Enum) else v for v in values)
        schema: dict = {"enum": list(values)}
        kinds = {_json_type(v) for v in values}
        if len(kinds) == 1 and None not in kinds:
            schema["type"] = kinds.pop()

        def convert(value: Any, path: str) -> Any:
            for v in values:
                if v == value and type(v) is type(value):
                    return v
            allowed = ", ".join(json.dumps(v) for v in values)
            raise ArgumentError(path, f"expected one of {allowed}, got {describe(value)}")
        return Node(schema, convert)

    def _enum(self, cls: type[enum.Enum]) -> Node:
        values = [m.value for m in cls]
        lit = self._literal(tuple(values))
        schema = dict(lit.schema)
        if cls.__doc__ and cls.__doc__ != enum.Enum.__doc__ and not cls.__doc__.startswith("An enumeration"):
            schema["description"] = inspect.cleandoc(cls.__doc__)

        def convert(value: Any, path: str) -> Any:
            if isinstance(value, cls):
                return value
            return cls(lit.convert(value, path))
        return Node(schema, convert)

    # -- containers
    def _sequence(self, kind: Any, args: tuple, where: str) -> Node:
        item = self._node(args[0], where) if args else _SCALARS[Any]
        schema: dict = {"type": "array"}
        if args:
            schema["items"] = item.schema
        unique = kind in (set, frozenset, cabc.Set, cabc.MutableSet)
        if unique:
            schema["uniqueItems"] = True
        make = {set: set, frozenset: frozenset, cabc.Set: frozenset, cabc.MutableSet: set,
                tuple: tuple}.get(kind, list)
        conv = item.convert

        def convert(value: Any, path: str) -> Any:
            if not isinstance(value, (list, tuple)):
                raise ArgumentError(path, f"expected an array, got {describe(value)}")
            out = [conv(v, f"{path}[{i}]") for i, v in enumerate(value)]
            try:
                return make(out)
            except TypeError:
                raise ArgumentError(path, "items must be hashable for a set") from None
        return Node(schema, convert)

    def _tuple(self, args: tuple, where: str) -> Node:
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            return self._sequence(tuple, args[:1], where)
        if args == ((),):
            args = ()
        nodes = [self._node(a, where) for a in args]
        schema = {"type": "array", "prefixItems": [n.schema for n in nodes],
                  "minItems": len(nodes), "maxItems": len(nodes)}

        def convert(value: Any, path: str) -> Any:
            if not isinstance(value, (list, tuple)):
                raise ArgumentError(path, f"expected an array, got {describe(value)}")
            if len(value) != len(nodes):
                raise ArgumentError(path, f"expected {len(nodes)} items, got {len(value)}")
            return tuple(n.convert(v, f"{path}[{i}]") for i, (n, v) in enumerate(zip(nodes, value)))
        return Node(schema, convert)

    def _mapping(self, args: tuple, where: str) -> Node:
        schema: dict = {"type": "object"}
        if not args:
            def convert_any(value: Any, path: str) -> Any:
                if not isinstance(value, dict):
                    raise ArgumentError(path, f"expected an object, got {describe(value)}")
                return value
            return Node(schema, convert_any)
        key_type, value_type = args
        if key_type not in (str, Any) and typing.get_origin(key_type) is not typing.Literal:
            raise TypeError(f"dict keys must be str (JSON object keys are strings), not {key_type!r}")
        key = self._node(key_type, where)
        val = self._node(value_type, where)
        if val.schema:
            schema["additionalProperties"] = val.schema
        if "enum" in key.schema:
            schema["propertyNames"] = key.schema

        def convert(value: Any, path: str) -> Any:
            if not isinstance(value, dict):
                raise ArgumentError(path, f"expected an object, got {describe(value)}")
            return {key.convert(k, _join(path, k)): val.convert(v, _join(path, k)) for k, v in value.items()}
        return Node(schema, convert)

    # -- classes
    def _pydantic(self, cls: type) -> Node:
        mode = "serialization" if self.mode == "output" else "validation"
        schema = dict(cls.model_json_schema(ref_template="#/$defs/{model}", mode=mode))
        for name, sub in (schema.pop("$defs", None) or {}).items():
            self.defs.setdefault(name, sub)

        def convert(value: Any, path: str) -> Any:
            if isinstance(value, cls):
                return value
            try:
                return cls.model_validate(value)
            except Exception as e:  # pydantic.ValidationError, without importing pydantic
                detail = "; ".join(
                    f"{'.'.join(str(p) for p in err.get('loc', ())) or '(root)'}: {err.get('msg')}"
                    for err in getattr(e, "errors", lambda: [])()) or str(e)
                raise ArgumentError(path, f"invalid {cls.__name__}: {detail}") from None
        return Node(schema, convert)

    def _named(self, cls: type, where: str) -> Node:
        if cls in self._done:
            return self._done[cls]
        if cls in self._active:
            self._recursive.add(cls)
            name = self._active[cls]
            done = self._done

            def lazy(value: Any, path: str) -> Any:
                return done[cls].convert(value, path)
            return Node({"$ref": f"#/$defs/{name}"}, lazy)
        name = cls.__name__
        while name in self.defs:
            name += "_"
        self._active[cls] = name
        try:
            node = self._typeddict(cls, where) if typing.is_typeddict(cls) else self._dataclass(cls, where)
        finally:
            del self._active[cls]
        if cls in self._recursive:
            self.defs[name] = node.schema
        self._done[cls] = node
        return node

    def hints(self, obj: Any) -> dict:
        """typing.get_type_hints, falling back to the registering frame's locals for names
        defined inside a function (read only then: reading f_locals pins them to the frame)."""
        try:
            return typing.get_type_hints(obj, include_extras=True)
        except NameError:
            if self.frame is None or self.frame.f_code.co_name == "<module>":
                raise
            return typing.get_type_hints(obj, localns=dict(self.frame.f_locals), include_extras=True)

    def _hints(self, cls: type) -> dict:
        try:
            return self.hints(cls)
        except Exception as e:
            raise TypeError(f"cannot resolve the annotations of {cls.__name__}: {e}") from None

    def _typeddict(self, cls: type, where: str) -> Node:
        hints = self._hints(cls)
        required = set(getattr(cls, "__required_keys__", hints))
        fields = {k: self._node(_strip_required(t), where) for k, t in hints.items()}
        schema: dict = {"type": "object", "properties": {k: n.schema for k, n in fields.items()}}
        req = [k for k in hints if k in required]
        if req:
            schema["required"] = req
        doc = cls.__doc__
        if doc and not doc.startswith(cls.__name__ + "("):
            schema["description"] = inspect.cleandoc(doc)

        def convert(value: Any, path: str) -> Any:
            if not isinstance(value, dict):
                raise ArgumentError(path, f"expected an object, got {describe(value)}")
            missing = [k for k in req if k not in value]
            if missing:
                raise ArgumentError(path, "missing required " + ", ".join(repr(k) for k in missing))
            out = dict(value)
            for k, n in fields.items():
                if k in value:
                    out[k] = n.convert(value[k], _join(path, k))
            return out
        return Node(schema, convert)

    def _dataclass(self, cls: type, where: str) -> Node:
        hints = self._hints(cls)
        props, required, nodes = {}, [], {}
        output = self.mode == "output"
        for f in dataclasses.fields(cls):
            if not f.init and not output:
                continue
            n = self._node(hints.get(f.name, Any), where)
            nodes[f.name] = n
            prop = dict(n.schema)
            if f.default is not dataclasses.MISSING:
                default = _json_default(f.default)
                if default is not _NO_DEFAULT:
                    prop["default"] = default
            # Output: every field is always serialized. Input: those without a default are needed.
            if output or (f.default is dataclasses.MISSING and
                          f.default_factory is dataclasses.MISSING):  # type: ignore[misc]
                required.append(f.name)
            props[f.name] = prop
        schema: dict = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        if not output:
            schema["additionalProperties"] = False
        doc = cls.__doc__
        if doc and not doc.startswith(cls.__name__ + "("):
            schema["description"] = inspect.cleandoc(doc)
        init_names = {f.name for f in dataclasses.fields(cls) if f.init}

        def convert(value: Any, path: str) -> Any:
            if isinstance(value, cls):
                return value
            if not isinstance(value, dict):
                raise ArgumentError(path, f"expected an object, got {describe(value)}")
            missing = [k for k in required if k not in value]
            if missing:
                raise ArgumentError(path, "missing required " + ", ".join(repr(k) for k in missing))
            unknown = [k for k in value if k not in nodes]
            if unknown and not output:
                raise ArgumentError(path, "unexpected " + ", ".join(repr(k) for k in unknown))
            kwargs = {k: nodes[k].convert(v, _join(path, k)) for k, v in value.items() if k in nodes}
            if output:
                return kwargs
            try:
                return cls(**{k: v for k, v in kwargs.items() if k in init_names})
            except (TypeError, ValueError) as e:
                raise ArgumentError(path, f"invalid {cls.__name__}: {e}") from None
        return Node(schema, convert)


def _hashable(tp: Any) -> bool:
    try:
        hash(tp)
        return True
    except TypeError:
        return False


_REQUIRED_MARKS = tuple(m for m in (getattr(typing, "Required", None), getattr(typing, "NotRequired", None)) if m)


def _strip_required(tp: Any) -> Any:
    if typing.get_origin(tp) in _REQUIRED_MARKS:  # Python 3.11+
        return typing.get_args(tp)[0]
    return tp
