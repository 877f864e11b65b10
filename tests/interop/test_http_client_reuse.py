"""The engine's HTTP client keeps its connections alive and reuses them: calls
made one after another, or several at once from threads, each as soon as the
previous answer is in, open no new connection once there is one per call in
flight. (A request sent the moment its caller woke used to find the connection
that had just carried the answer not yet back in the pool, and opened another.)
Both eras, against our everything server; the count is of this process's
established TCP connections to the server's port."""
from __future__ import annotations

import os
import threading
from urllib.parse import urlsplit

import pytest

from http_support import EverythingHTTP, libmcp_binding

MODERN = "2026-07-28"


def connections_to(port: int) -> int:
    """This process's established TCP connections to 127.0.0.1:`port`."""
    ours = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            ours.add(target[len("socket:["):-1])
    count = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            cols = line.split()
            remote_port = int(cols[2].split(":")[1], 16)
            if remote_port == port and cols[3] == "01" and cols[9] in ours:
                count += 1
    return count


@pytest.mark.parametrize("era", [MODERN, "legacy"])
@pytest.mark.parametrize("in_flight", [1, 8])
def test_calls_back_to_back_reuse_kept_alive_connections(era, in_flight):
    libmcp = libmcp_binding()
    calls_each = 300 // in_flight
    with EverythingHTTP() as srv, libmcp.Client("reuse", "1", era=era) as c:
        c.connect_http(srv.url)
        port = urlsplit(srv.url).port
        failures: list[BaseException] = []

        def lane() -> None:
            try:
                for i in range(calls_each):
                    r = c.call_tool("test_echo", {"text": str(i)})
                    assert r["content"][0]["text"] == str(i)
            except BaseException as e:  # noqa: BLE001 - reported below
                failures.append(e)

        threads = [threading.Thread(target=lane) for _ in range(in_flight)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not failures, failures
        opened = connections_to(port)
    # One per call in flight, the one the connection began on (server/discover
    # or initialize), and at the 2025 era the standalone GET stream.
    bound = in_flight + 1 + (1 if era == "legacy" else 0)
    assert 1 <= opened <= bound, f"{opened} connections for {in_flight} calls in flight ({era})"
