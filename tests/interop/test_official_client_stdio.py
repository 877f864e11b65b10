"""The official Python SDK client (mcp==2.3.0) drives the everything server over stdio.

Each test runs its own event loop under a hard deadline (anyio.fail_after), so a
server that stops answering fails the test instead of hanging the suite.
"""
from __future__ import annotations

import base64
import json
import tempfile
import time
from contextlib import asynccontextmanager
from typing import Any, Awaitable, Callable

import anyio
import mcp_types as types
import pytest
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from conftest import (
    EMBEDDED_TEXT, ERROR_TEXT, LATEST, MIXED_RESOURCE_TEXT, MIXED_TEXT, PNG_MAGIC, PROMPTS, RESOURCES,
    SIMPLE_PROMPT_TEXT, SIMPLE_TEXT, STATIC_TEXT, TEMPLATES, TOOLS, server_env,
)

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")


def run(body: Callable[[], Awaitable[None]], timeout: float = 60.0) -> None:
    async def main() -> None:
        with anyio.fail_after(timeout):
            await body()
    anyio.run(main)


@asynccontextmanager
async def connect(binary: str, **session_kwargs: Any):
    """An initialized ClientSession on a fresh everything server."""
    # The SDK hands the child only a minimal environment: pass ours explicitly.
    params = StdioServerParameters(command=binary, args=[], env=server_env())
    with tempfile.TemporaryFile("w+") as errlog:
        try:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write, **session_kwargs) as session:
                    init = await session.initialize()
                    yield session, init
        except BaseException:
            errlog.seek(0)
            err = errlog.read()
            if err.strip():
                print(f"--- server stderr ---\n{err[-4000:]}")
            raise


def texts(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def all_pages(fetch, key: str) -> list:
    """Every item of a paginated list through the SDK's cursor parameter."""
    items, cursor = [], None
    for _ in range(100):
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await fetch(params=params)
        items += getattr(page, key)
        cursor = page.next_cursor
        if cursor is None:
            return items
    raise AssertionError("pagination does not end")


def test_handshake(server_binary):
    async def body():
        async with connect(server_binary) as (s, init):
            assert init.protocol_version == LATEST
            assert init.server_info.name and init.server_info.version
            caps = init.capabilities
            assert caps.tools is not None and caps.resources is not None
            assert caps.prompts is not None and caps.logging is not None
            assert isinstance(await s.send_ping(), types.EmptyResult)
    run(body)


def test_lists(server_binary):
    async def body():
        async with connect(server_binary) as (s, _):
            tools = await all_pages(s.list_tools, "tools")
            names = [t.name for t in tools]
            assert len(names) == len(set(names))
            assert set(names) >= TOOLS, TOOLS - set(names)
            by_name = {t.name: t for t in tools}
            assert by_name["test_echo"].output_schema is not None
            assert by_name["test_echo"].output_schema["type"] == "object"
            schema = by_name["json_schema_2020_12_tool"].input_schema
            assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
            dumped = json.dumps(schema)
            for key in ('"$defs"', '"allOf"', '"if"', '"then"', '"else"'):
                assert key in dumped, f"{key} missing from {schema}"

            resources = await all_pages(s.list_resources, "resources")
            uris = [str(r.uri) for r in resources]
            assert len(uris) == len(set(uris)) and set(uris) >= RESOURCES, uris
            binary = next(r for r in resources if str(r.uri) == "test://static-binary")
            assert binary.mime_type == "image/png"

            templates = await all_pages(s.list_resource_templates, "resource_templates")
            assert {t.uri_template for t in templates} >= TEMPLATES

            prompts = await all_pages(s.list_prompts, "prompts")
            by_prompt = {p.name: p for p in prompts}
            assert set(by_prompt) >= PROMPTS, PROMPTS - set(by_prompt)
            args = {a.name: a for a in by_prompt["test_prompt_with_arguments"].arguments or []}
            assert set(args) == {"arg1", "arg2"} and args["arg1"].required and args["arg2"].required
            args = {a.name: a for a in by_prompt["test_prompt_with_embedded_resource"].arguments or []}
            assert "resourceUri" in args and args["resourceUri"].required
    run(body)


def test_forged_cursor_raises_invalid_params(server_binary):
    async def body():
        async with connect(server_binary) as (s, _):
            forged = types.PaginatedRequestParams(cursor="not-a-cursor-we-issued")
            for fetch in (s.list_tools, s.list_resources, s.list_resource_templates, s.list_prompts):
                with pytest.raises(MCPError) as e:
                    await fetch(params=forged)
                assert e.value.code == -32602, (fetch.__name__, e.value.error)
    run(body)


def test_tool_contents(server_binary):
    async def body():
        async with connect(server_binary) as (s, _):
            r = await s.call_tool("test_simple_text", {})
            assert not r.is_error
            assert len(r.content) == 1 and isinstance(r.content[0], types.TextContent)
            assert r.content[0].text == SIMPLE_TEXT

            r = await s.call_tool("test_image_content", {})
            assert len(r.content) == 1 and isinstance(r.content[0], types.ImageContent)
            assert r.content[0].mime_type == "image/png"
            assert base64.b64decode(r.content[0].data, validate=True).startswith(PNG_MAGIC)

            r = await s.call_tool("test_audio_content", {})
            assert len(r.content) == 1 and isinstance(r.content[0], types.AudioContent)
            assert r.content[0].mime_type == "audio/wav"
            wav = base64.b64decode(r.content[0].data, validate=True)
            assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"

            r = await s.call_tool("test_embedded_resource", {})
            res = [c for c in r.content if isinstance(c, types.EmbeddedResource)]
            assert len(res) == 1
            assert isinstance(res[0].resource, types.TextResourceContents)
            assert str(res[0].resource.uri) == "test://embedded-resource"
            assert res[0].resource.mime_type == "text/plain" and res[0].resource.text == EMBEDDED_TEXT

            r = await s.call_tool("test_multiple_content_types", {})
            kinds = [type(c) for c in r.content]
            assert kinds == [types.TextContent, types.ImageContent, types.EmbeddedResource], kinds
            assert r.content[0].text == MIXED_TEXT
            assert r.content[1].mime_type == "image/png"
            assert str(r.content[2].resource.uri) == "test://mixed-content-resource"
            assert r.content[2].resource.mime_type == "application/json"
            assert json.loads(r.content[2].resource.text) == json.loads(MIXED_RESOURCE_TEXT)

            r = await s.call_tool("test_error_handling", {})
            assert r.is_error is True and texts(r) == ERROR_TEXT

            r = await s.call_tool("test_echo", {"text": "interop ✓ \"quoted\"\nline"})
            assert not r.is_error
            assert texts(r) == "interop ✓ \"quoted\"\nline"
            assert r.structured_content == {"text": "interop ✓ \"quoted\"\nline"}

            r = await s.call_tool("json_schema_2020_12_tool", {})
            assert isinstance(r, types.CallToolResult)

            r = await s.call_tool("test_sleep", {"ms": 20})
            assert not r.is_error

            r = await s.call_tool("test_cancel_count", {})
            assert texts(r) == "0" and r.structured_content == {"count": 0}
    run(body)


def test_progress_callback(server_binary):
    async def body():
        async with connect(server_binary) as (s, _):
            seen: list[tuple[float, float | None]] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                seen.append((progress, total))

            r = await s.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
            # Delivered before the result: the list is complete when call_tool returns.
            assert seen == [(0, 100), (50, 100), (100, 100)], seen
            assert not r.is_error
    run(body)


def test_logging_callback(server_binary):
    async def body():
        got: list[types.LoggingMessageNotificationParams] = []

        async def on_log(params: types.LoggingMessageNotificationParams) -> None:
            got.append(params)

        async with connect(server_binary, logging_callback=on_log) as (s, _):
            assert isinstance(await s.set_logging_level("debug"), types.EmptyResult)
            t0 = time.monotonic()
            r = await s.call_tool("test_tool_with_logging", {})
            assert not r.is_error
            with anyio.fail_after(5):
                while len(got) < 3:
                    await anyio.sleep(0.01)
            assert time.monotonic() - t0 >= 0.08  # three messages ~50 ms apart
            await s.send_ping()
            assert len(got) == 3, got
            assert all(p.level == "info" for p in got), got
    run(body)


def test_resources(server_binary):
    async def body():
        async with connect(server_binary) as (s, _):
            r = await s.read_resource("test://static-text")
            assert len(r.contents) == 1 and isinstance(r.contents[0], types.TextResourceContents)
            assert str(r.contents[0].uri) == "test://static-text" and r.contents[0].text == STATIC_TEXT
            assert r.contents[0].mime_type == "text/plain"

            r = await s.read_resource("test://static-binary")
            c = r.contents[0]
            assert isinstance(c, types.BlobResourceContents) and c.mime_type == "image/png"
            assert base64.b64decode(c.blob, validate=True).startswith(PNG_MAGIC)

            r = await s.read_resource("test://template/item-42/data")
            c = r.contents[0]
            assert str(c.uri) == "test://template/item-42/data"
            assert isinstance(c, types.TextResourceContents) and "item-42" in c.text

            r = await s.read_resource("test://watched-resource")
            assert str(r.contents[0].uri) == "test://watched-resource"

            with pytest.raises(MCPError) as e:
                await s.read_resource("test://does-not-exist")
            assert e.value.code == -32002
            assert e.value.data["uri"] == "test://does-not-exist"
    run(body)


def test_prompts(server_binary):
    async def body():
        async with connect(server_binary) as (s, _):
            r = await s.get_prompt("test_simple_prompt")
            assert len(r.messages) == 1 and r.messages[0].role == "user"
            assert isinstance(r.messages[0].content, types.TextContent)
            assert r.messages[0].content.text == SIMPLE_PROMPT_TEXT

            r = await s.get_prompt("test_prompt_with_arguments", {"arg1": "alpha-1", "arg2": "beta-2"})
            text = " ".join(m.content.text for m in r.messages if isinstance(m.content, types.TextContent))
            assert "alpha-1" in text and "beta-2" in text, r

            r = await s.get_prompt("test_prompt_with_embedded_resource", {"resourceUri": "test://static-text"})
            embedded = [m.content for m in r.messages if isinstance(m.content, types.EmbeddedResource)]
            assert embedded and str(embedded[0].resource.uri) == "test://static-text", r

            r = await s.get_prompt("test_prompt_with_image")
            images = [m.content for m in r.messages if isinstance(m.content, types.ImageContent)]
            assert images and images[0].mime_type == "image/png"
            assert base64.b64decode(images[0].data, validate=True).startswith(PNG_MAGIC)

            with pytest.raises(MCPError) as e:
                await s.get_prompt("test_prompt_with_arguments", {"arg1": "only-one"})
            assert e.value.code == -32602
            with pytest.raises(MCPError) as e:
                await s.get_prompt("no_such_prompt")
            assert e.value.code == -32602
    run(body)


def test_unknown_tool_is_a_protocol_error(server_binary):
    async def body():
        async with connect(server_binary) as (s, _):
            with pytest.raises(MCPError) as e:
                await s.call_tool("no_such_tool", {})
            assert e.value.code == -32602
            # The session carries on.
            r = await s.call_tool("test_simple_text", {})
            assert texts(r) == SIMPLE_TEXT
    run(body)


def test_sdk_timeout_cancels_the_call(server_binary):
    """The SDK gives up on a slow call and sends notifications/cancelled; the tool
    sees the cancellation (test_cancel_count) and the session goes on."""
    async def body():
        async with connect(server_binary) as (s, _):
            with pytest.raises(MCPError) as e:
                await s.call_tool("test_sleep", {"ms": 5000}, read_timeout_seconds=0.5)
            assert e.value.code == types.REQUEST_TIMEOUT
            with anyio.fail_after(5):
                while True:
                    r = await s.call_tool("test_cancel_count", {})
                    if texts(r) != "0":
                        break
                    await anyio.sleep(0.05)
            assert texts(r) == "1" and r.structured_content == {"count": 1}
            assert texts(await s.call_tool("test_simple_text", {})) == SIMPLE_TEXT
    run(body)


def test_concurrent_calls_through_the_sdk(server_binary):
    async def body():
        async with connect(server_binary) as (s, _):
            await s.list_tools()  # so test_echo's output schema is known up front
            results: dict[int, str] = {}

            async def echo(i: int) -> None:
                results[i] = texts(await s.call_tool("test_echo", {"text": f"n{i}"}))

            async def sleep() -> None:
                assert not (await s.call_tool("test_sleep", {"ms": 500})).is_error

            t0 = time.monotonic()
            async with anyio.create_task_group() as tg:
                tg.start_soon(sleep)
                tg.start_soon(sleep)
                for i in range(20):
                    tg.start_soon(echo, i)
            assert results == {i: f"n{i}" for i in range(20)}
            assert time.monotonic() - t0 < 0.95, "two 500 ms calls did not overlap"
    run(body)


def test_high_level_client_auto_mode_adopts_the_modern_revision(server_binary):
    """mcp.Client in its default 'auto' mode first sends the 2026 `server/discover`
    probe; the server answers it, so the stdio connection is of revision 2026-07-28
    and every later request carries its own `_meta` envelope."""
    async def body():
        params = StdioServerParameters(command=server_binary, args=[], env=server_env())
        t0 = time.monotonic()
        async with Client(params) as client:
            assert client.protocol_version == "2026-07-28"
            assert time.monotonic() - t0 < 5, "the probe was not answered promptly"
            assert client.server_info is not None and client.server_info.name == "mcp-everything-server"
            r = await client.call_tool("test_simple_text", {})
            assert texts(r) == SIMPLE_TEXT
            tools = await client.list_tools()
            assert {t.name for t in tools.tools} >= TOOLS
        async with Client(params, mode="legacy") as client:
            assert client.protocol_version == LATEST
            assert texts(await client.call_tool("test_simple_text", {})) == SIMPLE_TEXT
    run(body)
