"""The official Python SDK client (mcp==2.3.0) drives the Go binding's fixture
server (internal/testserver) over stdio and over Streamable HTTP.

Run by interop_test.go (go test), which builds the server and passes its path
in GO_TESTSERVER. Every test runs once per transport under a hard deadline, so
a server that stops answering fails instead of hanging the suite.
"""
from __future__ import annotations

import base64
import os
import select
import signal
import subprocess
import tempfile
import time
from contextlib import asynccontextmanager
from typing import Any, Awaitable, Callable

import anyio
import mcp_types as types
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")

TESTSERVER = os.environ.get("GO_TESTSERVER", "")

TOOLS = {
    "test_echo", "test_progress", "test_logging", "test_sampling", "test_elicit", "test_roots",
    "test_wait_for_cancel", "test_cancel_count", "test_panic", "test_error", "test_touch",
}


def run(body: Callable[[], Awaitable[None]], timeout: float = 60.0) -> None:
    async def main() -> None:
        with anyio.fail_after(timeout):
            await body()
    anyio.run(main)


@pytest.fixture(params=["stdio", "http", "handler"])
def transport(request) -> str:
    if not TESTSERVER or not os.access(TESTSERVER, os.X_OK):
        pytest.fail(f"GO_TESTSERVER={TESTSERVER!r} is not an executable: run through `go test`", pytrace=False)
    return request.param


class HTTPServer:
    """testserver -http 127.0.0.1:0: reads the URL it prints; stop() sends
    SIGTERM and checks that ServeHTTP returned and the process exited 0."""

    def __init__(self, flag: str = "-http") -> None:
        self.errlog = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen([TESTSERVER, flag, "127.0.0.1:0"], stdout=subprocess.PIPE,
                                     stderr=self.errlog, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line.startswith("http://"):
            self.proc.kill()
            raise AssertionError(f"testserver -http printed no URL (got {line!r}){self.stderr()}")
        self.url = line

    def stderr(self) -> str:
        self.errlog.seek(0)
        err = self.errlog.read().strip()
        return f"\n--- server stderr ---\n{err[-3000:]}" if err else ""

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"testserver did not exit within 20 s of SIGTERM{self.stderr()}")
        assert rc == 0, f"testserver exited {rc} after SIGTERM{self.stderr()}"


@asynccontextmanager
async def connect(transport: str, **kwargs: Any):
    """An initialized ClientSession on a fresh Go server."""
    if transport == "stdio":
        params = StdioServerParameters(command=TESTSERVER, args=[], env=dict(os.environ))
        with tempfile.TemporaryFile("w+") as errlog:
            try:
                async with stdio_client(params, errlog=errlog) as (read, write):
                    async with ClientSession(read, write, **kwargs) as session:
                        init = await session.initialize()
                        yield session, init
            except BaseException:
                errlog.seek(0)
                print(f"--- server stderr ---\n{errlog.read()[-4000:]}")
                raise
    else:
        server = HTTPServer("-handler" if transport == "handler" else "-http")
        try:
            async with streamable_http_client(server.url) as (read, write):
                async with ClientSession(read, write, **kwargs) as session:
                    init = await session.initialize()
                    yield session, init
        except BaseException:
            print(server.stderr())
            server.proc.kill()
            raise
        server.stop()


def texts(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


def test_handshake_and_lists(transport):
    async def body():
        async with connect(transport) as (s, init):
            assert init.protocol_version == "2025-11-25"
            assert init.server_info.name == "go-fixture-server" and init.server_info.version == "1.0.0"
            assert init.server_info.title == "Go fixture server"
            assert init.instructions == "Fixtures for the Go binding's interop tests."
            caps = init.capabilities
            assert caps.tools is not None and caps.resources is not None and caps.prompts is not None
            assert caps.logging is not None and caps.completions is not None
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert set(tools) == TOOLS, set(tools) ^ TOOLS
            # Derived from the Go struct EchoArgs by reflection.
            assert tools["test_echo"].input_schema == {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "description": "the text to echo"},
                    "times": {"type": "integer", "description": "how many times (default 1)"},
                },
                "required": ["text"],
                "additionalProperties": False,
            }
            assert tools["test_echo"].description == "Echoes text."
            assert isinstance(await s.send_ping(), types.EmptyResult)
    run(body)


def test_typed_tool(transport):
    async def body():
        async with connect(transport) as (s, _):
            r = await s.call_tool("test_echo", {"text": "ab ✓", "times": 2})
            assert not r.is_error and texts(r) == "ab ✓ab ✓"
            assert r.structured_content == {"text": "ab ✓ab ✓"}
            r = await s.call_tool("test_echo", {"times": 2})
            assert r.is_error and texts(r) == 'Invalid arguments for tool test_echo: at /text: the required property "text" is missing'
            r = await s.call_tool("test_echo", {"text": "x", "colour": "red"})
            assert r.is_error and texts(r) == 'Invalid arguments for tool test_echo: at /colour: the property "colour" is not allowed'
            r = await s.call_tool("test_echo", {"text": 5})
            assert r.is_error and texts(r) == "Invalid arguments for tool test_echo: at /text: expected string, got integer"
    run(body)


def test_errors_and_panics_are_tool_results(transport):
    async def body():
        async with connect(transport) as (s, _):
            r = await s.call_tool("test_error", {})
            assert r.is_error is True and texts(r) == "fixture failure"
            r = await s.call_tool("test_panic", {})
            assert r.is_error is True and texts(r) == 'tool "test_panic" failed: panic: fixture panic'
            with pytest.raises(MCPError) as e:
                await s.call_tool("no_such_tool", {})
            assert e.value.code == -32602
            r = await s.call_tool("test_echo", {"text": "still alive"})
            assert texts(r) == "still alive"
    run(body)


def test_progress(transport):
    async def body():
        async with connect(transport) as (s, _):
            seen = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                seen.append((progress, total, message))

            r = await s.call_tool("test_progress", {}, progress_callback=on_progress)
            assert texts(r) == "progress done"
            assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")], seen
    run(body)


def test_logging(transport):
    async def body():
        got: list[types.LoggingMessageNotificationParams] = []

        async def on_log(params: types.LoggingMessageNotificationParams) -> None:
            got.append(params)

        async with connect(transport, logging_callback=on_log) as (s, _):
            await s.call_tool("test_logging", {})  # default level info: debug dropped
            await s.set_logging_level("debug")
            await s.call_tool("test_logging", {})
            with anyio.fail_after(5):
                while len(got) < 5:
                    await anyio.sleep(0.01)
            await s.send_ping()
            assert [p.level for p in got] == ["info", "warning", "debug", "info", "warning"], got
            assert all(p.logger == "fixture" for p in got)
            assert got[2].data == {"level": "debug"}
    run(body)


def test_sampling(transport):
    async def body():
        asked = []

        async def sampling(ctx, params: types.CreateMessageRequestParams):
            asked.append(params)
            prompt = params.messages[0].content.text
            return types.CreateMessageResult(role="assistant", model="py-model",
                                             content=types.TextContent(type="text", text=f"echo: {prompt}"))

        async with connect(transport, sampling_callback=sampling) as (s, _):
            r = await s.call_tool("test_sampling", {"prompt": "2+2?"})
            assert not r.is_error, texts(r)
            assert texts(r) == "LLM (py-model) said: echo: 2+2?"
            assert asked[0].max_tokens == 100 and asked[0].messages[0].role == "user"
    run(body)


def test_sampling_refused_by_client(transport):
    async def body():
        async with connect(transport) as (s, _):  # the SDK's default callback refuses
            r = await s.call_tool("test_sampling", {"prompt": "x"})
            assert r.is_error
            assert texts(r).startswith("mcp: "), texts(r)
    run(body)


def test_elicitation(transport):
    async def body():
        asked = []

        async def elicit(ctx, params):
            asked.append(params)
            return types.ElicitResult(action="accept", content={"name": "Ada", "email": "ada@example.com"})

        async with connect(transport, elicitation_callback=elicit) as (s, _):
            r = await s.call_tool("test_elicit", {})
            assert texts(r) == "accept email=ada@example.com name=Ada", texts(r)
            p = asked[0]
            assert p.message == "Who are you?"
            assert p.requested_schema["required"] == ["name"]
            assert p.requested_schema["properties"]["email"] == {"type": "string", "description": "your e-mail address"}
    run(body)


def test_roots(transport):
    async def body():
        async def roots(ctx):
            return types.ListRootsResult(roots=[types.Root(uri="file:///tmp/a", name="a"),
                                                types.Root(uri="file:///tmp/b")])

        async with connect(transport, list_roots_callback=roots) as (s, _):
            r = await s.call_tool("test_roots", {})
            assert texts(r) == "file:///tmp/a file:///tmp/b", texts(r)
    run(body)


def test_cancellation_reaches_the_handler_context(transport):
    """The SDK gives up after 0.5 s and sends notifications/cancelled; the Go
    handler's ctx.Done() fires with context.Canceled (test_cancel_count)."""
    async def body():
        async with connect(transport) as (s, _):
            r = await s.call_tool("test_cancel_count", {})
            assert r.structured_content == {"count": 0}
            t0 = time.monotonic()
            with pytest.raises(MCPError) as e:
                await s.call_tool("test_wait_for_cancel", {}, read_timeout_seconds=0.5)
            assert e.value.code == types.REQUEST_TIMEOUT
            with anyio.fail_after(5):
                while True:
                    r = await s.call_tool("test_cancel_count", {})
                    if r.structured_content != {"count": 0}:
                        break
                    await anyio.sleep(0.02)
            assert r.structured_content == {"count": 1} and texts(r) == "1"
            assert time.monotonic() - t0 < 10
    run(body)


def test_resources(transport):
    async def body():
        async with connect(transport) as (s, _):
            listed = {str(r.uri): r for r in (await s.list_resources()).resources}
            assert set(listed) == {"test://static", "test://binary", "test://missing"}
            assert listed["test://static"].mime_type == "text/plain"
            templates = (await s.list_resource_templates()).resource_templates
            assert [t.uri_template for t in templates] == ["test://items/{id}"]

            r = await s.read_resource("test://static")
            assert len(r.contents) == 1 and r.contents[0].text == "static text"
            r = await s.read_resource("test://binary")
            assert isinstance(r.contents[0], types.BlobResourceContents)
            assert base64.b64decode(r.contents[0].blob) == bytes([0, 1, 2, 3, 254, 255])
            r = await s.read_resource("test://items/42")
            assert r.contents[0].text == "item 42" and str(r.contents[0].uri) == "test://items/42"
            with pytest.raises(MCPError) as e:
                await s.read_resource("test://missing")
            assert e.value.code == -32002 and e.value.data == {"uri": "test://missing"}
    run(body)


def test_subscription(transport):
    async def body():
        updates = []

        async def on_message(msg) -> None:
            if isinstance(msg, types.ResourceUpdatedNotification):
                updates.append(str(msg.params.uri))

        async with connect(transport, message_handler=on_message) as (s, _):
            await s.subscribe_resource("test://static")
            r = await s.call_tool("test_touch", {})
            assert texts(r) == "1"
            with anyio.fail_after(5):
                while not updates:
                    await anyio.sleep(0.01)
            assert updates == ["test://static"]
    run(body)


def test_prompts(transport):
    async def body():
        async with connect(transport) as (s, _):
            prompts = (await s.list_prompts()).prompts
            assert [p.name for p in prompts] == ["greet"]
            args = {a.name: bool(a.required) for a in prompts[0].arguments}
            assert args == {"name": True, "style": False}
            r = await s.get_prompt("greet", {"name": "Ada", "style": "formal"})
            assert r.description == "greeting"
            assert r.messages[0].role == "user" and r.messages[0].content.text == "Greet Ada in a formal way."
            with pytest.raises(MCPError) as e:
                await s.get_prompt("greet", {"style": "formal"})
            assert e.value.code == -32602
    run(body)


def test_completion(transport):
    async def body():
        async with connect(transport) as (s, _):
            r = await s.complete(types.PromptReference(type="ref/prompt", name="greet"),
                                 {"name": "style", "value": "f"})
            assert r.completion.values == ["formal", "friendly", "funny"] and r.completion.total == 3
            r = await s.complete(types.ResourceTemplateReference(type="ref/resource", uri="test://items/{id}"),
                                 {"name": "id", "value": "1"})
            assert r.completion.values == ["1", "10", "11"]
    run(body)


# ------------------------------------------------------------ Server.Handler in a net/http mux

@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_handler_both_eras_with_progress(mode):
    """The official Client in each era through the Go handler mounted in a mux; progress arrives
    as it is sent, and the mux's own route still serves."""
    import httpx2
    from mcp import Client
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS

    server = HTTPServer("-handler")

    async def body():
        seen = []

        async def on_progress(progress, total, message):
            seen.append((progress, total, message))

        async with Client(server.url, mode=mode, read_timeout_seconds=20) as c:
            assert (c.protocol_version in MODERN_PROTOCOL_VERSIONS) == (mode != "legacy")
            r = await c.call_tool("test_echo", {"text": "hi", "times": 2})
            assert "hi" in texts(r)
            r = await c.call_tool("test_progress", {}, progress_callback=on_progress)
            assert texts(r) == "progress done"
            assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")], seen
        async with httpx2.AsyncClient() as hc:
            page = await hc.get(server.url.replace("/mcp", "/"))
            assert page.status_code == 200 and page.text == "the host's own page"
            r = await hc.post(server.url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                              headers={"Origin": "http://evil.example"})
            assert r.status_code == 403
    try:
        run(body)
    except BaseException:
        print(server.stderr())
        server.proc.kill()
        raise
    server.stop()


def test_handler_client_disconnect_cancels():
    """A 2026-07-28 client that drops its SSE stream mid-call: the Go handler's request context
    ends, the exchange is freed and the engine cancels the call (the handler's ctx.Done())."""
    import httpx2

    server = HTTPServer("-handler")
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}}

    def call(name, rid, **extra):
        return {"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                "params": {"name": name, "arguments": {}, "_meta": {**meta, **extra}}}

    def headers(name, accept="application/json, text/event-stream"):
        return {"Accept": accept, "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": name}

    async def body():
        async with httpx2.AsyncClient(timeout=20) as hc:
            async with hc.stream("POST", server.url, json=call("test_wait_for_cancel", 1),
                                 headers=headers("test_wait_for_cancel", "text/event-stream")) as r:
                # SSE only: the stream (and its head) opens at once, before any answer.
                assert r.status_code == 200
                await anyio.sleep(0.5)  # the call is running; the client goes away
        async with httpx2.AsyncClient(timeout=20) as hc:
            with anyio.fail_after(10):
                while True:
                    r = await hc.post(server.url, json=call("test_cancel_count", 2), headers=headers("test_cancel_count"))
                    count = r.json()["result"]["structuredContent"]["count"]
                    if count:
                        break
                    await anyio.sleep(0.05)
            assert count == 1
    try:
        run(body)
    except BaseException:
        print(server.stderr())
        server.proc.kill()
        raise
    server.stop()
