"""HTTP embedded in the test process: start_http / stop_http / run_http with the official client."""
from __future__ import annotations

import threading
import time

import anyio
import httpx2
import pytest

import libmcp
from libmcp import Context, Server

from conftest import connect_http, run, texts

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")


@pytest.fixture
def srv():
    server = Server("embedded", "1.0")

    @server.tool()
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool()
    def slow(ms: int) -> str:
        time.sleep(ms / 1000)
        return "finished"

    @server.tool()
    async def resumable(ctx: Context) -> str:
        ctx.close_stream()
        await ctx.report_progress(1, 2, "after the stream closed")
        await anyio.sleep(0.3)
        return "resumed"

    yield server
    server.close()


@pytest.mark.parametrize("json_response", [False, True])
def test_start_http_serves_the_official_client(srv, json_response):
    port = srv.start_http("127.0.0.1", 0, json_response=json_response)
    assert 0 < port < 65536
    url = f"http://127.0.0.1:{port}/mcp"
    with pytest.raises(libmcp.StateError):
        srv.start_http("127.0.0.1", 0)

    async def body():
        async with connect_http(url) as (s, init):
            assert init.server_info.name == "embedded"
            r = await s.call_tool("add", {"a": 20, "b": 22})
            assert texts(r) == "42" and r.structured_content == {"result": 42}
            # A tool added while serving is seen at once.
            srv.add_tool(lambda: "late", name="late")
            assert texts(await s.call_tool("late", {})) == "late"
    run(body)
    srv.stop_http(5)
    with pytest.raises(httpx2.ConnectError):
        httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    srv.stop_http(1)  # not listening: a no-op
    assert srv.start_http("127.0.0.1", 0) > 0, "a stopped listener can start again"


def test_stop_http_drains_a_call_in_flight(srv):
    """stop_http waits for the answer of a call already running, then closes; raw HTTP (JSON
    answers), so the client's own teardown after the listener is gone does not interfere."""
    port = srv.start_http("127.0.0.1", 0, json_response=True)
    url = f"http://127.0.0.1:{port}/mcp"
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    with httpx2.Client(timeout=10) as http:
        r = http.post(url, headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
        assert r.status_code == 200, r.text
        headers["Mcp-Session-Id"] = r.headers["mcp-session-id"]
        http.post(url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        answers = []

        def call():
            answers.append(http.post(url, headers=headers, json={
                "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "slow", "arguments": {"ms": 800}}}).json())
        t = threading.Thread(target=call)
        t.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        srv.stop_http(5.0)
        waited = time.monotonic() - t0
        t.join(10)
    assert answers and answers[0]["result"]["structuredContent"] == {"result": "finished"}
    assert 0.2 < waited < 4.0, f"stop_http returned after {waited:.2f} s"
    with pytest.raises(httpx2.ConnectError):
        httpx2.post(url, json={"jsonrpc": "2.0", "id": 3, "method": "ping"})


def test_close_stream_lets_the_client_resume(srv):
    port = srv.start_http("127.0.0.1", 0, sse_retry_ms=100)

    async def body():
        progress = []

        async def on_progress(p, total, message):
            progress.append(message)
        async with connect_http(f"http://127.0.0.1:{port}/mcp") as (s, _):
            r = await s.call_tool("resumable", {}, progress_callback=on_progress)
            assert texts(r) == "resumed"
            assert progress == ["after the stream closed"]
    run(body)


def test_close_stream_is_unsupported_in_process(srv):
    @srv.tool()
    def try_close(ctx: Context) -> str:
        try:
            ctx.close_stream()
        except libmcp.Unsupported as e:
            return f"unsupported: {e}"
        return "closed"

    s = srv.connect()
    s.initialize()
    r = s.request("tools/call", {"name": "try_close", "arguments": {}})
    assert r["structuredContent"]["result"].startswith("unsupported: close_stream: ")


def test_bad_http_options_are_refused(srv):
    with pytest.raises(libmcp.InvalidArgument, match="no_such_option"):
        srv.start_http("127.0.0.1", 0, no_such_option=True)
    with pytest.raises(libmcp.InvalidArgument):
        srv.start_http("127.0.0.1", 70000)
    with pytest.raises(libmcp.MCPError):
        srv.start_http("203.0.113.1", 0)  # not an address of this machine: bind fails


def test_run_http_returns_on_stop(srv):
    ready = threading.Event()
    ports = []

    def on_ready(port):
        ports.append(port)
        ready.set()

    t = threading.Thread(target=srv.run_http, args=("127.0.0.1", 0), kwargs={"on_ready": on_ready})
    t.start()
    try:
        assert ready.wait(10)

        async def body():
            async with connect_http(f"http://127.0.0.1:{ports[0]}/mcp") as (s, _):
                assert texts(await s.call_tool("add", {"a": 1, "b": 1})) == "2"
        run(body)
    finally:
        srv.stop()
        t.join(10)
    assert not t.is_alive()
    with pytest.raises(httpx2.ConnectError):
        httpx2.post(f"http://127.0.0.1:{ports[0]}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})


def test_run_http_says_where_it_listens(srv, capfd):
    ready = threading.Event()
    ports = []
    t = threading.Thread(target=srv.run_http, args=("127.0.0.1", 0),
                         kwargs={"on_ready": lambda p: (ports.append(p), ready.set()), "path": "/tools"})
    t.start()
    try:
        assert ready.wait(10)
    finally:
        srv.stop()
        t.join(10)
    err = capfd.readouterr().err
    assert f"libmcp: serving MCP on http://127.0.0.1:{ports[0]}/tools (Ctrl-C to stop)\n" in err

    srv.run_http("127.0.0.1", 0, announce=False, on_ready=lambda p: srv.stop())
    assert "serving MCP" not in capfd.readouterr().err


def test_a_port_in_use_reads_as_the_system_says_it(srv):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(libmcp.EngineIOError) as e:  # importable from the package root, an OSError too
            srv.start_http("127.0.0.1", port)
    assert isinstance(e.value, OSError)
    assert str(e.value) == f"start_http: Cannot listen on 127.0.0.1:{port}: Address already in use"
    assert srv.start_http("127.0.0.1", 0) > 0  # the failed attempt left nothing behind
    srv.stop_http()
