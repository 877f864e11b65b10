"""srv.asgi_app() mounted in a Starlette application served by uvicorn, driven by the official
SDK client (mcp==2.3.0) in both eras: calls, progress streamed event by event, the checks of the
engine's own listener, and a client that disconnects mid-stream (its call is cancelled and
nothing of its exchange stays behind)."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from conftest import run, texts, wait_for
from libmcp import Context, Server, _asgi, _callbacks

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")


class Hosted:
    """A libmcp server mounted at /mcp of a Starlette app, beside a page of the app's own,
    served by uvicorn on a thread of this process."""

    def __init__(self, mount: str | None = None, uvicorn_options: dict | None = None, **options):
        self.srv = Server("asgi-test", "1.0")
        self.cancelled = threading.Event()
        self.started = threading.Event()
        srv = self.srv

        @srv.tool()
        def add(a: int, b: int) -> int:
            return a + b

        @srv.tool()
        async def steps(n: int, ctx: Context) -> str:
            for i in range(1, n + 1):
                await ctx.report_progress(i, n, f"step {i}")
                await asyncio.sleep(0.05)
            return "done"

        @srv.tool()
        def hold(ctx: Context) -> str:
            ctx.report_progress(1, 2, "holding")
            self.started.set()
            if ctx.wait_cancelled(30):
                self.cancelled.set()
                return "cancelled"
            return "timeout"

        page = Route("/", lambda request: PlainTextResponse("the host's own page"))
        if mount:  # as app.mount(prefix, ...) in FastAPI: the path clients use includes the prefix
            self.app = srv.asgi_app(path=mount + "/mcp", **options)
            starlette = Starlette(routes=[page, Mount(mount, routes=[Route("/mcp", self.app)])])
        else:
            self.app = srv.asgi_app(**options)
            starlette = Starlette(routes=[page, Route("/mcp", self.app)])
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}{mount or ''}/mcp"
        self.server = uvicorn.Server(uvicorn.Config(starlette, log_level="warning", lifespan="off",
                                                    **(uvicorn_options or {})))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        assert wait_for(lambda: self.server.started, 20), "uvicorn did not start"

    def close(self):
        self.server.should_exit = True
        self.thread.join(20)
        self.srv.close()


@pytest.fixture
def hosted():
    h = Hosted()
    yield h
    h.close()


def wakers() -> int:
    """Exchanges whose wake callback the engine still holds."""
    return sum(1 for o in list(_callbacks._objects.values()) if isinstance(o, _asgi._Waker))


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28", "auto"])
def test_official_client_through_uvicorn(hosted, mode):
    async def body():
        seen = []

        async def on_progress(progress, total, message):
            seen.append((progress, total, message, time.monotonic()))

        async with Client(hosted.url, mode=mode, read_timeout_seconds=20) as c:
            modern = c.protocol_version in MODERN_PROTOCOL_VERSIONS
            assert modern == (mode != "legacy")
            assert {t.name for t in (await c.list_tools()).tools} == {"add", "steps", "hold"}
            r = await c.call_tool("add", {"a": 2, "b": 40})
            assert texts(r) == "42" and r.structured_content == {"result": 42}
            started = time.monotonic()
            r = await c.call_tool("steps", {"n": 4}, progress_callback=on_progress)
            finished = time.monotonic()
            assert texts(r) == "done"
            assert [(p, t, m) for p, t, m, _ in seen] == [(i, 4, f"step {i}") for i in range(1, 5)]
            # Streamed as produced, not gathered at the end: the first progress arrived well
            # before the answer (the tool sleeps 50 ms between steps).
            assert seen[0][3] - started < (finished - started) - 0.1
        async with httpx2.AsyncClient() as hc:  # the host's own route is untouched
            page = await hc.get(f"http://127.0.0.1:{hosted.port}/")
            assert page.status_code == 200 and page.text == "the host's own page"
    run(body)
    assert wait_for(lambda: wakers() == 0, 10)


def test_listener_checks_apply():
    hosted = Hosted(max_body_bytes=65536)

    async def body():
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}}}}
        async with httpx2.AsyncClient() as hc:
            r = await hc.post(hosted.url, json=call, headers={"Origin": "http://evil.example"})
            assert r.status_code == 403 and "Origin" in r.json()["error"]["message"]
            r = await hc.post(hosted.url, content=b"{}", headers={"Content-Type": "text/plain"})
            assert r.status_code == 415
            r = await hc.post(hosted.url, content=b"x" * 100_000, headers={"Content-Type": "application/json"})
            assert r.status_code == 413 and "65536-byte limit" in r.json()["error"]["message"]
            r = await hc.get(hosted.url, headers={"Accept": "text/event-stream"})
            assert r.status_code == 400 and "Mcp-Session-Id" in r.json()["error"]["message"]
            r = await hc.post(hosted.url, json=call, headers={"Accept": "application/json",
                                                              "MCP-Protocol-Version": "2026-07-28",
                                                              "Mcp-Method": "tools/list"})
            assert r.status_code == 200 and r.headers["content-type"] == "application/json", r.text
            assert {t["name"] for t in r.json()["result"]["tools"]} == {"add", "steps", "hold"}
    try:
        run(body)
    finally:
        hosted.close()


def test_client_disconnect_mid_stream_cancels_and_leaks_nothing(hosted):
    before = _callbacks.live_count()

    async def one_disconnect():
        hosted.started.clear()
        hosted.cancelled.clear()
        call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "hold", "arguments": {},
                "_meta": {"progressToken": 1, "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                          "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
                          "io.modelcontextprotocol/clientCapabilities": {}}}}
        headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2026-07-28",
                   "Mcp-Method": "tools/call", "Mcp-Name": "hold"}
        async with httpx2.AsyncClient(timeout=20) as hc:
            async with hc.stream("POST", hosted.url, json=call, headers=headers) as r:
                assert r.status_code == 200 and r.headers["content-type"] == "text/event-stream"
                async for line in r.aiter_lines():
                    if line.startswith("data:") and "notifications/progress" in line:
                        assert json.loads(line[5:])["params"]["message"] == "holding"
                        break
        # The client went away with the call in flight: the engine cancels it.
        await anyio.to_thread.run_sync(hosted.cancelled.wait, 10)
        assert hosted.cancelled.is_set()

    async def body():
        for _ in range(3):
            await one_disconnect()
    run(body)
    assert wait_for(lambda: wakers() == 0, 10), "an exchange's wake callback was never released"
    assert wait_for(lambda: _callbacks.live_count() <= before, 10)

    # And the endpoint still serves.
    async def again():
        async with Client(hosted.url, mode="2026-07-28", read_timeout_seconds=20) as c:
            assert texts(await c.call_tool("add", {"a": 1, "b": 2})) == "3"
    run(again)


def test_mounted_under_a_prefix():
    h = Hosted(mount="/api")
    try:
        async def body():
            async with Client(h.url, mode="auto", read_timeout_seconds=20) as c:
                assert texts(await c.call_tool("add", {"a": 20, "b": 22})) == "42"
        run(body)
    finally:
        h.close()


def test_close_releases_and_refuses():
    h = Hosted()
    try:
        h.app.close()
        h.app.close()  # idempotent

        async def body():
            async with httpx2.AsyncClient() as hc:
                r = await hc.post(h.url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
                assert r.status_code == 503
        run(body)
    finally:
        h.close()


def test_listener_only_options_refused(server):
    from libmcp import errors
    with pytest.raises(errors.InvalidArgument, match="port"):
        server.asgi_app(port=8000)


EXIT_SCRIPT = r"""
import asyncio, socket, threading, time
import httpx2, uvicorn
from starlette.applications import Starlette
from starlette.routing import Route
from libmcp import Server
srv = Server("exit", "1")
@srv.tool()
def add(a: int, b: int) -> int:
    return a + b
sock = socket.socket(); sock.bind(("127.0.0.1", 0)); port = sock.getsockname()[1]
server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/mcp", srv.asgi_app())]), log_level="warning",
                                       lifespan="off"))
threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
while not server.started:
    time.sleep(0.01)
body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
                  "io.modelcontextprotocol/clientCapabilities": {}}}}
headers = {"Accept": "application/json", "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call",
           "Mcp-Name": "add"}
async def main():
    async with httpx2.AsyncClient() as c:
        r = await c.post(f"http://127.0.0.1:{port}/mcp", json=body, headers=headers)
        assert r.status_code == 200, r.text
asyncio.run(main())
print("served")
"""


def test_interpreter_exit_with_the_app_open(tmp_path):
    """Neither the app nor the server closed, uvicorn still running: the exit hooks free the
    app first and the server's close must not reach the freed handler again."""
    import subprocess
    import sys

    from conftest import child_env
    script = tmp_path / "exit_app.py"
    script.write_text(EXIT_SCRIPT)
    for _ in range(3):
        p = subprocess.run([sys.executable, str(script)], env=child_env(), capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and "served" in p.stdout, (p.returncode, p.stdout, p.stderr[-2000:])


@pytest.mark.parametrize("how", ["timeout_graceful_shutdown", "app.close"])
def test_graceful_shutdown_with_an_open_stream(how):
    """uvicorn ends its lifespan only after every connection has ended, and a 2025-era GET stream
    does not end by itself. Either way the README gives ends it: uvicorn's
    timeout_graceful_shutdown cancels it, or the host closes the app first. The engine releases
    the exchange and the process can exit."""
    h = Hosted(uvicorn_options={"timeout_graceful_shutdown": 1} if how == "timeout_graceful_shutdown" else {})
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    accept = {"Accept": "application/json, text/event-stream"}
    stopped_after = None

    async def body():
        nonlocal stopped_after
        async with httpx2.AsyncClient(timeout=20) as hc:
            r = await hc.post(h.url, json=init, headers=accept)
            assert r.status_code == 200, r.text
            sid = r.headers["mcp-session-id"]
            headers = {"Accept": "text/event-stream", "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"}
            await hc.post(h.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                          headers={**accept, **headers})
            async with hc.stream("GET", h.url, headers=headers) as stream:
                assert stream.status_code == 200
                assert wait_for(lambda: wakers() == 1, 10), "the GET stream is not open in the engine"
                began = time.monotonic()
                if how == "app.close":
                    await h.app.aclose(2)
                h.server.should_exit = True
                await anyio.to_thread.run_sync(h.thread.join, 15)
                stopped_after = time.monotonic() - began
                try:  # the stream ended (cut by uvicorn, or closed by the engine), not left open
                    with anyio.fail_after(5):
                        async for _ in stream.aiter_lines():
                            pass
                except httpx2.HTTPError:
                    pass
    try:
        run(body)
        assert not h.thread.is_alive(), "uvicorn still waits on the open stream"
        assert stopped_after is not None and stopped_after < 10, stopped_after
        assert wait_for(lambda: wakers() == 0, 10), "the stream's exchange was never released"
    finally:
        h.close()
