"""The official Python SDK client (mcp==2.3.0) at revision 2026-07-28 against the
everything server: forced to the modern era (mode="2026-07-28") and in its
default 'auto' mode (server/discover probe), over Streamable HTTP with JSON and
SSE answers, the stateless HTTP mode, and stdio; and a 2025 client beside a
modern one on the same server process at the same time."""
from __future__ import annotations

import base64
from typing import Any, Awaitable, Callable

import anyio
import mcp_types as types
import pytest
from mcp import Client, MCPError, StdioServerParameters

from conftest import (
    EMBEDDED_TEXT, ERROR_TEXT, LATEST, MIXED_TEXT, PNG_MAGIC, PROMPTS, RESOURCES, SIMPLE_PROMPT_TEXT,
    SIMPLE_TEXT, STATIC_TEXT, TEMPLATES, TOOLS, server_env,
)
from http_support import EverythingHTTP
from modern_support import MODERN, SERVER_NAME

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")

MODES = {"sse": (), "json": ("--json-response",), "stateless": ("--stateless",)}


def run(body: Callable[[], Awaitable[None]], timeout: float = 60.0) -> None:
    async def main() -> None:
        with anyio.fail_after(timeout):
            await body()
    anyio.run(main)


def texts(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


@pytest.fixture(scope="module", params=list(MODES))
def http_server(request):
    with EverythingHTTP(*MODES[request.param]) as s:
        yield s


async def every_fixture(c: Client) -> None:
    """Every 2025 fixture that needs no server-to-client request, at 2026-07-28."""
    assert c.protocol_version == MODERN
    tools = (await c.list_tools()).tools
    assert {t.name for t in tools} >= TOOLS | {"test_logging_tool", "test_missing_capability", "test_header_param"}
    assert texts(await c.call_tool("test_simple_text", {})) == SIMPLE_TEXT
    img = await c.call_tool("test_image_content", {})
    assert base64.b64decode(img.content[0].data).startswith(PNG_MAGIC)
    emb = await c.call_tool("test_embedded_resource", {})
    assert emb.content[0].resource.text == EMBEDDED_TEXT
    mixed = await c.call_tool("test_multiple_content_types", {})
    assert mixed.content[0].text.startswith(MIXED_TEXT)
    err = await c.call_tool("test_error_handling", {})
    assert err.is_error and ERROR_TEXT in texts(err)
    echo = await c.call_tool("test_echo", {"text": "modern"})
    assert echo.structured_content == {"text": "modern"}
    # The SDK mirrors x-mcp-header arguments into Mcp-Param-* over HTTP; the server checks them.
    hp = await c.call_tool("test_header_param", {"region": "eu-west-3", "count": 7, "dry_run": False})
    assert texts(hp) == "region=eu-west-3 count=7 dry_run=false"
    assert {r.uri for r in (await c.list_resources()).resources} >= RESOURCES
    assert {t.uri_template for t in (await c.list_resource_templates()).resource_templates} >= TEMPLATES
    assert (await c.read_resource("test://static-text")).contents[0].text == STATIC_TEXT
    assert (await c.read_resource("test://template/42/data")).contents[0].text
    with pytest.raises(MCPError) as e:
        await c.read_resource("test://nothing-here")
    assert e.value.code == -32602
    assert {p.name for p in (await c.list_prompts()).prompts} >= PROMPTS
    p = await c.get_prompt("test_simple_prompt", {})
    assert p.messages[0].content.text == SIMPLE_PROMPT_TEXT
    p = await c.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
    assert "a" in p.messages[0].content.text
    with pytest.raises(MCPError) as e:
        await c.call_tool("test_missing_capability", {})
    assert e.value.code == -32021


def test_forced_modern_over_http(http_server):
    async def body():
        async with Client(http_server.url, mode=MODERN) as c:
            await every_fixture(c)
    run(body)


def test_auto_mode_over_http_adopts_the_modern_revision(http_server):
    async def body():
        async with Client(http_server.url) as c:
            assert c.protocol_version == MODERN
            assert c.server_info is not None and c.server_info.name == SERVER_NAME
            assert set(c.server_capabilities.extensions) == {
                "com.example/everything-fixtures", "io.modelcontextprotocol/tasks", "io.modelcontextprotocol/ui"}
            await every_fixture(c)
    run(body)


def test_logs_and_progress_reach_the_sdk_only_when_asked(http_server):
    logs: list[Any] = []
    progress: list[float] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(params.data)

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(p)

    async def body():
        async with Client(http_server.url, mode=MODERN, logging_callback=on_log) as c:
            await c.call_tool("test_logging_tool", {})
            assert logs == [], "no log messages for a request without a logLevel"
        async with Client(http_server.url, mode=MODERN, logging_callback=on_log, log_level="info") as c:
            await c.call_tool("test_logging_tool", {})
            assert len(logs) == 3
            r = await c.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
            assert not r.is_error
            assert progress == [0, 50, 100]
    run(body)


def test_modern_over_stdio_forced_and_auto(server_binary):
    async def body():
        params = StdioServerParameters(command=server_binary, args=[], env=server_env())
        async with Client(params, mode=MODERN) as c:
            await every_fixture(c)
        logs: list[Any] = []

        async def on_log(params: types.LoggingMessageNotificationParams) -> None:
            logs.append(params.data)

        async with Client(params, logging_callback=on_log, log_level="info") as c:
            assert c.protocol_version == MODERN and c.server_info.name == SERVER_NAME
            # Concurrent requests on one connection, each with its own context.
            async with anyio.create_task_group() as tg:
                for _ in range(4):
                    tg.start_soon(c.call_tool, "test_logging_tool", {})
                for _ in range(4):
                    tg.start_soon(c.call_tool, "test_simple_text", {})
            assert len(logs) == 12
            await every_fixture(c)
    run(body)


def test_a_2025_client_and_a_modern_client_at_once(http_server):
    async def legacy(results: dict) -> None:
        async with Client(http_server.url, mode="legacy") as c:
            assert c.protocol_version == LATEST
            for i in range(5):
                assert texts(await c.call_tool("test_echo", {"text": f"l{i}"})) == f"l{i}"
            results["legacy"] = (await c.list_tools()).tools

    async def modern(results: dict) -> None:
        async with Client(http_server.url, mode=MODERN) as c:
            for i in range(5):
                assert texts(await c.call_tool("test_echo", {"text": f"m{i}"})) == f"m{i}"
            results["modern"] = (await c.list_tools()).tools

    async def body():
        results: dict = {}
        async with anyio.create_task_group() as tg:
            tg.start_soon(legacy, results)
            tg.start_soon(modern, results)
        assert [t.name for t in results["legacy"]] == [t.name for t in results["modern"]], "one registry"
    run(body)
