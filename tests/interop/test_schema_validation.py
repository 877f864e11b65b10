"""The engine checks tool arguments against each tool's inputSchema (JSON Schema 2020-12)
before the host's callback runs, and elicitation answers against their requestedSchema,
as seen by the official Python SDK client (mcp==2.3.0) in both eras over stdio.

Bad arguments get a tool execution error (isError, the reason as text: tools.mdx lists
input validation errors among them), and the everything server's callbacks no longer
check by hand. A tool registered with MCP_TOOL_NO_VALIDATION gets the arguments as sent.
"""
from __future__ import annotations

import json
import tempfile
from contextlib import asynccontextmanager
from typing import Any, Awaitable, Callable

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters, stdio_client

from conftest import LATEST, server_env

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")

# Both eras: a 2025-era session (initialize) and the stateless 2026-07-28 revision.
MODES = ("legacy", "2026-07-28")


def run(body: Callable[[], Awaitable[None]], timeout: float = 60.0) -> None:
    async def main() -> None:
        with anyio.fail_after(timeout):
            await body()
    anyio.run(main)


def texts(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


@asynccontextmanager
async def connect(binary: str, mode: str, **kwargs: Any):
    params = StdioServerParameters(command=binary, args=[], env=server_env())
    with tempfile.TemporaryFile("w+") as errlog:
        try:
            async with Client(stdio_client(params, errlog=errlog), mode=mode, **kwargs) as c:
                assert c.protocol_version == (LATEST if mode == "legacy" else mode)
                yield c
        except BaseException:
            errlog.seek(0)
            err = errlog.read()
            if err.strip():
                print(f"--- server stderr ---\n{err[-4000:]}")
            raise


# (tool, arguments, what the message must say): each breaks a different rule of the schema.
BAD = [
    ("test_sleep", {"ms": "ten"}, "at /ms: expected integer, got string"),
    ("test_sleep", {"ms": 700000}, "at /ms: 700000 is more than the maximum 600000"),
    ("test_sleep", {}, 'the required property "ms" is missing'),
    ("test_echo", {"text": 5}, "at /text: expected string, got integer"),
    # The 2020-12 fixture: $ref into $defs, enum, allOf/anyOf, if/then/else, additionalProperties.
    ("json_schema_2020_12_tool", {"name": "Ada"}, "anyOf"),
    ("json_schema_2020_12_tool", {"email": "a@b.c", "contactMethod": "fax"}, "enum"),
    ("json_schema_2020_12_tool", {"email": "a@b.c", "address": {"city": 7}}, "at /address/city: expected string"),
    ("json_schema_2020_12_tool", {"email": "a@b.c", "nickname": "x"}, 'the property "nickname" is not allowed'),
    ("json_schema_2020_12_tool", {"contactMethod": "phone", "email": "a@b.c"}, 'required property "phone"'),
]


@pytest.mark.parametrize("mode", MODES)
def test_bad_arguments_are_tool_errors_with_the_reason(server_binary, mode):
    async def body():
        async with connect(server_binary, mode) as c:
            for tool, args, expected in BAD:
                r = await c.call_tool(tool, args)
                assert r.is_error, (tool, args, r)
                text = texts(r)
                assert text.startswith(f"Invalid arguments for tool {tool}: "), text
                assert expected in text, (tool, args, text)
            # Valid arguments still reach the callback, which no longer checks by hand.
            ok = await c.call_tool("json_schema_2020_12_tool",
                                   {"name": "Ada", "contactMethod": "phone", "phone": "555",
                                    "address": {"street": "1 Main", "city": "X"}})
            assert not ok.is_error and texts(ok).startswith("Received valid arguments: "), texts(ok)
            assert json.loads(texts(ok).split(": ", 1)[1])["phone"] == "555"
            r = await c.call_tool("test_sleep", {"ms": 1})
            assert not r.is_error and texts(r) == "Slept 1 ms"
    run(body)


@pytest.mark.parametrize("mode", MODES)
def test_a_tool_registered_without_validation_gets_the_arguments_as_sent(server_binary, mode):
    async def body():
        async with connect(server_binary, mode) as c:
            tools = {t.name: t for t in (await c.list_tools()).tools}
            assert tools["test_unchecked_arguments"].input_schema["required"] == ["count"]
            r = await c.call_tool("test_unchecked_arguments", {"count": "not a number", "extra": [1]})
            assert not r.is_error, texts(r)
            assert json.loads(texts(r).split(": ", 1)[1]) == {"count": "not a number", "extra": [1]}
    run(body)


@pytest.mark.parametrize("mode", MODES)
def test_elicitation_answers_are_checked_against_the_requested_schema(server_binary, mode):
    answers = []

    async def on_elicit(context, params):
        return answers.pop(0)

    async def body():
        async with connect(server_binary, mode, elicitation_callback=on_elicit) as c:
            # username and email are required strings: an answer without email never reaches the host.
            answers.append(types.ElicitResult(action="accept", content={"username": "ada"}))
            r = await c.call_tool("test_elicitation", {"message": "Who are you?"})
            assert r.is_error, texts(r)
            assert "does not match the requestedSchema" in texts(r) and '"email" is missing' in texts(r), texts(r)
            answers.append(types.ElicitResult(action="accept", content={"username": "ada", "email": "a@b.c"}))
            r = await c.call_tool("test_elicitation", {"message": "Who are you?"})
            assert not r.is_error and 'content={"email":"a@b.c","username":"ada"}' in texts(r), texts(r)
            # Declines carry no content: nothing to check.
            answers.append(types.ElicitResult(action="decline"))
            r = await c.call_tool("test_elicitation", {"message": "Who are you?"})
            assert not r.is_error and "action=decline" in texts(r), texts(r)
    run(body)
