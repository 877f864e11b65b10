"""Leak checks: many calls and many sessions leave RSS (and the callback registry) where they were.

Each check warms up first (allocator pools, caches, worker threads), then measures
resident memory across a long run. A leak of even one small string per call
(~100 bytes) over the measured calls would exceed the bounds used here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import libmcp
from libmcp import Context

from conftest import SERVERS, child_env, pending_requests, registered, wait_for

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_kib(pid: int | str = "self") -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE // 1024


def build_server() -> libmcp.Server:
    srv = libmcp.Server("leaky", "1")

    @srv.tool()
    def echo(text: str) -> str:
        return text

    @srv.tool()
    async def progress(text: str, ctx: Context) -> dict[str, str]:
        await ctx.report_progress(1, 2)
        await ctx.info("note")
        return {"text": text}

    @srv.tool()
    def fail(text: str) -> str:
        raise ValueError(text)

    @srv.resource("leak://item/{n}")
    def item(n: int) -> str:
        return f"item {n}"

    @srv.prompt(completions={"word": ["alpha", "beta"]})
    def say(word: str) -> str:
        return word

    return srv


def one_round(s: libmcp.Session, i: int) -> None:
    assert s.request("tools/call", {"name": "echo", "arguments": {"text": f"t{i}"}})["structuredContent"] == \
        {"result": f"t{i}"}
    assert s.request("tools/call", {"name": "progress", "arguments": {"text": "p"},
                                    "_meta": {"progressToken": i}})["structuredContent"] == {"text": "p"}
    assert s.request("tools/call", {"name": "fail", "arguments": {"text": "bad"}})["isError"]
    assert s.request("tools/call", {"name": "echo", "arguments": {"text": 1}})["isError"]
    assert s.request("resources/read", {"uri": f"leak://item/{i}"})["contents"][0]["text"] == f"item {i}"
    assert s.request("prompts/get", {"name": "say", "arguments": {"word": "w"}})["messages"]
    s.messages.queue.clear()  # progress and log notifications
    s._pending.clear()


def test_many_calls_in_process():
    srv = build_server()
    core = srv._core
    s = srv.connect()
    s.initialize()
    for i in range(1500):
        one_round(s, i)
    before = rss_kib()
    for i in range(6000):  # 36,000 requests
        one_round(s, i)
    grown = rss_kib() - before
    print(f"RSS growth: {grown} KiB")
    s.close()
    srv.close()
    assert grown < 3072, f"RSS grew by {grown} KiB over 36,000 requests"
    assert wait_for(lambda: registered(core) == 0), "registrations or cancel hooks left in the registry"
    assert pending_requests() == 0


def test_completions_do_not_leak():
    """completion/complete answered by the binding's completion callback, 20,000 times."""
    srv = build_server()
    s = srv.connect()
    s.initialize()
    request = {"ref": {"type": "ref/prompt", "name": "say"}, "argument": {"name": "word", "value": "a"}}
    try:
        for _ in range(2000):
            assert s.request("completion/complete", request)["completion"]["values"] == ["alpha"]
        before = rss_kib()
        for _ in range(20000):
            s.request("completion/complete", request)
        grown = rss_kib() - before
        print(f"RSS growth: {grown} KiB")
        assert grown < 2048, f"RSS grew by {grown} KiB over 20,000 completion/complete requests"
    finally:
        s.close()
        srv.close()


def test_many_sessions_and_servers_in_process():
    def cycle(n: int) -> None:
        srv = build_server()
        for _ in range(n):
            s = srv.connect()
            s.initialize()
            one_round(s, 1)
            s.close()
        srv.close()

    for _ in range(5):
        cycle(100)
    before = rss_kib()
    for _ in range(20):  # 20 servers, 2,000 sessions
        cycle(100)
    grown = rss_kib() - before
    print(f"RSS growth: {grown} KiB")
    assert grown < 4096, f"RSS grew by {grown} KiB over 20 servers and 2,000 sessions"


def test_error_strings_are_freed():
    srv = libmcp.Server("errors", "1")
    srv.add_tool(lambda: 1, name="taken")
    try:
        def fail_many(n: int) -> None:
            for _ in range(n):
                with pytest.raises(libmcp.NotFound):
                    srv.remove_tool("missing-" + "x" * 200)
                with pytest.raises(libmcp.InvalidArgument):
                    srv.log("loud", "a bad level")
                with pytest.raises(libmcp.AlreadyExists):
                    srv.add_tool(lambda: 1, name="taken")
        fail_many(5000)
        before = rss_kib()
        fail_many(50000)
        grown = rss_kib() - before
        print(f"RSS growth: {grown} KiB")
        assert grown < 2048, f"RSS grew by {grown} KiB over 150,000 failed calls"
        assert registered(srv._core) == 1, "a refused registration stayed in the registry"
    finally:
        srv.close()


def test_stdio_server_process_is_stable():
    """The kitchen server over real pipes: 30,000 tools/call; its RSS stays put."""
    proc = subprocess.Popen([sys.executable, str(SERVERS / "kitchen.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=child_env(), bufsize=0)
    try:
        def send(msg: dict) -> None:
            proc.stdin.write(json.dumps(msg).encode() + b"\n")

        send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
        assert json.loads(proc.stdout.readline())["id"] == 0
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        next_id = 1

        def batch(n: int) -> None:
            nonlocal next_id
            first = next_id
            lines = []
            for k in range(n):
                name, args = (("add", {"a": k, "b": 1}), ("greet", {"name": "x"}), ("fail", {}),
                              ("sleep_ms", {"ms": 0}))[k % 4]
                lines.append(json.dumps({"jsonrpc": "2.0", "id": next_id, "method": "tools/call",
                                         "params": {"name": name, "arguments": args}}).encode() + b"\n")
                next_id += 1
            proc.stdin.write(b"".join(lines))
            ids = set()
            for _ in range(n):
                answer = json.loads(proc.stdout.readline())
                assert "result" in answer, answer
                ids.add(answer["id"])
            assert ids == set(range(first, next_id))

        for _ in range(50):
            batch(100)
        before = rss_kib(proc.pid)
        for _ in range(300):
            batch(100)
        grown = rss_kib(proc.pid) - before
        print(f"RSS growth: {grown} KiB")
        assert grown < 4096, f"the server's RSS grew by {grown} KiB over 30,000 calls"
    finally:
        proc.stdin.close()
        status = proc.wait(30)
        proc.stdout.close()
    assert status == 0
