#!/usr/bin/env python3
"""A real MCP session with the everything server over Streamable HTTP.

Usage: python3 scripts/demo_http.py [build/bin/mcp-everything-server]

Starts the server with `--http 127.0.0.1:0`, reads the URL it prints, and runs
a session over plain HTTP on 127.0.0.1: initialize (the answer carries the
Mcp-Session-Id), tools/list, tools/call (one answered with progress events on
an SSE stream whose events have resumable ids), DELETE of the session, and a
last request that gets 404. Every HTTP exchange is printed: the request line,
the status and headers that matter, and each JSON-RPC message (rendered as in
scripts/demo.py). Then SIGTERM, and the server must exit 0. Standard library only.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

from demo import DemoFailure, expect, show, step, text_of

TIMEOUT = 10.0
PROTOCOL = "2025-11-25"


class HTTPSession:
    def __init__(self, url: str):
        u = urlsplit(url)
        self.url, self.path = url, u.path
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
        self.session: str | None = None
        self.next_id = 1

    def exchange(self, method: str, msg: dict | None = None) -> tuple[int, list[dict]]:
        headers = {"Accept": "application/json, text/event-stream"}
        if msg is not None:
            headers["Content-Type"] = "application/json"
        if self.session:
            headers["Mcp-Session-Id"] = self.session
            headers["MCP-Protocol-Version"] = PROTOCOL
        print(f"-> {method} {self.path}" + (f"  (Mcp-Session-Id: {self.session})" if self.session else ""))
        if msg is not None:
            show("->", msg)
        self.conn.request(method, self.path, body=json.dumps(msg).encode() if msg is not None else None,
                          headers=headers)
        resp = self.conn.getresponse()
        ctype = resp.getheader("Content-Type", "")
        print(f"<- HTTP {resp.status} {resp.reason}" + (f"  Content-Type: {ctype}" if ctype else ""))
        if resp.getheader("Mcp-Session-Id"):
            self.session = resp.getheader("Mcp-Session-Id")
            print(f"<- Mcp-Session-Id: {self.session}")
        out: list[dict] = []
        if ctype.startswith("text/event-stream"):
            event: dict[str, str] = {}
            for raw in iter(resp.readline, b""):
                line = raw.decode().rstrip("\r\n")
                if line:
                    name, _, value = line.partition(": ")
                    event[name] = value
                    continue
                if event.get("data"):
                    print(f"<- SSE event id {event.get('id')}")
                    msg_in = json.loads(event["data"])
                    show("<-", msg_in)
                    out.append(msg_in)
                elif "id" in event:
                    print(f"<- SSE priming event id {event['id']} (retry {event.get('retry')} ms): a resume point")
                event = {}
        else:
            body = resp.read()
            if body and ctype.startswith("application/json"):
                out.append(json.loads(body))
                show("<-", out[-1])
        return resp.status, out

    def request(self, method: str, params: dict | None = None) -> dict:
        msg: dict = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        self.next_id += 1
        if params is not None:
            msg["params"] = params
        status, answers = self.exchange("POST", msg)
        expect(status == 200 and answers and "result" in answers[-1], f"{method}: HTTP {status} {answers}")
        return answers[-1]["result"]


def start(server: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([server, "--http", "127.0.0.1:0"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 0.2)[0]:
            line = proc.stderr.readline().decode()
            if not line:
                break
            print(f"server: {line.rstrip()}")
            m = re.search(r"(http://\S+/mcp)", line)
            if m:
                return proc, m.group(1)
    proc.kill()
    raise DemoFailure("the server printed no URL")


def demo(server: str) -> None:
    proc, url = start(server)
    try:
        s = HTTPSession(url)
        step("POST initialize: the answer carries the session id")
        init = s.request("initialize", {"protocolVersion": PROTOCOL, "capabilities": {},
                                        "clientInfo": {"name": "libmcp-http-demo", "version": "1.0.0"}})
        expect(init.get("protocolVersion") == PROTOCOL and s.session, f"initialize answered {init}")
        step("POST notifications/initialized: a notification is answered 202 Accepted")
        status, _ = s.exchange("POST", {"jsonrpc": "2.0", "method": "notifications/initialized"})
        expect(status == 202, f"notifications/initialized got HTTP {status}")

        step("POST tools/list")
        names = {t["name"] for t in s.request("tools/list")["tools"]}
        expect("test_echo" in names, f"tools: {sorted(names)}")

        step("POST tools/call test_echo")
        r = s.request("tools/call", {"name": "test_echo", "arguments": {"text": "Hello over HTTP!"}})
        expect(text_of(r) == "Hello over HTTP!", f"test_echo answered {r}")

        step("POST tools/call test_tool_with_progress: progress events on the call's own SSE stream")
        r = s.request("tools/call", {"name": "test_tool_with_progress", "arguments": {},
                                     "_meta": {"progressToken": "demo"}})
        expect(not r.get("isError"), f"test_tool_with_progress answered {r}")

        step("DELETE: the client ends the session")
        status, _ = s.exchange("DELETE")
        expect(status == 200, f"DELETE got HTTP {status}")
        step("POST ping on the ended session: 404, the client must initialize again")
        status, _ = s.exchange("POST", {"jsonrpc": "2.0", "id": 99, "method": "ping"})
        expect(status == 404, f"ping after DELETE got HTTP {status}")

        step("SIGTERM: the server stops gracefully")
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(TIMEOUT)
        expect(status == 0, f"the server exited with status {status}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main(argv: list[str]) -> int:
    server = argv[1] if len(argv) > 1 else os.path.join("build", "bin", "mcp-everything-server")
    if not os.access(server, os.X_OK):
        print(f"demo: {server} not found or not executable; build it first (make build)", file=sys.stderr)
        return 1
    started = time.monotonic()
    try:
        demo(server)
    except (DemoFailure, OSError, http.client.HTTPException) as e:
        print(f"\ndemo: FAILED: {e}", file=sys.stderr)
        return 1
    print(f"\ndemo: OK, a whole MCP session over HTTP in {time.monotonic() - started:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
