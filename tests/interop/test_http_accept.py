"""Accepting connections ("listen_backlog", "accept_batch", "accept_rate",
"reuse_port"): the backlog asked for is the listening socket's (as `ss` reports
it, capped by net.core.somaxconn), a burst of connections larger than one
accept batch is served in full, a paced listener takes a burst at its rate and
still serves all of it, several processes share one port with SO_REUSEPORT and
the kernel gives each some of the connections, and out-of-range values are
refused with a clear error. The figures at scale are the benchmark's (bench/c100k_bench.py)."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from http_support import EverythingHTTP, HostHTTP, free_port, start_host_expecting_error
from modern_support import body, standard_headers


def listen_backlog(port: int) -> int:
    """The backlog of the socket listening on `port` (ss shows it as Send-Q)."""
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()]
    assert rows, f"nothing listens on {port}"
    return int(rows[0][2])


def echo(conn: http.client.HTTPConnection, text: str, tool: str = "test_echo") -> str:
    """Calls the echo tool (the everything server's test_echo, http_host.py's echo)."""
    msg = body("tools/call", {"name": tool, "arguments": {"text": text}})
    conn.request("POST", "/mcp", body=json.dumps(msg).encode(),
                 headers={**standard_headers(msg), "Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    assert resp.status == 200, (resp.status, data)
    return data.decode()


def somaxconn() -> int:
    return int(Path("/proc/sys/net/core/somaxconn").read_text())


def test_the_backlog_asked_for_is_the_sockets():
    with HostHTTP({"listen_backlog": 77}) as h:
        assert listen_backlog(h.port) == 77
    with HostHTTP({}) as h:
        assert listen_backlog(h.port) == min(4096, somaxconn())


def test_a_burst_larger_than_an_accept_batch_is_served_in_full():
    with HostHTTP({"accept_batch": 1, "listen_backlog": 512}) as h:
        socks = [socket.create_connection(("127.0.0.1", h.port), timeout=10) for _ in range(300)]
        try:
            conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=10)
            for i, s in enumerate(socks):
                # Each connection already queued is accepted and answers.
                s.sendall(b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            for s in socks:
                assert s.recv(64).startswith(b"HTTP/1.1 "), "a queued connection was not served"
            assert "burst" in echo(conn, "burst", tool="echo")
            conn.close()
        finally:
            for s in socks:
                s.close()


def test_processes_sharing_a_port_each_take_connections():
    port = free_port()
    with EverythingHTTP("--reuse-port", "--listen-backlog", "256", "--accept-batch", "8", port=port) as a, \
            EverythingHTTP("--reuse-port", "--listen-backlog", "256", port=port) as b:
        before = {p.pid: len(os.listdir(f"/proc/{p.pid}/fd")) for p in (a.proc, b.proc)}
        conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(64)]
        try:
            for i, c in enumerate(conns):
                assert f"call {i}" in echo(c, f"call {i}")
            grown = {pid: len(os.listdir(f"/proc/{pid}/fd")) - n for pid, n in before.items()}
            # The kernel hashes each connection to one listener: with 64 of them
            # both get some (all on one has odds of 2^-63).
            assert all(g > 0 for g in grown.values()), grown
            assert sum(grown.values()) >= 64, grown
        finally:
            for c in conns:
                c.close()


def test_a_paced_listener_takes_a_burst_at_its_rate_and_serves_it_all():
    with HostHTTP({"accept_rate": 40, "accept_batch": 1}) as h:
        t0 = time.monotonic()
        socks = [socket.create_connection(("127.0.0.1", h.port), timeout=20) for _ in range(80)]
        try:
            for s in socks:
                s.sendall(b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            for s in socks:
                assert s.recv(64).startswith(b"HTTP/1.1 "), "a paced connection was not served"
            took = time.monotonic() - t0
        finally:
            for s in socks:
                s.close()
    # 80 connections at 40 a second, one at once: about two seconds, not at once.
    assert 1.5 <= took < 15, took


@pytest.mark.parametrize("key,value", [("listen_backlog", 0), ("listen_backlog", 65536), ("listen_backlog", "4096"),
                                       ("accept_batch", 0), ("accept_batch", 1025), ("accept_batch", 1.5),
                                       ("accept_rate", -1), ("accept_rate", 1_000_001)])
def test_out_of_range_values_are_refused(key, value):
    line = start_host_expecting_error({key: value})
    assert line.startswith("ERROR 1 ") and key in line, line


def test_the_everything_server_reports_a_bad_backlog():
    with pytest.raises(AssertionError, match="listen_backlog"):
        with EverythingHTTP("--listen-backlog", "0"):
            pass
