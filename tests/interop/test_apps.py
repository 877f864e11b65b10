"""MCP Apps (io.modelcontextprotocol/ui) end to end on the everything server:
the app's tool (test_app_clock, `_meta.ui.resourceUri`) and its ui:// HTML
resource (`text/html;profile=mcp-app`) over raw Streamable HTTP at 2026-07-28
and in 2025-era sessions (validated against each revision's schema), and
through the official Python SDK client (mcp 2.3.0) forced to the modern era, in
auto mode, and over stdio."""
from __future__ import annotations

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters

from conftest import revision_schema, server_env
from http_support import EverythingHTTP, initialize, messages, post
from modern_support import MODERN, result

APP_URI = "ui://everything/clock.html"
APP_MIME = "text/html;profile=mcp-app"
UI = "io.modelcontextprotocol/ui"


@pytest.fixture(scope="module")
def server():
    with EverythingHTTP() as s:
        yield s


def check_app(tools: list[dict], resources: list[dict], read: dict) -> None:
    tool = next(t for t in tools if t["name"] == "test_app_clock")
    assert tool["_meta"]["ui"]["resourceUri"] == APP_URI
    assert tool["_meta"]["ui"]["visibility"] == ["model", "app"]
    res = next(r for r in resources if r["uri"] == APP_URI)
    assert res["mimeType"] == APP_MIME and res["_meta"]["ui"]["prefersBorder"] is True
    (content,) = read["contents"]
    assert content["uri"] == APP_URI and content["mimeType"] == APP_MIME
    assert content["text"].startswith("<!doctype html>") and "ui/initialize" in content["text"]
    assert "src=" not in content["text"] and "href=" not in content["text"], "self-contained: no external assets"


def test_the_app_at_2026_07_28(server):
    discover = result(server.url, "server/discover")
    assert discover["capabilities"]["extensions"][UI] == {"mimeTypes": [APP_MIME]}
    tools = result(server.url, "tools/list")["tools"]
    resources = result(server.url, "resources/list")["resources"]
    read = result(server.url, "resources/read", {"uri": APP_URI})
    check_app(tools, resources, read)
    called = result(server.url, "tools/call", {"name": "test_app_clock", "arguments": {}})
    assert called["structuredContent"]["time"] == called["content"][0]["text"]


@pytest.mark.parametrize("version", ["2025-11-25", "2025-06-18"])
def test_the_app_in_a_2025_session(server, version):
    schema = revision_schema(version)
    sid = initialize(server.url, version=version)

    def ask(rid: int, method: str, params: dict | None = None, kind: str = "") -> dict:
        resp = post(server.url, {"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}},
                    session=sid, version=version)
        (msg,) = messages(resp)
        assert not schema.errors(kind, msg["result"]), schema.errors(kind, msg["result"])
        return msg["result"]

    tools = ask(1, "tools/list", kind="ListToolsResult")["tools"]
    resources = ask(2, "resources/list", kind="ListResourcesResult")["resources"]
    read = ask(3, "resources/read", {"uri": APP_URI}, kind="ReadResourceResult")
    check_app(tools, resources, read)


def sdk_check(url_or_params, mode: str | None) -> None:
    async def main() -> None:
        kw = {"mode": mode} if mode else {}
        with anyio.fail_after(60):
            async with Client(url_or_params, **kw) as c:
                assert c.protocol_version == MODERN
                # Forced to the modern era the SDK sends no server/discover of its own.
                if mode is None:
                    assert UI in (c.server_capabilities.extensions or {})
                else:
                    assert UI in (await c.session.send_discover(MODERN))["capabilities"]["extensions"]
                tool = next(t for t in (await c.list_tools()).tools if t.name == "test_app_clock")
                assert tool.meta and tool.meta["ui"]["resourceUri"] == APP_URI
                res = next(r for r in (await c.list_resources()).resources if r.uri == APP_URI)
                assert res.mime_type == APP_MIME
                read = await c.read_resource(APP_URI)
                content = read.contents[0]
                assert isinstance(content, types.TextResourceContents) and content.mime_type == APP_MIME
                assert content.text.startswith("<!doctype html>")
                called = await c.call_tool("test_app_clock", {})
                assert called.structured_content and called.structured_content["time"]
    anyio.run(main)


@pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")
@pytest.mark.parametrize("mode", [MODERN, None])
def test_the_official_sdk_sees_the_app_over_http(server, mode):
    sdk_check(server.url, mode)


@pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")
def test_the_official_sdk_sees_the_app_over_stdio(server_binary):
    sdk_check(StdioServerParameters(command=server_binary, args=[], env=server_env()), MODERN)
