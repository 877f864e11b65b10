"""Resource limits of the HTTP listener under a client that holds on: the
descriptor table (connection limit, shedding, accept back-off), slow request
bodies, the global budget of buffered bodies, the parse-cost bound, and the
byte bound and idle timeout of streams whose reader stalled. Each test holds
only as many sockets as a lowered RLIMIT_NOFILE of the child needs."""
from __future__ import annotations

import json
import os
import re
import select
import socket
import time

from http_support import (TIMEOUT, EverythingHTTP, HostHTTP, call, error_of, init_body, initialize, messages, post,
                          tool_text)

HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime + stime


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def partial_post(port: int, length: int, sent: bytes = b"[") -> socket.socket:
    """A connection whose POST head is complete and whose body stops after `sent`."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                 f"Accept: application/json, text/event-stream\r\nContent-Length: {length}\r\n\r\n".encode() + sent)
    return sock


def response_of(sock: socket.socket) -> bytes:
    """Everything until the server closes (or the timeout)."""
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return out


def json_error(reply: bytes) -> dict:
    return json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"]


def healthy(url: str) -> None:
    """A new client is served: initialize answers 200 on a fresh connection."""
    resp = post(url, init_body())
    assert resp.status == 200, (resp.status, resp.read())
    assert messages(resp)[-1]["result"]["protocolVersion"]


def test_new_clients_get_in_at_the_descriptor_limit():
    # Default settings, 128 descriptors: more stalled uploads than the process
    # could ever hold. The oldest make way, the listener does not spin, and a
    # new client is served at once.
    with EverythingHTTP(nofile=128) as server:
        port = int(server.base.rsplit(":", 1)[1])
        held = [partial_post(port, 1000) for _ in range(160)]
        try:
            before = cpu_seconds(server.proc.pid)
            healthy(server.url)
            time.sleep(1.0)
            healthy(server.url)
            # Shedding work is a few system calls per connection, not a loop of
            # failing accepts (which spun a core: tens of thousands per second).
            assert cpu_seconds(server.proc.pid) - before < 0.5
            # The oldest stalled uploads were closed to make room.
            ready, _, _ = select.select(held[:40], [], [], TIMEOUT)
            assert ready and all(response_of(s) == b"" for s in ready)
        finally:
            for s in held:
                s.close()


def test_accept_backs_off_when_descriptors_run_out():
    # A connection limit above what the descriptor table holds: accept fails
    # with EMFILE. The listener sheds the oldest idle connection, pauses, and
    # serves the client waiting in the backlog instead of spinning.
    with HostHTTP({"max_connections": 100_000}, nofile=96) as host:
        held = [partial_post(host.port, 1000) for _ in range(90)]
        try:
            before = cpu_seconds(host.proc.pid)
            time.sleep(1.0)
            # Failing accepts at full speed used a whole core.
            assert cpu_seconds(host.proc.pid) - before < 0.3
            healthy(host.url())
        finally:
            for s in held:
                s.close()


def test_a_body_dripped_slowly_gets_408():
    with HostHTTP({"request_body_timeout_ms": 800}) as host:
        sock = partial_post(host.port, 1000)
        reply = b""
        deadline = time.monotonic() + TIMEOUT
        # One byte every 100 ms: never idle, never complete.
        while time.monotonic() < deadline:
            if select.select([sock], [], [], 0.1)[0]:
                reply = response_of(sock)
                break
            try:
                sock.sendall(b" ")
            except OSError:
                reply = response_of(sock)
                break
        assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
        assert json_error(reply)["code"] == -32600
        healthy(host.url())


def test_buffered_bodies_share_one_budget():
    # Five uploads of 900 KB each into a 4 MiB budget: one is refused with 503
    # and Retry-After; the others are not disturbed and finish normally.
    with HostHTTP({"max_body_bytes": 1 << 20, "max_buffered_bytes": 4 << 20}) as host:
        sid = initialize(host.url())
        text = "x" * 900_000
        bodies = [json.dumps(call(i, "echo", {"text": text})).encode() for i in range(5)]
        socks = []
        for b in bodies:
            s = socket.create_connection(("127.0.0.1", host.port), timeout=TIMEOUT)
            s.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{host.port}\r\nContent-Type: application/json\r\n"
                      f"Accept: application/json, text/event-stream\r\nMcp-Session-Id: {sid}\r\n"
                      f"Content-Length: {len(b)}\r\nConnection: close\r\n\r\n".encode() + b[:-1])
            socks.append(s)
        try:
            ready, _, _ = select.select(socks, [], [], TIMEOUT)
            assert len(ready) == 1, "exactly one upload goes past the budget"
            refused = ready[0]
            reply = response_of(refused)
            assert reply.startswith(b"HTTP/1.1 503"), reply[:200]
            assert b"\r\nRetry-After: 1\r\n" in reply.split(b"\r\n\r\n", 1)[0] + b"\r\n"
            assert json_error(reply)["code"] == -32603
            # The refused upload's bytes went back to the budget: the others finish.
            for s, b in zip(socks, bodies):
                if s is refused:
                    continue
                s.sendall(b[-1:])
                reply = response_of(s)
                assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
                assert text[:100].encode() in reply
        finally:
            for s in socks:
                s.close()


def test_parse_cost_is_bounded():
    # A body of many small values parses into a tree some thirty times its
    # size: it is refused (413) before parsing when that cannot fit in the
    # budget; a body of the same size holding one string is served.
    with HostHTTP({"max_buffered_bytes": 32 << 20}) as host:
        sid = initialize(host.url())
        values = [0] * 1_000_000
        resp = post(host.url(), call(1, "echo", {"text": "x", "values": values}), session=sid)
        assert resp.status == 413, resp.status
        assert "too many JSON values" in error_of(resp)["message"]
        resp = post(host.url(), call(2, "echo", {"text": "y" * 2_000_000}), session=sid)
        assert resp.status == 200, resp.status
        assert tool_text(messages(resp)[-1]) == "y" * 2_000_000


def legacy_session(port: int) -> tuple[socket.socket, str]:
    """A legacy SSE stream on a raw socket (read up to its endpoint event, then
    never again), initialized; returns the socket and the messages URL."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.sendall(f"GET /sse HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
    got = b""
    while not (m := re.search(rb"data: (/\S*sessionId=\w+)\r?\n", got)):
        got += sock.recv(4096)
    path = m.group(1).decode()
    url = f"http://127.0.0.1:{port}{path}"
    assert post(url, init_body()).status == 202
    assert post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}).status == 202
    return sock, url


def drain_until_closed(sock: socket.socket) -> bytes:
    out = b""
    sock.settimeout(TIMEOUT)
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except ConnectionResetError:
            return out
        if not chunk:
            return out
        out += chunk


def test_stalled_legacy_sse_reader_is_cut_by_bytes():
    # 128 answers of 256 KiB to a reader that reads none: without a byte bound
    # the count bound (1024) would pin them all. With 1 MiB the stream is
    # closed and its session ends; the server stays small and serves others.
    with HostHTTP({"max_queued_bytes": 1 << 20, "connection_idle_timeout_ms": 600_000}) as host:
        sock, url = legacy_session(host.port)
        text = "z" * (256 << 10)
        for i in range(128):
            resp = post(url, call(i, "echo", {"text": text}))
            resp.read()
            if resp.status != 202:
                assert resp.status == 404, resp.status  # the session already ended: fine
                break
        assert rss_mib(host.proc.pid) < 200
        stream = drain_until_closed(sock)
        assert 0 < stream.count(b"event: message") < 128
        healthy(host.url())


def test_stalled_legacy_sse_reader_is_cut_by_time():
    # Within every queue bound, but the reader stopped: cut after the idle timeout.
    with HostHTTP({"connection_idle_timeout_ms": 800}) as host:
        sock, url = legacy_session(host.port)
        text = "w" * (256 << 10)
        for i in range(96):  # 24 MiB: more than the socket buffers hold
            resp = post(url, call(i, "echo", {"text": text}))
            resp.read()
            if resp.status != 202:
                break
        # Keep still past the timeout, then read: the stream ends short.
        time.sleep(2.0)
        stream = drain_until_closed(sock)
        assert 0 < stream.count(b"event: message") < 96
        healthy(host.url())


def ws_connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.sendall(f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Protocol: mcp\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def ws_send(sock: socket.socket, opcode: int, payload: bytes) -> None:
    # A client frame must be masked; a zero mask leaves the payload as is.
    n = len(payload)
    length = bytes([0x80 | n]) if n < 126 else (bytes([0x80 | 126]) + n.to_bytes(2, "big") if n < 65536
                                                  else bytes([0x80 | 127]) + n.to_bytes(8, "big"))
    sock.sendall(bytes([0x80 | opcode]) + length + b"\0\0\0\0" + payload)


def ws_frame(sock: socket.socket) -> tuple[int, bytes] | None:
    def exactly(n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = sock.recv(n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return out
    try:
        b0, b1 = exactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(exactly(2), "big")
        elif n == 127:
            n = int.from_bytes(exactly(8), "big")
        return b0 & 0x0F, exactly(n)
    except (EOFError, ConnectionResetError):
        return None


def test_websocket_idle_timeout():
    with HostHTTP({"connection_idle_timeout_ms": 600}) as host:
        # A client that answers the server's pings stays, well past the timeout.
        live = ws_connect(host.port)
        ws_send(live, 0x1, json.dumps(init_body()).encode())
        deadline = time.monotonic() + 2.0
        pings = 0
        while time.monotonic() < deadline:
            if not select.select([live], [], [], 0.1)[0]:
                continue
            frame = ws_frame(live)
            assert frame is not None, "a client that answers pings was cut"
            if frame[0] == 0x9:
                pings += 1
                ws_send(live, 0xA, frame[1])
        assert pings >= 2
        ws_send(live, 0x1, json.dumps({"jsonrpc": "2.0", "id": "p", "method": "ping"}).encode())
        while True:
            frame = ws_frame(live)
            assert frame is not None, "a client that answers pings was cut"
            if frame[0] == 0x1 and json.loads(frame[1]).get("id") == "p":
                break
        # A silent one (no pongs: a client that stopped reading) is closed.
        silent = ws_connect(host.port)
        closing = None
        while (frame := ws_frame(silent)) is not None:
            if frame[0] == 0x8:
                closing = frame[1]
        assert closing is not None and int.from_bytes(closing[:2], "big") == 1001, closing
        live.close()
