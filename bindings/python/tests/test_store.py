"""Server.set_store: a state store written in Python (libmcp ABI 1.7). A 2025-11-25 session and its
resumable stream outlive the Server object: a new Server given the same store serves the session and
replays exactly the events after Last-Event-ID. A store that raises answers 503 with JSON-RPC -32603
and its message; service resumes when it stops raising. Raw HTTP (http.client), so every byte is seen."""
from __future__ import annotations

import http.client
import json

import pytest

import libmcp
from libmcp import Context, DictStore, Server, _callbacks

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                         "clientInfo": {"name": "py", "version": "1"}}}


def server(store) -> tuple[Server, int]:
    srv = Server("stored", "1.0")

    @srv.tool()
    async def steps(ctx: Context) -> str:
        await ctx.report_progress(1, 2, "one")
        await ctx.report_progress(2, 2, "two")
        return "done"

    srv.set_store(store)
    return srv, srv.start_http("127.0.0.1", 0)


def request(port: int, method: str, body=None, session: str | None = None, last_event_id: str | None = None):
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if session:
        headers["Mcp-Session-Id"] = session
        headers["MCP-Protocol-Version"] = "2025-11-25"
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, "/mcp", body=json.dumps(body) if body is not None else None, headers=headers)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()
    finally:
        c.close()


def events(text: str) -> list[tuple[str, str]]:
    """(id, data) of each SSE event that carries data (priming events carry none)."""
    out, last_id = [], None
    for block in text.split("\n\n"):
        data = None
        for line in block.split("\n"):
            if line.startswith("id: "):
                last_id = line[4:]
            elif line.startswith("data: ") and line[6:]:
                data = line[6:]
        if data is not None:
            out.append((last_id, data))
    return out


def open_session(port: int) -> str:
    status, headers, _ = request(port, "POST", INITIALIZE)
    assert status == 200
    session = headers["Mcp-Session-Id"]
    status, _, _ = request(port, "POST", {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    assert status == 202
    return session


def test_a_session_outlives_the_server_in_a_python_store():
    store = DictStore()
    before = _callbacks.live_count()
    srv, port = server(store)
    session = open_session(port)
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "steps", "arguments": {}, "_meta": {"progressToken": "p"}}}
    status, _, body = request(port, "POST", call, session)
    assert status == 200
    first = events(body)
    assert [json.loads(d).get("method") for _, d in first] == ["notifications/progress"] * 2 + [None]
    assert all(i for i, _ in first)
    # The records are the host's: a session, the events, under the engine's keys.
    assert any(k.startswith(b"session/") for k in store.keys())
    assert any(k.startswith(b"event/") for k in store.keys())
    srv.close()
    assert _callbacks.live_count() == before  # the engine released the store (destroy)

    srv2, port2 = server(store)
    status, _, body = request(port2, "GET", None, session, last_event_id=first[0][0])
    assert status == 200
    assert events(body) == first[1:]
    status, _, body = request(port2, "POST", {"jsonrpc": "2.0", "id": 3, "method": "ping"}, session)
    assert status == 200 and '"result":{}' in body.replace(" ", "")
    srv2.close()


class Flaky(DictStore):
    def __init__(self):
        super().__init__()
        self.down = False

    def put(self, key, value, expires_at_ms):
        if self.down:
            raise RuntimeError("python store down")
        super().put(key, value, expires_at_ms)

    def check(self):
        if self.down:
            raise RuntimeError("python store down")


def test_a_raising_store_answers_503_and_recovers():
    store = Flaky()
    srv, port = server(store)
    try:
        store.down = True
        status, headers, body = request(port, "POST", INITIALIZE)
        assert status == 503 and "Retry-After" in headers
        error = json.loads(body)["error"]
        assert error["code"] == -32603
        assert error["message"] == "State store unavailable: python store down"
        store.down = False
        open_session(port)
    finally:
        srv.close()


def test_bad_stores_are_refused():
    srv = Server("bad", "1.0")
    try:
        with pytest.raises(TypeError, match="no list"):
            srv.set_store(type("NoList", (), {"get": print, "put": print, "remove": print})())
        srv.set_store(DictStore())
        srv.start_http("127.0.0.1", 0)
        with pytest.raises(libmcp.StateError):
            srv.set_store(DictStore())
        srv.stop_http(1)
        srv.set_store(None)
    finally:
        srv.close()
