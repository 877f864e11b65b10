"""mcp-bridge with children that misbehave (tests/interop/fixtures/bridge_child.py): one that
dies mid-call, one that writes garbage on stdout, one that never answers. Each client gets a
clear error, and the bridge keeps serving its other clients (--per-session: each 2025-era
session has its own child) and starts a dead child again for the next request.
"""
from __future__ import annotations

import subprocess
import time

import anyio
import pytest

from mcp import Client, MCPError

from bridge_support import HOSTILE_CHILD, Bridge, require_bridge
from conftest import server_env

CALL_TIMEOUT = 30


def client(url: str, mode: str = "legacy") -> Client:
    return Client(url, mode=mode, read_timeout_seconds=CALL_TIMEOUT, cache=None)


async def pid(c: Client) -> int:
    return int((await c.call_tool("pid", {})).content[0].text)


def test_per_session_children_and_a_crash():
    async def main(url):
        async with client(url) as a, client(url) as b:
            pa, pb = await pid(a), await pid(b)
            assert pa != pb                      # one child per session
            assert await pid(a) == pa            # and the same one each time
            with pytest.raises(MCPError) as e:
                await a.call_tool("crash", {})
            assert e.value.code == -32603
            assert "closed the connection during tools/call" in e.value.message
            assert e.value.data == {"reason": "upstream_closed"}
            assert await pid(b) == pb            # the other session never noticed
            restarted = await pid(a)             # a's child is started again
            assert restarted not in (pa, pb)
            # 2026-07-28 requests have no session: they go to the first child.
            async with client(url, "2026-07-28") as m:
                pm = await pid(m)
                assert pm not in (pa, pb, restarted)

    with Bridge(HOSTILE_CHILD, "--per-session") as b:
        anyio.run(main, b.url)
        assert "upstream" in b.stderr_text()


def test_shared_child_restarts_after_a_crash():
    async def main(url):
        async with client(url) as a, client(url, "2026-07-28") as m:
            first = await pid(a)
            assert await pid(m) == first          # one child for everyone
            with pytest.raises(MCPError) as e:
                await m.call_tool("crash", {})
            assert e.value.data == {"reason": "upstream_closed"}
            assert await pid(a) != first          # restarted, tools still offered
            assert await pid(m) == await pid(a)

    with Bridge(HOSTILE_CHILD) as b:
        anyio.run(main, b.url)


def test_garbage_on_the_childs_stdout():
    """Lines that are not JSON-RPC are skipped (and shown on the bridge's stderr); the call
    they interrupt still gets its answer."""
    async def main(url):
        async with client(url) as a:
            assert (await a.call_tool("garbage", {})).content[0].text == "after garbage"
            await pid(a)

    with Bridge(HOSTILE_CHILD) as b:
        anyio.run(main, b.url)
        assert "this is not json" in b.stderr_text()


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_a_stalled_child_gets_a_timeout_and_others_are_served(mode):
    async def main(url):
        async with client(url, mode) as a, client(url, mode) as b:
            await pid(a)
            await pid(b)                          # (a per-session child starts at its first call)
            outcome = {}

            async def stall():
                started = time.monotonic()
                with pytest.raises(MCPError) as e:
                    await a.call_tool("stall", {})
                outcome["error"] = e.value
                outcome["seconds"] = time.monotonic() - started

            async with anyio.create_task_group() as tg:
                tg.start_soon(stall)
                await anyio.sleep(0.3)
                await pid(b)                     # answered while a's call hangs
                outcome["served_meanwhile"] = "error" not in outcome
            e = outcome["error"]
            assert outcome["served_meanwhile"]
            assert e.code == -32603 and e.data == {"reason": "upstream_timeout"}
            assert "did not answer tools/call within 2000 ms" in e.message
            assert outcome["seconds"] < 15
            await pid(a)                          # the child still serves

    flags = ("--timeout", "2000") + (("--per-session",) if mode == "legacy" else ())
    with Bridge(HOSTILE_CHILD, *flags) as b:
        anyio.run(main, b.url)


def test_a_child_that_cannot_start():
    p = subprocess.run([require_bridge(), "--listen", "127.0.0.1:0", "--", "/nonexistent/server"],
                       capture_output=True, env=server_env(), timeout=60)
    assert p.returncode == 3
    assert b"cannot reach the upstream server" in p.stderr


@pytest.mark.parametrize("argv,message", [
    ([], b"give exactly one of --listen and --connect"),
    (["--listen", "nohost:port", "--", "x"], b"--listen wants HOST:PORT"),
    (["--listen", "127.0.0.1:0"], b"--listen needs -- COMMAND"),
    (["--connect", "http://127.0.0.1:1/mcp", "--per-session"], b"--connect takes no COMMAND"),
    (["--listen", "127.0.0.1:0", "--timeout", "0", "--", "x"], b"--timeout wants a number"),
    (["--listen", "127.0.0.1:0", "--config", "/nonexistent.json", "--", "x"], b"/nonexistent.json"),
])
def test_usage_errors(argv, message):
    p = subprocess.run([require_bridge(), *argv], capture_output=True, env=server_env(), timeout=60)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr
