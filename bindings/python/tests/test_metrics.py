"""Server.metrics() (mcp_server_metrics), the admin listener's readiness, and
libmcp.set_log_hook (mcp_set_log_hook) receiving an engine warning."""
from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import urllib.error
import urllib.request

import pytest

import libmcp
from libmcp import Server

ACCEPT = "application/json, text/event-stream"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port: int, body: bytes, session: str | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Accept": ACCEPT}
    if session:
        headers["Mcp-Session-Id"] = session
    conn.request("POST", "/mcp", body=body, headers=headers)
    return conn.getresponse()


def initialize(port: int) -> str:
    r = post(port, json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}).encode())
    assert r.status == 200
    r.read()
    return r.getheader("Mcp-Session-Id")


def tool_call(port: int, session: str, rid: int, name: str, args: dict) -> dict:
    r = post(port, json.dumps({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                               "params": {"name": name, "arguments": args}}).encode(), session)
    return json.loads(r.read())


def test_metrics_count_calls_and_the_log_hook_hears_a_refusal():
    records: list[tuple[int, dict]] = []
    heard = threading.Event()

    def hook(level: int, record: dict) -> None:
        records.append((level, record))
        if record.get("cause") == "413":
            heard.set()

    libmcp.set_log_hook(hook, logging.WARNING)
    try:
        with Server("metrics-test", "1.0") as srv:
            @srv.tool()
            def echo(text: str) -> str:
                return text

            port = srv.start_http(max_body_bytes=1024, json_response=True)
            sid = initialize(port)
            for i in range(4):
                assert tool_call(port, sid, i + 1, "echo", {"text": "x"})["result"]["content"][0]["text"] == "x"
            r = post(port, b"[" + b" " * 4096 + b"]", sid)
            assert r.status == 413
            r.read()
            assert heard.wait(10), records
            text = srv.metrics()
            assert 'mcp_server_requests_total{mcp_method_name="tools/call",mcp_era="2025",outcome="ok"} 4' in text
            assert 'mcp_server_tool_duration_seconds_count{gen_ai_tool_name="echo"} 4' in text
            assert 'mcp_server_refusals_total{cause="413"} 1' in text
            assert "mcp_server_calls_in_flight 0" in text
    finally:
        libmcp.set_log_hook(None)
    level, record = next((lv, r) for lv, r in records if r.get("cause") == "413")
    assert level == logging.WARNING and record["level"] == "warning" and record["component"] == "http"
    assert record["ts"].endswith("Z") and "1024-byte limit" in record["msg"]


def test_metrics_off():
    with Server("no-metrics", "1.0", metrics=False) as srv:
        with pytest.raises(libmcp.StateError):
            srv.metrics()


def test_readyz_fails_while_the_worker_queue_is_at_its_limit():
    release = threading.Event()
    admin_port = free_port()
    with Server("ready-test", "1.0", worker_threads=1) as srv:
        @srv.tool()
        def block() -> str:
            release.wait(30)
            return "done"

        port = srv.start_http(json_response=True, admin=f"127.0.0.1:{admin_port}", ready_max_queued=1)

        def readyz() -> tuple[int, dict]:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/readyz", timeout=10) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())

        assert readyz() == (200, {"status": "ready"})
        sid = initialize(port)
        # Two calls: one holds the only worker, the other waits in its queue.
        callers = [threading.Thread(target=tool_call, args=(port, sid, i + 1, "block", {})) for i in range(2)]
        for t in callers:
            t.start()
        deadline = threading.Event()
        for _ in range(200):
            status, body = readyz()
            if status == 503:
                break
            deadline.wait(0.05)
        assert status == 503 and body["status"] == "not ready", body
        assert any("worker queue" in reason for reason in body["reasons"]), body
        text = urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10).read().decode()
        # The waiting call is in the queue (other engine work may briefly be there too: under
        # load the depth was once read as 2).
        depth = [ln for ln in text.splitlines() if ln.startswith("mcp_worker_queue_depth ")]
        assert depth and float(depth[0].split()[-1]) >= 1, text
        assert "mcp_server_calls_in_flight 2" in text, text
        release.set()
        for t in callers:
            t.join(30)
        assert readyz() == (200, {"status": "ready"})
        srv.stop_http()
