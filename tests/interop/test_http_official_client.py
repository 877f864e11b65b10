"""The official Python SDK client (mcp==2.3.0) drives the everything server over
HTTP: Streamable HTTP with SSE answers, with JSON answers, stateless, and the
legacy HTTP+SSE transport of 2024-11-05.

Each test runs its own event loop under a hard deadline (anyio.fail_after).
"""
from __future__ import annotations

import base64
import json
from contextlib import asynccontextmanager
from typing import Any, Awaitable, Callable

import anyio
import mcp_types as types
import pytest
from mcp import Client, ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from conftest import (
    EMBEDDED_TEXT, ERROR_TEXT, LATEST, MIXED_TEXT, PNG_MAGIC, PROMPTS, RESOURCES, SIMPLE_PROMPT_TEXT,
    SIMPLE_TEXT, STATIC_TEXT, TEMPLATES, TOOLS,
)
from http_support import EverythingHTTP, HostHTTP

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")

MODES = {"sse": (), "json": ("--json-response",), "stateless": ("--stateless",)}


def run(body: Callable[[], Awaitable[None]], timeout: float = 60.0) -> None:
    async def main() -> None:
        with anyio.fail_after(timeout):
            await body()
    anyio.run(main)


@asynccontextmanager
async def connect(url: str, **session_kwargs: Any):
    async with streamable_http_client(url) as (read, write):
        async with ClientSession(read, write, **session_kwargs) as session:
            init = await session.initialize()
            yield session, init


def texts(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


@pytest.fixture(params=list(MODES))
def server(request):
    with EverythingHTTP(*MODES[request.param]) as s:
        yield s


def test_every_fixture(server):
    async def body():
        async with connect(server.url) as (s, init):
            assert init.protocol_version == LATEST
            assert {t.name for t in (await s.list_tools()).tools} >= TOOLS
            assert {r.uri for r in (await s.list_resources()).resources} == RESOURCES | {"ui://everything/clock.html"}
            assert {t.uri_template for t in (await s.list_resource_templates()).resource_templates} == TEMPLATES
            assert {p.name for p in (await s.list_prompts()).prompts} == PROMPTS

            assert texts(await s.call_tool("test_simple_text", {})) == SIMPLE_TEXT
            image = (await s.call_tool("test_image_content", {})).content[0]
            assert isinstance(image, types.ImageContent) and base64.b64decode(image.data).startswith(PNG_MAGIC)
            audio = (await s.call_tool("test_audio_content", {})).content[0]
            assert isinstance(audio, types.AudioContent) and audio.mime_type == "audio/wav"
            embedded = (await s.call_tool("test_embedded_resource", {})).content[0]
            assert isinstance(embedded, types.EmbeddedResource) and embedded.resource.text == EMBEDDED_TEXT
            mixed = await s.call_tool("test_multiple_content_types", {})
            assert texts(mixed) == MIXED_TEXT and len(mixed.content) == 3
            failed = await s.call_tool("test_error_handling", {})
            assert failed.is_error and texts(failed) == ERROR_TEXT
            echo = await s.call_tool("test_echo", {"text": "over HTTP ✓"})
            assert echo.structured_content == {"text": "over HTTP ✓"}

            static = await s.read_resource("test://static-text")
            assert static.contents[0].text == STATIC_TEXT
            templated = await s.read_resource("test://template/42/data")
            assert json.loads(templated.contents[0].text)["id"] == "42"
            prompt = await s.get_prompt("test_simple_prompt")
            assert prompt.messages[0].content.text == SIMPLE_PROMPT_TEXT
            args = await s.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
            assert "arg1='a'" in args.messages[0].content.text
    run(body)


def test_progress_and_logs_arrive_before_the_result(server):
    """In every mode, JSON-response mode included: such a call switches to SSE."""
    progress: list[float] = []
    logs: list[str] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(p)

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(params.data)

    async def body():
        async with connect(server.url, logging_callback=on_log) as (s, _):
            r = await s.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
            assert not r.is_error and progress == [0, 50, 100]
            r = await s.call_tool("test_tool_with_logging", {})
            assert not r.is_error
            assert logs == ["Tool execution started", "Tool processing data", "Tool execution completed"]
    run(body)


@pytest.mark.parametrize("mode", ["sse", "json"])  # stateless: an answer POST reaches no session
def test_sampling_travels_on_the_call_stream(mode):
    """A server-to-client request made by a call goes out on that call's stream;
    the client's answer comes back in a POST of its own."""
    asked: list[str] = []

    async def sampling(context, params: types.CreateMessageRequestParams):
        asked.append(params.messages[0].content.text)
        return types.CreateMessageResult(role="assistant", model="test-model",
                                         content=types.TextContent(type="text", text="sampled answer"))

    async def body():
        async with connect(server.url, sampling_callback=sampling) as (s, _):
            r = await s.call_tool("test_sampling", {"prompt": "What is 2+2?"})
            assert not r.is_error, texts(r)
            assert asked == ["What is 2+2?"] and "sampled answer" in texts(r)
    with EverythingHTTP(*MODES[mode]) as server:
        run(body)


@pytest.mark.parametrize("mode", ["sse", "json"])
def test_reconnection_after_the_server_closes_the_stream(mode):
    """The SDK resumes with Last-Event-ID after the server's retry time (SEP-1699)."""
    async def body():
        async with connect(server.url) as (s, _):
            r = await s.call_tool("test_reconnection", {})
            assert not r.is_error and texts(r) == "Reconnection test completed"
    with EverythingHTTP(*MODES[mode]) as server:
        run(body)


def test_concurrent_calls_on_one_session(server):
    async def body():
        async with connect(server.url) as (s, _):
            results: dict[int, str] = {}

            async def one(i: int) -> None:
                results[i] = texts(await s.call_tool("test_sleep", {"ms": 200 + 10 * i}))

            async with anyio.create_task_group() as tg:
                for i in range(8):
                    tg.start_soon(one, i)
            assert results == {i: f"Slept {200 + 10 * i} ms" for i in range(8)}
    run(body)


def test_legacy_sse_client():
    async def body():
        with EverythingHTTP() as server:
            async with sse_client(server.base + "/sse") as (read, write):
                async with ClientSession(read, write) as s:
                    init = await s.initialize()
                    assert init.protocol_version == LATEST
                    assert {t.name for t in (await s.list_tools()).tools} >= TOOLS
                    assert texts(await s.call_tool("test_echo", {"text": "legacy"})) == "legacy"
                    assert (await s.read_resource("test://static-text")).contents[0].text == STATIC_TEXT
    run(body)


def test_high_level_client_over_http(server):
    """mcp.Client ('auto' mode) probes with `server/discover` first; the server
    answers it on the shared endpoint (in every mode, stateless included), so the
    client speaks 2026-07-28; 'legacy' mode still initializes a 2025 session."""
    async def body():
        async with Client(server.url) as client:
            assert client.protocol_version == "2026-07-28"
            assert texts(await client.call_tool("test_simple_text", {})) == SIMPLE_TEXT
        async with Client(server.url, mode="legacy") as client:
            assert client.protocol_version == LATEST
            assert texts(await client.call_tool("test_simple_text", {})) == SIMPLE_TEXT
    run(body)


def test_list_changed_reaches_the_sdk_on_the_get_stream():
    """A notification unrelated to any request travels on the standalone GET
    stream, which the SDK opens after initialize."""
    seen: list[str] = []
    changed = anyio.Event()

    async def on_message(message) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            seen.append("tools")
            changed.set()

    async def body():
        async with connect(host.url(), message_handler=on_message) as (s, _):
            r = await s.call_tool("grow", {"name": "newcomer"})
            assert texts(r) == "added 0"
            with anyio.fail_after(10):
                await changed.wait()
            assert seen == ["tools"]
            assert "newcomer" in {t.name for t in (await s.list_tools()).tools}
    with HostHTTP({}) as host:
        run(body)
