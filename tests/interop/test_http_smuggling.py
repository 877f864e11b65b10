"""Request smuggling shapes, header floods and slowloris against the HTTP
listener: each is refused with a clear status (or cut by the idle timeout),
nothing hidden in a body is ever run as a request, and the next client is
served at once, meanwhile too."""
from __future__ import annotations

import json
import select
import socket
import threading
import time

import pytest

from conftest import LATEST
from http_support import TIMEOUT, HostHTTP, call, initialize, messages, post, tool_text

IDLE_MS = 600


@pytest.fixture(scope="module")
def host():
    with HostHTTP({"connection_idle_timeout_ms": IDLE_MS, "request_body_timeout_ms": 1500}) as h:
        yield h


def served_at_once(h: HostHTTP) -> None:
    """A new client's call is answered, quickly."""
    started = time.monotonic()
    sid = initialize(h.url())
    resp = post(h.url(), call("next", "echo", {"text": "next"}), session=sid, version=LATEST)
    assert resp.status == 200
    assert tool_text(messages(resp)[-1]) == "next"
    assert time.monotonic() - started < 2.0, "the next request waited"


def exchange(port: int, raw: bytes, timeout: float = TIMEOUT) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return out


def head(port: int, *lines: str) -> bytes:
    return (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            "Accept: application/json, text/event-stream\r\n" + "".join(l + "\r\n" for l in lines) + "\r\n").encode()


def smuggled(port: int, sid: str) -> bytes:
    """A whole request, to hide in another's body: a call of `put`, whose
    effect would show in the tally if it ever ran."""
    body = json.dumps(call(99, "put", {"key": "smuggled", "value": 1})).encode()
    return (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nMcp-Session-Id: {sid}\r\nMCP-Protocol-Version: {LATEST}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def nothing_smuggled_ran(h: HostHTTP) -> None:
    sid = initialize(h.url())
    resp = post(h.url(), call("t", "tally"), session=sid, version=LATEST)
    assert "smuggled" not in json.loads(tool_text(messages(resp)[-1]))["calls"]


def status_of(reply: bytes) -> int:
    assert reply.startswith(b"HTTP/1.1 "), reply[:200]
    return int(reply[9:12])


def ping_body() -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()


SHAPES = {
    # Content-Length and Transfer-Encoding together (RFC 9112 6.1: a server
    # may reject it, and must close the connection after it if not).
    "cl-and-te": lambda p, sid: head(p, "Content-Length: 4", "Transfer-Encoding: chunked")
    + b"0\r\n\r\n" + smuggled(p, sid),
    "te-and-cl": lambda p, sid: head(p, "Transfer-Encoding: chunked", f"Content-Length: {len(ping_body())}")
    + ping_body() + smuggled(p, sid),
    "two-content-lengths": lambda p, sid: head(p, "Content-Length: 0", f"Content-Length: {len(ping_body())}")
    + ping_body() + smuggled(p, sid),
    "content-length-list": lambda p, sid: head(p, f"Content-Length: 0, {len(ping_body())}") + ping_body()
    + smuggled(p, sid),
    "content-length-plus": lambda p, sid: head(p, "Content-Length: +4") + b"null" + smuggled(p, sid),
    "content-length-hex": lambda p, sid: head(p, "Content-Length: 0x10") + b"0123456789abcdef" + smuggled(p, sid),
    "content-length-huge": lambda p, sid: head(p, "Content-Length: 99999999999999999999999999") + b"{",
    "content-length-negative": lambda p, sid: head(p, "Content-Length: -1") + b"{" + smuggled(p, sid),
    "te-not-chunked": lambda p, sid: head(p, "Transfer-Encoding: gzip") + b"xx" + smuggled(p, sid),
    "te-chunked-not-last": lambda p, sid: head(p, "Transfer-Encoding: chunked, identity")
    + b"0\r\n\r\n" + smuggled(p, sid),
    "te-obfuscated": lambda p, sid: head(p, "Transfer-Encoding : chunked") + b"0\r\n\r\n" + smuggled(p, sid),
    "chunk-size-negative": lambda p, sid: head(p, "Transfer-Encoding: chunked") + b"-5\r\nnull\r\n0\r\n\r\n",
    "chunk-size-overflow": lambda p, sid: head(p, "Transfer-Encoding: chunked")
    + b"10000000000000000000004\r\nnull\r\n0\r\n\r\n" + smuggled(p, sid),
    "chunk-size-too-short": lambda p, sid: head(p, "Transfer-Encoding: chunked") + b"2\r\nnull\r\n0\r\n\r\n"
    + smuggled(p, sid),
    "chunk-without-crlf": lambda p, sid: head(p, "Transfer-Encoding: chunked") + b"4\r\nnullXX0\r\n\r\n"
    + smuggled(p, sid),
    "bare-lf-in-head": lambda p, sid: (f"POST /mcp HTTP/1.1\nHost: 127.0.0.1:{p}\nContent-Length: 4\n"
                                      "Transfer-Encoding: chunked\n\n").encode() + b"0\r\n\r\n" + smuggled(p, sid),
    "header-folding": lambda p, sid: head(p, "Content-Length: 4", "X-Folded: a", " Transfer-Encoding: chunked")
    + b"null" + smuggled(p, sid),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_smuggling_shapes_are_refused_and_nothing_hidden_runs(host, name):
    sid = initialize(host.url())
    started = time.monotonic()
    reply = exchange(host.port, SHAPES[name](host.port, sid))
    took = time.monotonic() - started
    # One answer, a refusal: the request hidden behind it is never read as one.
    assert reply.count(b"HTTP/1.1 ") == 1, reply[:400]
    assert status_of(reply) in (400, 413, 501), reply[:400]
    error = json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"]
    assert error["code"] == -32600 and error["message"], error
    assert b"\r\nconnection: close\r\n" in reply.split(b"\r\n\r\n", 1)[0].lower() + b"\r\n", reply[:400]
    assert took < 2.0, f"{name}: {took:.1f} s"  # refused at once, not after a timeout
    nothing_smuggled_ran(host)
    served_at_once(host)


def test_ten_thousand_headers_get_431(host):
    lines = [f"X-H{i}: {i}" for i in range(10_000)]
    started = time.monotonic()
    reply = exchange(host.port, head(host.port, "Content-Length: 2", *lines) + b"{}")
    assert status_of(reply) == 431, reply[:200]
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"]["code"] == -32600
    assert time.monotonic() - started < 2.0
    served_at_once(host)


def test_ten_thousand_headers_under_a_raised_cap_are_served_fast():
    # The cap raised to 1 MiB: ten thousand headers are read, and the request
    # is served without cost growing with the square of their number.
    with HostHTTP({"max_header_bytes": 1 << 20}) as h:
        body = json.dumps(call(1, "echo", {"text": "many"})).encode()
        lines = [f"X-H{i}: {i}" for i in range(10_000)]
        sid = initialize(h.url())
        started = time.monotonic()
        reply = exchange(h.port, head(h.port, f"Mcp-Session-Id: {sid}", f"MCP-Protocol-Version: {LATEST}",
                                      f"Content-Length: {len(body)}", "Connection: close", *lines) + body)
        assert status_of(reply) == 200, reply[:300]
        assert b'"text":"many"' in reply
        assert time.monotonic() - started < 2.0
        served_at_once(h)


def drip(port: int, data: bytes, every: float, stop: threading.Event) -> tuple[bytes, float]:
    """Sends data a byte at a time; returns what came back and when the server closed."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        for b in data:
            if stop.is_set():
                break
            try:
                sock.sendall(bytes([b]))
            except OSError:
                break
            time.sleep(every)
            sock.setblocking(False)
            try:
                if sock.recv(1, socket.MSG_PEEK) == b"":
                    break
            except BlockingIOError:
                pass
            except OSError:
                break
            finally:
                sock.setblocking(True)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return out, time.monotonic() - started


@pytest.mark.parametrize("part", ["head", "body"])
def test_slowloris_is_cut_and_others_are_served_meanwhile(host, part):
    """Twenty connections trickle a byte every 50 ms: a head never completes
    (the idle timeout cuts it), a body never completes (the body timeout
    answers 408). Meanwhile, new clients are served at once."""
    body = json.dumps(call(1, "echo", {"text": "x" * 200})).encode()
    if part == "head":
        data = head(host.port, *[f"X-Slow-{i}: {'y' * 20}" for i in range(40)], f"Content-Length: {len(body)}")
        prefix = b""
    else:
        prefix = head(host.port, f"Content-Length: {len(body)}")
        data = body
    results: list[tuple[bytes, float]] = []
    stop = threading.Event()

    def one() -> None:
        if prefix:
            with socket.create_connection(("127.0.0.1", host.port), timeout=TIMEOUT) as sock:
                sock.sendall(prefix)
                started = time.monotonic()
                for b in data:
                    try:
                        sock.sendall(bytes([b]))
                    except OSError:
                        break
                    if select.select([sock], [], [], 0.05)[0] or time.monotonic() - started > 5:
                        break  # the server answered (or closed)
                out = b""
                try:
                    while chunk := sock.recv(65536):
                        out += chunk
                except (socket.timeout, ConnectionResetError):
                    pass
                results.append((out, time.monotonic() - started))
        else:
            results.append(drip(host.port, data, 0.05, stop))

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    for _ in range(3):
        served_at_once(host)
    for t in threads:
        t.join(15)
    stop.set()
    assert len(results) == 20
    for out, took in results:
        if part == "head":
            # Closed by the idle timeout (checked every quarter of it), with a 408 or without a word.
            assert out == b"" or status_of(out) == 408, out[:200]
            assert took < IDLE_MS / 1000 * 1.25 + 1.0, took
        else:
            assert status_of(out) == 408, out[:200]
            assert took < 1.5 + 1.0, took
    served_at_once(host)
