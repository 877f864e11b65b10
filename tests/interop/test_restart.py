"""Restarts without dropped requests: ten restarts of the everything server under a steady load of
2026-07-28 calls (they need no session, so any process may answer them).

Each restart starts the new process on the same port (`--reuse-port`: SO_REUSEPORT), waits until it
listens, then sends SIGTERM to the old one, which stops gracefully (mcp_server_stop_http: readiness
false, no new connections, requests in flight answered, idle keep-alive connections closed). Four clients
call test_echo in a loop on keep-alive connections. A request whose connection closed before any byte of
an answer arrived is re-sent on a new connection, as HTTP clients do when a server closes an idle
keep-alive connection (nothing was processed: the answer never started); every other outcome that is not
the echo is a failure. Failures must be 0, and every process must exit 0.

What a 2025-era client sees across such a restart: its session lived in the old process's memory, so
its next request gets 404 (session not found) and it must initialize again; sessions survive restarts
only with a shared store (the shared-state issue). The last test shows exactly that.
"""
from __future__ import annotations

import http.client
import json
import threading
import time

from http_support import EverythingHTTP, call, free_port, initialize, request
from modern_support import body, standard_headers

RESTARTS = 10
CLIENTS = 4


def start_node(port: int) -> EverythingHTTP:
    """A server on the shared port, started and listening (`stop()` sends SIGTERM, returns its status)."""
    return EverythingHTTP("--reuse-port", "--log-level", "error", port=port).__enter__()


def test_ten_restarts_under_load_drop_no_request():
    port = free_port()
    node = start_node(port)
    counts = {"ok": 0, "resent": 0, "failed": 0}
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(k: int) -> None:
        conn: http.client.HTTPConnection | None = None
        n = 0
        while not stop.is_set():
            n += 1
            text = f"client {k} call {n}"
            msg = body("tools/call", {"name": "test_echo", "arguments": {"text": text}})
            data = json.dumps(msg).encode()
            headers = {**standard_headers(msg), "Content-Type": "application/json"}
            for attempt in range(5):
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                try:
                    conn.request("POST", "/mcp", body=data, headers=headers)
                    r = conn.getresponse()
                except (ConnectionResetError, ConnectionRefusedError, BrokenPipeError,
                        http.client.RemoteDisconnected):
                    conn.close()  # closed before any byte of an answer: nothing was processed
                    conn = None
                    with lock:
                        counts["resent"] += 1
                    continue
                answer = r.read()
                ok = r.status == 200 and json.loads(answer).get("result", {}).get("content", [{}])[0].get("text") == text
                with lock:
                    counts["ok" if ok else "failed"] += 1
                    if not ok:
                        failures.append(f"{r.status} {answer[:200]!r}")
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
                break
            else:
                with lock:
                    counts["failed"] += 1
                    failures.append("five connections in a row closed before an answer")
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    exits = []
    try:
        for _ in range(RESTARTS):
            time.sleep(0.4)
            fresh = start_node(port)  # binds beside the old one
            exits.append(node.stop())
            node = fresh
        time.sleep(0.4)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        exits.append(node.stop())
    print(f"{RESTARTS} restarts under load: {counts}")
    assert counts["failed"] == 0, failures[:5]
    assert counts["ok"] > 100, counts
    assert exits == [0] * (RESTARTS + 1), exits


def test_a_2025_session_does_not_survive_a_restart_without_a_store():
    port = free_port()
    node = start_node(port)
    url = f"http://127.0.0.1:{port}/mcp"
    session = initialize(url)
    headers = {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
    r = request(url, "POST", call(1, "test_simple_text"), headers)
    assert r.status == 200
    r.read()
    fresh = start_node(port)
    assert node.stop() == 0
    r = request(url, "POST", call(2, "test_simple_text"), headers)
    assert r.status == 404  # the session lived in the old process
    r.read()
    assert initialize(url)  # a new session on the new process
    assert fresh.stop() == 0
