"""Revision 2026-07-28 over stdio, raw: the first message decides the
connection's era; every line the server writes is validated against
tests/spec/2026-07-28/schema.json."""
from __future__ import annotations

import json
import queue
import subprocess
import threading
from typing import Any

from conftest import LATEST, SIMPLE_TEXT, TIMEOUT, server_env
from modern_support import CHECKER, MODERN, SERVER_NAME, body, meta


class Stdio:
    def __init__(self, binary: str):
        self.proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=server_env())
        self.lines: queue.Queue = queue.Queue()
        self.methods: dict[Any, str] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def send(self, msg: dict) -> None:
        if "id" in msg:
            self.methods[json.dumps(msg["id"])] = msg["method"]
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        self.proc.stdin.flush()

    def next(self, modern: bool = True) -> dict:
        m = self.lines.get(timeout=TIMEOUT)
        if modern:
            method = self.methods.get(json.dumps(m.get("id")), "") if "method" not in m else m["method"]
            CHECKER.check(method, m)
        return m

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=TIMEOUT) == 0


def test_discover_first_makes_the_connection_modern(server_binary):
    s = Stdio(server_binary)
    try:
        s.send(body("server/discover", rid=1))
        r = s.next()["result"]
        assert r["supportedVersions"][0] == MODERN
        assert r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == SERVER_NAME
        s.send({"jsonrpc": "2.0", "id": 2, "method": "ping"})
        assert s.next()["error"]["code"] == -32602, "the envelope is checked before the method"
        s.send(body("ping", rid=3))
        assert s.next()["error"]["code"] == -32601, "ping was removed"
        s.send({"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
        assert s.next()["error"]["code"] == -32602, "a modern connection needs the envelope"
        s.send(body("initialize", {"protocolVersion": LATEST, "capabilities": {},
                                   "clientInfo": {"name": "x", "version": "1"}}, rid=5))
        assert s.next()["error"]["code"] == -32601
        # Two requests in flight with different log levels: each gets its own.
        s.send(body("tools/call", {"name": "test_logging_tool", "arguments": {}}, rid=6, log_level="info"))
        s.send(body("tools/call", {"name": "test_logging_tool", "arguments": {}}, rid=7))
        s.send(body("tools/call", {"name": "test_simple_text", "arguments": {}}, rid=8))
        got = [s.next() for _ in range(6)]
        answers = {m["id"]: m for m in got if "id" in m}
        assert set(answers) == {6, 7, 8}
        assert answers[8]["result"]["content"][0]["text"] == SIMPLE_TEXT
        assert sum(1 for m in got if m.get("method") == "notifications/message") == 3
    finally:
        s.close()


def test_initialize_first_keeps_the_connection_2025(server_binary):
    s = Stdio(server_binary)
    try:
        s.send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": LATEST, "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}})
        assert s.next(modern=False)["result"]["protocolVersion"] == LATEST
        s.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        s.send({"jsonrpc": "2.0", "id": 2, "method": "ping"})
        assert s.next(modern=False)["result"] == {}
        s.send(body("tools/list", rid=3))
        assert s.next(modern=False)["error"]["code"] == -32600
        s.send({"jsonrpc": "2.0", "id": 4, "method": "server/discover", "params": {}})
        assert s.next(modern=False)["error"]["code"] == -32601
    finally:
        s.close()


def test_a_malformed_first_message_decides_nothing(server_binary):
    s = Stdio(server_binary)
    try:
        assert s.proc.stdin is not None
        s.proc.stdin.write(b"{not json\n")
        s.proc.stdin.flush()
        assert s.next(modern=False)["error"]["code"] == -32700
        s.send(body("tools/list", rid=1))
        r = s.next()["result"]
        assert r["resultType"] == "complete" and r["ttlMs"] == 60000
    finally:
        s.close()
