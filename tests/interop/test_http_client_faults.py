"""The engine's HTTP client (libmcp through the Python binding) against servers
that misbehave: reset the connection, stall, send half a response, send
garbage. Every time the caller gets a clear error (an mcp_status and a
message that says what happened), within the configured timeout, and the
process's descriptors go back to where they were (nothing leaks)."""
from __future__ import annotations

import os
import socket
import struct
import time

import pytest

from http_mock import MockServer, Reply, Request
from http_support import libmcp_binding

TIMEOUT_S = 1.0  # the client's request timeout in these tests
BOUND_S = TIMEOUT_S + 4.0  # no call may take longer than this


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def reset(reply: Reply) -> None:
    sock = reply.h.connection
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    reply.h.close_connection = True
    reply.done = True
    sock.close()


def raw(reply: Reply, data: bytes) -> None:
    reply.h.wfile.write(data)
    reply.h.wfile.flush()
    reply.h.close_connection = True
    reply.done = True


def stall(reply: Reply, prefix: bytes = b"") -> None:
    if prefix:
        reply.h.wfile.write(prefix)
        reply.h.wfile.flush()
    reply.done = True
    reply.stop.wait(BOUND_S + 5)
    reply.h.close_connection = True


MISBEHAVIOURS = {
    "reset": reset,
    "garbage": lambda r: raw(r, b"\x16\x03\x01 this is not HTTP at all\r\n\r\n"),
    "garbage-status-line": lambda r: raw(r, b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}"),
    "half-head": lambda r: raw(r, b"HTTP/1.1 200 OK\r\nContent-Type: appl"),
    "half-json-body": lambda r: raw(r, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                       b"Content-Length: 200\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\""),
    "half-sse-event": lambda r: raw(r, b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                       b"Transfer-Encoding: chunked\r\n\r\n10\r\ndata: {\"jsonrp\r\n"),
    "bad-chunk-size": lambda r: raw(r, b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                       b"Transfer-Encoding: chunked\r\n\r\nzzzz\r\ndata: x\n\n\r\n"),
    "json-not-an-answer": lambda r: raw(r, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                           b"Content-Length: 9\r\n\r\n[1, 2, 3]"),
    "stall-before-head": lambda r: stall(r),
    "stall-mid-head": lambda r: stall(r, b"HTTP/1.1 200 OK\r\nContent-Ty"),
    "stall-mid-sse": lambda r: stall(r, b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                        b"Transfer-Encoding: chunked\r\n\r\n"),
}
STALLS = {"stall-before-head", "stall-mid-head", "stall-mid-sse"}


def initialize_result(rid) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "result": {
        "protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
        "serverInfo": {"name": "misbehaving", "version": "1"}}}


def script_for(misbehave, on_initialize: bool):
    def script(req: Request, reply: Reply) -> None:
        method = req.rpc_method
        if req.method == "GET":
            return reply.status(405)
        if req.method == "DELETE":
            return reply.status(200)
        if method == "initialize" and not on_initialize:
            return reply.json(initialize_result(req.body["id"]), headers={"Mcp-Session-Id": "s1"})
        if method == "notifications/initialized":
            return reply.status(202)
        misbehave(reply)
    return script


@pytest.fixture(scope="module")
def libmcp():
    lib = libmcp_binding()
    # Warm up once: the engine's event loops and worker threads are made on
    # first use and kept, so they belong in the baseline.
    with MockServer(script_for(reset, on_initialize=False)) as srv:
        c = lib.Client.http(srv.url, era="2025-11-25", request_timeout=TIMEOUT_S)
        c.close()
    return lib


@pytest.mark.parametrize("name", list(MISBEHAVIOURS))
def test_a_request_meets_a_misbehaving_server(libmcp, name):
    errors = libmcp.errors
    before = fds()
    with MockServer(script_for(MISBEHAVIOURS[name], on_initialize=False)) as srv:
        client = libmcp.Client.http(srv.url, era="2025-11-25", request_timeout=TIMEOUT_S)
        started = time.monotonic()
        with pytest.raises(errors.MCPError) as caught:
            client.call_tool("anything", {})
        took = time.monotonic() - started
        client.close()
    e = caught.value
    print(f"{name}: status {e.status} after {took:.2f} s: {e.message}")
    assert took < BOUND_S, f"{name}: {took:.1f} s"
    expected = {errors.ERR_TIMEOUT} if name in STALLS else {errors.ERR_CLOSED, errors.ERR_PEER, errors.ERR_IO}
    assert e.status in expected, (e.status, e.message)
    assert e.message and "tools/call" in e.message, e.message
    if e.status == errors.ERR_CLOSED:  # and it says what the client saw, not only that it closed
        assert len(e.message.partition("closed before an answer: ")[2]) > 10, e.message
    deadline = time.monotonic() + 5
    while fds() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    # Fewer is no leak: an earlier test's connection may finish closing meanwhile.
    assert fds() <= before, f"{name}: {fds() - before} descriptors leaked"


@pytest.mark.parametrize("name", list(MISBEHAVIOURS))
def test_connecting_to_a_misbehaving_server(libmcp, name):
    errors = libmcp.errors
    before = fds()
    with MockServer(script_for(MISBEHAVIOURS[name], on_initialize=True)) as srv:
        started = time.monotonic()
        with pytest.raises(errors.MCPError) as caught:
            libmcp.Client.http(srv.url, era="2025-11-25", request_timeout=TIMEOUT_S)
        took = time.monotonic() - started
    e = caught.value
    print(f"{name}: status {e.status} after {took:.2f} s: {e.message}")
    assert took < BOUND_S, f"{name}: {took:.1f} s"
    expected = {errors.ERR_TIMEOUT} if name in STALLS else {errors.ERR_IO, errors.ERR_PEER, errors.ERR_CLOSED}
    assert e.status in expected, (e.status, e.message)
    assert e.message, e
    deadline = time.monotonic() + 5
    while fds() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    # Fewer is no leak: an earlier test's connection may finish closing meanwhile.
    assert fds() <= before, f"{name}: {fds() - before} descriptors leaked"


@pytest.mark.parametrize("name", ["reset", "half-json-body", "bad-chunk-size"])
def test_an_async_request_hears_what_the_client_saw_too(libmcp, name):
    # mcp_client_request_async: the response callback's error JSON says why
    # (the bindings make it the exception's message).
    errors = libmcp.errors
    with MockServer(script_for(MISBEHAVIOURS[name], on_initialize=False)) as srv:
        client = libmcp.Client.http(srv.url, era="2025-11-25", request_timeout=TIMEOUT_S)
        try:
            with pytest.raises(errors.Closed) as caught:
                client.send("tools/call", {"name": "anything", "arguments": {}}).result(BOUND_S)
        finally:
            client.close()
    assert "closed before an answer: " in caught.value.message, caught.value.message
