"""Scripted MCP HTTP servers for the client tests (http.server, one thread per
connection, HTTP/1.1 keep-alive), in the manner of the conformance suite's
client scenarios: each test gives a `script(request, reply)` function, and the
server records every request (method, path, headers, JSON body, arrival time)
for the test to check afterwards.

SSE answers use chunked transfer encoding, so ending a stream (`reply.sse_end()`)
is the graceful close a Node or Starlette server makes, and the connection
stays open for the next request. `reply.hold()` keeps a stream open until the
server stops.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import pytest

from conftest import BUILD_DIR, server_env

CLIENT_BINARY = BUILD_DIR / "bin" / "mcp-client"


def require_client_binary() -> str:
    if not CLIENT_BINARY.is_file() or not os.access(CLIENT_BINARY, os.X_OK):
        pytest.fail(f"mcp-client not found at {CLIENT_BINARY}: build it first (cmake --build {BUILD_DIR}), "
                    f"or point MCP_BUILD_DIR at the CMake build directory", pytrace=False)
    return str(CLIENT_BINARY)


def run_client(url: str, method: str, params: Any = None, *flags: str, timeout: float = 30.0,
               ) -> subprocess.CompletedProcess:
    """mcp-client --http URL METHOD [PARAMS]; the result or error is in stdout / stderr.
    Without an --era flag it speaks the 2025 era (the mocks below script initialize first)."""
    era = () if "--era" in flags else ("--era", "legacy")
    argv = [require_client_binary(), *era, *flags, "--http", url, method]
    if params is not None:
        argv.append(params if isinstance(params, str) else json.dumps(params))
    return subprocess.run(argv, capture_output=True, timeout=timeout, env=server_env(), text=True)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    t: float
    seq: int = 0

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def rpc_method(self) -> str | None:
        return self.body.get("method") if isinstance(self.body, dict) else None

    def __repr__(self) -> str:
        what = self.rpc_method or (self.body.get("id") if isinstance(self.body, dict) else "")
        return f"{self.method} {self.path} {what} sid={self.header('mcp-session-id')}"


class Reply:
    """What a script uses to answer one request."""

    def __init__(self, handler: BaseHTTPRequestHandler, stop: threading.Event):
        self.h = handler
        self.stop = stop
        self.done = False

    def json(self, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.h.send_response(status)
        self.h.send_header("Content-Type", "application/json")
        self.h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.h.send_header(k, v)
        self.h.end_headers()
        self.h.wfile.write(data)
        self.h.wfile.flush()
        self.done = True

    def status(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.h.send_response(code)
        self.h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.h.send_header(k, v)
        self.h.end_headers()
        if body:
            self.h.wfile.write(body)
        self.h.wfile.flush()
        self.done = True

    def sse_start(self, headers: dict[str, str] | None = None) -> None:
        self.h.send_response(200)
        self.h.send_header("Content-Type", "text/event-stream")
        self.h.send_header("Cache-Control", "no-cache")
        self.h.send_header("Transfer-Encoding", "chunked")
        for k, v in (headers or {}).items():
            self.h.send_header(k, v)
        self.h.end_headers()
        self.h.wfile.flush()
        self.done = True

    def sse_raw(self, text: str) -> None:
        data = text.encode()
        self.h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.h.wfile.flush()

    def sse_event(self, data: Any = "", id: str | None = None, event: str | None = None,
                  retry: int | None = None) -> None:
        lines = []
        if event:
            lines.append(f"event: {event}")
        if id is not None:
            lines.append(f"id: {id}")
        if retry is not None:
            lines.append(f"retry: {retry}")
        text = data if isinstance(data, str) else json.dumps(data)
        lines += [f"data: {line}" for line in text.split("\n")]
        self.sse_raw("\n".join(lines) + "\n\n")

    def sse_end(self) -> None:
        self.h.wfile.write(b"0\r\n\r\n")
        self.h.wfile.flush()

    def hold(self, timeout: float = 30.0) -> None:
        """Keeps the stream open until the server stops (or the timeout)."""
        self.stop.wait(timeout)
        self.h.close_connection = True


Script = Callable[[Request, Reply], None]


class MockServer:
    """A scripted server on 127.0.0.1 (free port); `requests` holds what came."""

    def __init__(self, script: Script):
        self.script = script
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                t = time.monotonic()
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, t)
                with outer.lock:
                    req.seq = len(outer.requests)
                    outer.requests.append(req)
                reply = Reply(self, outer.stop)
                try:
                    outer.script(req, reply)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                except Exception as e:  # a broken script must fail the test, not hang it
                    outer.errors.append(f"{req}: {e!r}")
                    if not reply.done:
                        reply.status(500, repr(e).encode())
                if not reply.done:
                    reply.status(500, b"script gave no answer")

            do_GET = do_POST = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/mcp"

    def __enter__(self) -> "MockServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        assert not self.errors, "mock server script failed: " + "; ".join(self.errors)

    def seen(self) -> list[Request]:
        with self.lock:
            return list(self.requests)

    def wait_for(self, pred: Callable[[Request], bool], timeout: float = 10.0) -> Request:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for r in self.seen():
                if pred(r):
                    return r
            time.sleep(0.01)
        raise AssertionError(f"no such request within {timeout} s; seen: {self.seen()}")


def result(rid: Any, value: Any) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "result": value}


def init_result(version: str = "2025-11-25", capabilities: dict | None = None) -> dict:
    return {"protocolVersion": version, "serverInfo": {"name": "mock", "version": "1.0"},
            "capabilities": capabilities if capabilities is not None else {"tools": {}}}


TEXT_RESULT = {"content": [{"type": "text", "text": "mock tool result"}]}
