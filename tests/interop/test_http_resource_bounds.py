"""Memory bounds of the HTTP listener under clients that take and never give
back: an SSE answer stream whose reader never reads while the server writes
a hundred megabytes of progress to it (both eras), and ten thousand sessions
opened and deleted. The server's RSS (/proc/PID/status VmRSS) stays flat, and
the next request is served at once."""
from __future__ import annotations

import http.client
import json
import socket
import time

import pytest

from conftest import LATEST
from http_support import (TIMEOUT, EverythingHTTP, HostHTTP, call, init_body, initialize, messages, post,
                          tool_text)
from test_http_limits import rss_mib

MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "never-reads", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}}


def served_at_once(url: str) -> None:
    started = time.monotonic()
    sid = initialize(url)
    resp = post(url, call("next", "echo", {"text": "next"}), session=sid, version=LATEST)
    assert tool_text(messages(resp)[-1]) == "next"
    assert time.monotonic() - started < 2.0, "the next request waited"


def raw_post(port: int, body: dict, headers: dict[str, str]) -> socket.socket:
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the server's writes back up soon
    sock.sendall((f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                  "Accept: application/json, text/event-stream\r\n"
                  + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                  + f"Content-Length: {len(data)}\r\n\r\n").encode() + data)
    return sock


@pytest.mark.parametrize("era", ["2025", "modern"])
def test_a_reader_that_never_reads_its_answer_stream_cannot_grow_the_server(era):
    """progress sends 100,000 notifications of 1 KiB (100 MiB) to a stream
    nobody reads; the per-stream queue bound (1 MiB here) closes that stream
    and the server's memory stays where it was."""
    n, text = 100_000, "p" * 1024
    config = {"max_queued_bytes": 1 << 20, "event_store_max_bytes": 2 << 20, "connection_idle_timeout_ms": 600_000}
    with HostHTTP(config) as host:
        served_at_once(host.url())
        base = rss_mib(host.proc.pid)
        args = {"n": n, "text": text}
        if era == "2025":
            sid = initialize(host.url())
            body = call(1, "progress", args, token="never")
            sock = raw_post(host.port, body, {"Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST})
        else:
            body = call(1, "progress", args)
            body["params"]["_meta"] = {**META, "progressToken": "never"}
            sock = raw_post(host.port, body, {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call",
                                              "Mcp-Name": "progress"})
        peak = base
        try:
            started = time.monotonic()
            # While the tool writes, sample RSS; meanwhile others are served.
            sid2 = initialize(host.url())
            while True:
                time.sleep(0.3)
                peak = max(peak, rss_mib(host.proc.pid))
                served_at_once(host.url())
                resp = post(host.url(), call("t", "tally"), session=sid2, version=LATEST)
                if json.loads(tool_text(messages(resp)[-1]))["calls"].get("progress") == 1:
                    break  # the tool has written all and answered
                assert time.monotonic() - started < 60, "the tool did not finish"
            took = time.monotonic() - started
        finally:
            sock.close()
        grown = peak - base
        print(f"{era}: RSS {base:.0f} MiB before, peak {peak:.0f} MiB while {n} KiB were written to a stream "
              f"nobody read ({took:.1f} s)")
        assert grown < 40, f"RSS grew {grown:.0f} MiB while the client did not read"
        served_at_once(host.url())


def test_ten_thousand_sessions_opened_and_deleted_give_their_memory_back():
    with EverythingHTTP() as server:
        host, port = server.base.split("//")[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)

        def cycle(count: int) -> None:
            for _ in range(count):
                resp = post(server.url, init_body(), conn=conn)
                sid = resp.getheader("Mcp-Session-Id")
                assert resp.status == 200 and sid, resp.status
                resp.read()
                resp = post(server.url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session=sid,
                            version=LATEST, conn=conn)
                assert resp.status == 202
                resp.read()
                conn.request("DELETE", "/mcp", headers={"Host": f"{host}:{port}", "Mcp-Session-Id": sid,
                                                         "MCP-Protocol-Version": LATEST})
                resp = conn.getresponse()
                assert resp.status == 200, resp.status
                resp.read()

        cycle(1000)  # warm-up: allocator arenas, caches, tables at their working size
        time.sleep(0.5)
        warm = rss_mib(server.proc.pid)
        started = time.monotonic()
        cycle(10_000)
        time.sleep(0.5)
        after = rss_mib(server.proc.pid)
        print(f"10,000 sessions opened and deleted in {time.monotonic() - started:.1f} s: "
              f"RSS {warm:.1f} MiB after warm-up, {after:.1f} MiB after")
        assert after <= warm * 1.10, f"RSS {warm:.1f} -> {after:.1f} MiB"
        sid = initialize(server.url)
        resp = post(server.url, call("next", "test_echo", {"text": "next"}), session=sid, version=LATEST)
        assert tool_text(messages(resp)[-1]) == "next"


def test_ten_thousand_websocket_sessions_give_their_memory_back():
    """Each WebSocket connection's handler and writer (and the handler and its
    context) held each other after the close: about 800 bytes kept per
    connection (7.6 MiB over these 10,000 before the fix)."""
    from test_http_listener import WebSocket

    with EverythingHTTP() as server:
        host, port = server.base.split("//")[1].split(":")

        def cycle(count: int) -> None:
            for _ in range(count):
                ws = WebSocket(host, int(port))
                assert ws.head.startswith("HTTP/1.1 101"), ws.head
                ws.send(init_body())
                assert ws.recv()["result"]["protocolVersion"] == LATEST
                ws.sock.close()

        cycle(1000)  # warm-up, as above
        time.sleep(0.5)
        warm = rss_mib(server.proc.pid)
        started = time.monotonic()
        cycle(10_000)
        time.sleep(0.5)
        after = rss_mib(server.proc.pid)
        print(f"10,000 WebSocket sessions opened and closed in {time.monotonic() - started:.1f} s: "
              f"RSS {warm:.1f} MiB after warm-up, {after:.1f} MiB after")
        assert after - warm < 3.0, f"RSS {warm:.1f} -> {after:.1f} MiB"
        sid = initialize(server.url)
        resp = post(server.url, call("next", "test_echo", {"text": "next"}), session=sid, version=LATEST)
        assert tool_text(messages(resp)[-1]) == "next"
