"""The per-call shortcuts of libmcp._features give exactly what the general path gives: the
arguments' decoding (decode_json vs json.loads) and a tool's answer (result_json, JSON text
built directly, vs result(), the dict the general encoder writes), errors included."""
from __future__ import annotations

import datetime
import enum
import json
from dataclasses import dataclass
from typing import Any, Optional

import pytest
from pydantic import BaseModel

from libmcp import Image, ToolResult, errors
from libmcp._features import Tool, _encode_structured, _encode_text, decode_json


@pytest.mark.parametrize("data", [
    b"{}", b'{"a":1}', b'{"text":"h\\u00e9 \\"q\\""}', '{"t":"é"}'.encode(), b' {"a":1}', b'{"a":1} ', b'{"a":1}x',
    b'{"a":', b"", b"[1,2]", b'"s"', b'{"a":NaN}', b'{"\\ud800":1}', b'{"a":{"b":[1,2.5,null,true]}}',
    b"\xff", b'{"a":1}{"b":2}',
])
def test_decode_json_is_json_loads(data):
    try:
        expected: Any = json.loads(data)
    except Exception as e:  # noqa: BLE001
        expected = e
    try:
        got: Any = decode_json(data)
    except Exception as e:  # noqa: BLE001
        got = e
    if isinstance(expected, Exception):
        assert type(got) is type(expected) and str(got) == str(expected)
    else:
        assert got == expected and type(got) is type(expected)


class Echo(BaseModel):
    text: str


class LoudEcho(Echo):
    volume: int = 11


@dataclass
class Point:
    x: float
    y: float


class Color(str, enum.Enum):
    RED = "red"


def returns(annotation: Any, **options: Any) -> Tool:
    def fn():  # the value comes from the test; only the annotation matters
        raise AssertionError
    if annotation is not None:
        fn.__annotations__ = {"return": annotation}
    return Tool(core=None, fn=fn, name="t", **options)


CASES = [
    (int, 5), (int, 3.0), (int, True), (int, "x"), (float, 1.5), (float, float("nan")), (float, 2),
    (str, 'h\u00e9 "q"\n\\'), (str, Color.RED), (str, "\ud800"), (str, 5), (Color, Color.RED),
    (dict[str, int], {"a": 1, "b": 2}), (dict[str, int], {"a": "x"}), (list[str], ["a", "b"]),
    (list[str], ("a",)), (list[str], [Image(data=b"x")]), (list, [1, {"k": None}]),
    (Echo, Echo(text="x")), (Echo, LoudEcho(text="y")), (Echo, {"text": "z"}), (Echo, {"nope": 1}),
    (Point, Point(1, 2.5)), (Optional[int], None), (Optional[int], 4), (datetime.date, datetime.date(2024, 2, 29)),
    (Any, {"a": [1, 2]}), (Any, "s"), (Any, 1e300), (dict, {"u": "\u2603"}),
    (None, "plain"), (None, 5), (None, None), (None, Image(data=b"png")), (None, ["a", Image(data=b"x")]),
    (None, b"bytes"), (ToolResult, ToolResult(["t"], structured={"k": 1})), (Image, Image(data=b"x")),
]


@pytest.mark.parametrize("annotation,value", CASES, ids=[f"{i}" for i in range(len(CASES))])
@pytest.mark.parametrize("structured", [None, False])
def test_result_json_is_the_result_dict(annotation, value, structured):
    tool = returns(annotation, structured_output=structured)
    try:
        expected: Any = tool.result(value)
    except Exception as e:  # noqa: BLE001
        expected = e
    try:
        got: Any = tool.result_json(value)
    except Exception as e:  # noqa: BLE001
        got = e
    if isinstance(expected, Exception):
        assert type(got) is type(expected) and str(got) == str(expected)
        return
    if isinstance(got, str):
        assert json.loads(got) == json.loads(json.dumps(expected, ensure_ascii=False))
    else:
        assert got == expected


def test_result_json_takes_the_shortcut_for_common_values():
    assert isinstance(returns(Echo).result_json(Echo(text="x")), str)
    assert isinstance(returns(int).result_json(5), str)
    assert isinstance(returns(None).result_json("text"), str)
    assert isinstance(returns(ToolResult).result_json(ToolResult(["t"])), dict)
    with pytest.raises(errors.ToolError, match="does not match its return annotation"):
        returns(int).result_json("five")


LONG = "base64+/data" * 500  # 6,000 characters: past the long-text threshold


@pytest.mark.parametrize("data", [
    {"text": LONG}, {"text": LONG + "é€𝄞\x7f"}, {"a": 1.5, "text": LONG, "b": [None, True, "x\n"]},
    {"text": LONG + '"'}, {"text": LONG + "\\"}, {"text": LONG + "\n"}, {"text": "\x00" + LONG},
    {"text": LONG + "\x1f"}, {"text": LONG + "\ud800"}, {"text": "short"}, {"t": {"nested": LONG}},
    {"text": LONG, "n": float("nan")}, {"text": LONG, "o": object()}, [LONG], LONG,
])
def test_encode_structured_is_the_general_encoder(data):
    """A long str member needing no escape is written as it is: the same text as the encoder's."""
    try:
        expected: Any = _encode_text(data)
    except Exception as e:  # noqa: BLE001
        expected = e
    try:
        got: Any = _encode_structured(data)
    except Exception as e:  # noqa: BLE001
        got = e
    if isinstance(expected, Exception):
        assert type(got) is type(expected) and str(got) == str(expected)
    else:
        assert got == expected
