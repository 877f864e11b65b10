"""Type hints -> JSON Schema, and JSON -> Python values (libmcp._types), without the engine."""
from __future__ import annotations

import datetime
import enum
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NewType, Optional, Sequence, TypedDict, Union

import pytest
from pydantic import BaseModel, Field

from libmcp._types import ArgumentError, TypeCompiler, from_string, to_jsonable


def node(tp, mode="input"):
    return TypeCompiler(mode).node(tp, "test")


@pytest.mark.parametrize("tp,schema", [
    (int, {"type": "integer"}),
    (float, {"type": "number"}),
    (str, {"type": "string"}),
    (bool, {"type": "boolean"}),
    (type(None), {"type": "null"}),
    (Any, {}),
    (bytes, {"type": "string", "contentEncoding": "base64"}),
    (datetime.date, {"type": "string", "format": "date"}),
    (uuid.UUID, {"type": "string", "format": "uuid"}),
    (list[int], {"type": "array", "items": {"type": "integer"}}),
    (Sequence[str], {"type": "array", "items": {"type": "string"}}),
    (set[str], {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
    (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
    (tuple[int, str], {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}],
                       "minItems": 2, "maxItems": 2}),
    (dict, {"type": "object"}),
    (dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
    (Optional[int], {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
    (int | str, {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
    (Literal["a", "b"], {"enum": ["a", "b"], "type": "string"}),
    (Literal[1, "x"], {"enum": [1, "x"]}),
    (NewType("UserId", int), {"type": "integer"}),
    (Annotated[str, "a name"], {"type": "string", "description": "a name"}),
    (Annotated[int, Field(ge=1, lt=5, description="d")], {"type": "integer", "description": "d",
                                                          "minimum": 1, "exclusiveMaximum": 5}),
    (Annotated[str, Field(min_length=2, max_length=3)], {"type": "string", "minLength": 2, "maxLength": 3}),
    (Annotated[list[int], Field(min_length=1)], {"type": "array", "items": {"type": "integer"}, "minItems": 1}),
])
def test_schemas(tp, schema):
    assert node(tp).schema == schema


class Color(enum.Enum):
    """A colour."""
    RED = "red"
    GREEN = "green"


class Movie(TypedDict, total=False):
    title: str
    year: int


class Required(TypedDict):
    name: str
    tags: list[str]


@dataclass
class Box:
    """A box."""
    width: float
    label: str = "box"
    items: list[int] = field(default_factory=list)


@dataclass
class Tree:
    value: int
    children: list["Tree"] = field(default_factory=list)


class Owner(BaseModel):
    name: str


class Pet(BaseModel):
    name: str
    owner: Owner
    age: int = Field(default=0, ge=0)


def test_enum_and_class_schemas():
    assert node(Color).schema == {"enum": ["red", "green"], "type": "string", "description": "A colour."}
    assert node(Movie).schema == {"type": "object", "properties": {"title": {"type": "string"},
                                                                   "year": {"type": "integer"}}}
    assert node(Required).schema["required"] == ["name", "tags"]
    assert node(Box).schema == {
        "type": "object", "description": "A box.", "additionalProperties": False, "required": ["width"],
        "properties": {"width": {"type": "number"}, "label": {"type": "string", "default": "box"},
                       "items": {"type": "array", "items": {"type": "integer"}}}}


def test_recursive_dataclass_uses_defs():
    c = TypeCompiler()
    n = c.node(Tree, "t")
    assert n.schema["properties"]["children"] == {"type": "array", "items": {"$ref": "#/$defs/Tree"}}
    assert c.defs["Tree"] == n.schema
    tree = n.convert({"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}, "")
    assert tree == Tree(1, [Tree(2, [Tree(3)])])
    with pytest.raises(ArgumentError, match=r"children\[0\]\.children\[0\]\.value: expected an integer"):
        n.convert({"value": 1, "children": [{"value": 2, "children": [{"value": "x"}]}]}, "")


def test_pydantic_models_bring_their_defs():
    c = TypeCompiler()
    n = c.node(Pet, "p")
    assert n.schema["properties"]["owner"] == {"$ref": "#/$defs/Owner"}
    assert "Owner" in c.defs and "$defs" not in n.schema
    assert c.attach_defs({"type": "object"})["$defs"]["Owner"]["properties"]["name"]["type"] == "string"
    pet = n.convert({"name": "Rex", "owner": {"name": "Ann"}}, "pet")
    assert isinstance(pet, Pet) and pet.owner.name == "Ann"
    with pytest.raises(ArgumentError, match=r"pet: invalid Pet: owner.name: Field required"):
        n.convert({"name": "Rex", "owner": {}}, "pet")


@pytest.mark.parametrize("tp,value,expected", [
    (int, 3, 3), (int, 3.0, 3), (float, 2, 2.0), (str, "s", "s"), (bool, False, False),
    (bytes, "aGk=", b"hi"), (datetime.date, "2025-11-25", datetime.date(2025, 11, 25)),
    (list[int], [1, 2], [1, 2]), (set[int], [1, 1, 2], {1, 2}), (tuple[int, str], [1, "a"], (1, "a")),
    (tuple[int, ...], [1, 2], (1, 2)), (dict[str, int], {"a": 1}, {"a": 1}),
    (Optional[int], None, None), (int | str, "x", "x"), (Literal["a", "b"], "b", "b"),
    (Color, "green", Color.GREEN), (Box, {"width": 2}, Box(2.0)), (Movie, {"year": 1999}, {"year": 1999}),
    (Any, {"x": [1]}, {"x": [1]}),
])
def test_conversions(tp, value, expected):
    out = node(tp).convert(value, "v")
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize("tp,value,message", [
    (int, 3.5, "v: expected an integer, got number 3.5"),
    (int, True, "v: expected an integer, got boolean true"),
    (int, "3", 'v: expected an integer, got string "3"'),
    (float, "1.0", "v: expected a number"),
    (bool, 1, "v: expected true or false, got integer 1"),
    (str, None, "v: expected a string, got null"),
    (bytes, "!!", "v: expected base64 data"),
    (datetime.date, "25/11/2025", "v: expected a date string"),
    (list[int], {"a": 1}, "v: expected an array, got object"),
    (tuple[int, str], [1], "v: expected 2 items, got 1"),
    (dict[str, int], {"a": "b"}, "v.a: expected an integer"),
    (Optional[int], "x", "v: no alternative fits string \"x\" (expected an integer, got string \"x\"; or null)"),
    (Literal[1, 2], True, "v: expected one of 1, 2, got boolean true"),
    (Color, "blue", 'v: expected one of "red", "green", got string "blue"'),
    (Box, {"label": "x"}, "v: missing required 'width'"),
    (Box, {"width": 1, "depth": 2}, "v: unexpected 'depth'"),
    (Required, {"name": "n"}, "v: missing required 'tags'"),
    (Annotated[int, Field(ge=1)], 0, "v: must be at least 1, got 0"),
    (Annotated[str, Field(max_length=2)], "abc", "v: length must be at most 2, got 3"),
    (Annotated[str, Field(pattern="^a")], "b", "v: must match '^a'"),
])
def test_conversion_errors_say_where_and_why(tp, value, message):
    with pytest.raises(ArgumentError) as e:
        node(tp).convert(value, "v")
    assert str(e.value) == message or str(e.value).startswith(message), str(e.value)


@pytest.mark.parametrize("tp,why", [
    (complex, "cannot map annotation <class 'complex'>"),
    (dict[int, str], "dict keys must be str"),
    (list["Nope"], "unresolved forward reference"),
])
def test_unsupported_annotations_are_refused_at_registration(tp, why):
    with pytest.raises(TypeError, match="test: " + why.replace("(", r"\(").replace("[", r"\[")):
        node(tp)


def test_from_string_for_wire_strings():
    assert from_string(node(int), "42", "n") == 42
    assert from_string(node(str), "42", "s") == "42"
    assert from_string(node(list[int]), "[1,2]", "l") == [1, 2]
    assert from_string(node(Literal["a"]), "a", "l") == "a"
    with pytest.raises(ArgumentError, match="n: expected an integer"):
        from_string(node(int), "forty", "n")


def test_output_mode_pydantic_serialization_and_to_jsonable():
    assert node(Box, "output").schema["required"] == ["width", "label", "items"]
    assert "additionalProperties" not in node(Box, "output").schema
    assert to_jsonable(Box(1.5)) == {"width": 1.5, "label": "box", "items": []}
    assert to_jsonable(Pet(name="a", owner=Owner(name="b"))) == {"name": "a", "owner": {"name": "b"}, "age": 0}
    assert to_jsonable({Color.RED: (1, datetime.date(2020, 1, 2))}) == {"red": [1, "2020-01-02"]}
    with pytest.raises(ValueError, match="nan has no JSON form"):
        to_jsonable(float("nan"))
    with pytest.raises(TypeError, match="cannot turn a object into JSON"):
        to_jsonable(object())


def test_union_of_several_types_tries_each():
    n = node(Union[int, list[str], None])
    assert n.convert(["a"], "") == ["a"] and n.convert(3, "") == 3 and n.convert(None, "") is None
