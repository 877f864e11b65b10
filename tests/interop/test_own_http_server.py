"""examples/c/own_http_server.c: MCP inside a C host's own (tiny) web server through
mcp_http_handler_t, driven by the official Python SDK client in both eras, progress streamed
through the host's server event by event; the host's other routes stay its own."""
from __future__ import annotations

import select
import subprocess
import time

import anyio
import httpx2
import pytest
from mcp import Client
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from conftest import BUILD_DIR, server_env

EXAMPLE = BUILD_DIR / "bin" / "example_own_http_server"
pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")


@pytest.fixture
def own_server():
    if not EXAMPLE.is_file():
        pytest.fail(f"{EXAMPLE} not built (cmake --build {BUILD_DIR})", pytrace=False)
    proc = subprocess.Popen([str(EXAMPLE), "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=server_env())
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    url = proc.stdout.readline().strip() if ready else ""
    try:
        assert url.startswith("http://127.0.0.1:"), f"no URL printed: {url!r}"
        yield url
    finally:
        proc.kill()
        proc.wait(10)


def run(body, timeout=60.0):
    async def main():
        with anyio.fail_after(timeout):
            await body()
    anyio.run(main)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_official_client_through_a_c_hosts_server(own_server, mode):
    async def body():
        seen = []

        async def on_progress(progress, total, message):
            seen.append((progress, total, message, time.monotonic()))

        async with Client(own_server, mode=mode, read_timeout_seconds=20) as c:
            assert (c.protocol_version in MODERN_PROTOCOL_VERSIONS) == (mode != "legacy")
            assert [t.name for t in (await c.list_tools()).tools] == ["count"]
            started = time.monotonic()
            r = await c.call_tool("count", {"to": 4}, progress_callback=on_progress)
            finished = time.monotonic()
            assert r.content[0].text == "counted to 4"
            assert [(p, t, m) for p, t, m, _ in seen] == [(i, 4, f"step {i}") for i in range(1, 5)]
            assert seen[0][3] - started < (finished - started) - 0.15  # streamed, not gathered
        async with httpx2.AsyncClient() as hc:
            page = await hc.get(own_server.replace("/mcp", "/"))
            assert page.status_code == 200 and page.text == "the host's own page\n"
            r = await hc.post(own_server, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                              headers={"Origin": "http://evil.example"})
            assert r.status_code == 403
    run(body)
