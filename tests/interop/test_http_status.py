"""Raw HTTP against the everything server: every status code of the Streamable
HTTP transport, with the JSON-RPC error body a refusal must carry."""
from __future__ import annotations

import json
import socket

import pytest

from conftest import LATEST
from http_support import (
    EverythingHTTP, call, connect, error_of, init_body, initialize, messages, post, request, tool_text,
)


@pytest.fixture(scope="module")
def server():
    with EverythingHTTP() as s:
        yield s


@pytest.fixture(scope="module")
def json_server():
    with EverythingHTTP("--json-response") as s:
        yield s


def test_initialize_gives_a_session_id(server):
    resp = post(server.url, init_body())
    assert resp.status == 200
    sid = resp.getheader("Mcp-Session-Id")
    # 128 random bits as hex: visible ASCII, and a new one each time.
    assert sid and len(sid) == 32 and all(c in "0123456789abcdef" for c in sid)
    assert resp.getheader("Content-Type") == "text/event-stream"
    assert messages(resp)[-1]["result"]["protocolVersion"] == LATEST
    assert initialize(server.url) != sid


def test_json_mode_answers_with_a_json_body(json_server):
    sid = initialize(json_server.url)
    resp = post(json_server.url, call(1, "test_echo", {"text": "x"}), session=sid, version=LATEST)
    assert resp.status == 200 and resp.getheader("Content-Type") == "application/json"
    assert int(resp.getheader("Content-Length")) > 0
    assert tool_text(json.loads(resp.read())) == "x"


def test_json_mode_switches_to_sse_when_the_call_sends_first(json_server):
    sid = initialize(json_server.url)
    resp = post(json_server.url, call(1, "test_tool_with_progress", token="tok"), session=sid, version=LATEST)
    assert resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream"
    got = messages(resp)
    assert [m["params"]["progress"] for m in got[:-1]] == [0, 50, 100]
    assert got[-1]["id"] == 1 and "result" in got[-1]


def test_notification_and_response_get_202(server):
    sid = initialize(server.url)
    resp = post(server.url, {"jsonrpc": "2.0", "method": "notifications/whatever"}, session=sid, version=LATEST)
    assert resp.status == 202 and resp.read() == b""
    resp = post(server.url, {"jsonrpc": "2.0", "id": "nobody-asked", "result": {}}, session=sid, version=LATEST)
    assert resp.status == 202 and resp.read() == b""


def test_missing_session_id_is_400(server):
    resp = post(server.url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert resp.status == 400
    assert error_of(resp)["code"] == -32600


def test_unknown_session_is_404(server):
    resp = post(server.url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, session="f" * 32)
    assert resp.status == 404
    assert "not found" in error_of(resp)["message"].lower()


def test_delete_ends_the_session_then_404(server):
    sid = initialize(server.url)
    resp = request(server.url, "DELETE", headers={"Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST})
    assert resp.status == 200
    resp.read()
    for method in ("POST", "GET", "DELETE"):
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"} if method == "POST" else None
        headers = {"Mcp-Session-Id": sid, "Accept": "application/json, text/event-stream"}
        resp = request(server.url, method, body, headers)
        assert resp.status == 404, method
        error_of(resp)


def test_protocol_version_header(server):
    sid = initialize(server.url)
    ping = {"jsonrpc": "2.0", "id": 7, "method": "ping"}
    resp = post(server.url, ping, session=sid, version="1999-01-01")
    assert resp.status == 400 and "MCP-Protocol-Version" in error_of(resp)["message"]
    # Absent: the session tells the revision (2025-03-26 is assumed only
    # without one), so a client that leaves it out still works.
    resp = post(server.url, ping, session=sid)
    assert resp.status == 200 and messages(resp)[-1] == {"jsonrpc": "2.0", "id": 7, "result": {}}


@pytest.mark.parametrize("negotiated, other", [(LATEST, "2025-06-18"), ("2025-06-18", LATEST),
                                               ("2025-03-26", "2025-06-18")])
def test_protocol_version_header_must_match_the_session(server, negotiated, other):
    sid = initialize(server.url, negotiated)
    ping = {"jsonrpc": "2.0", "id": 8, "method": "ping"}
    resp = post(server.url, ping, session=sid, version=other)
    assert resp.status == 400
    err = error_of(resp)
    assert err["code"] == -32600
    assert negotiated in err["message"] and other in err["message"], err
    assert err["data"] == {"received": other, "negotiated": negotiated}
    headers = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": other, "Accept": "text/event-stream"}
    for method in ("GET", "DELETE"):
        resp = request(server.url, method, headers=headers)
        assert resp.status == 400, method
        assert other in error_of(resp)["message"]
    # The refused DELETE did not end the session; the right header is served.
    resp = post(server.url, ping, session=sid, version=negotiated)
    assert resp.status == 200 and messages(resp)[-1]["result"] == {}


def test_stateless_requests_take_any_supported_version():
    with EverythingHTTP("--stateless") as s:
        for version in ("2025-03-26", "2025-06-18", LATEST, None):
            resp = post(s.url, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, version=version)
            assert resp.status == 200, version
            messages(resp)


def test_dns_rebinding_is_refused(server):
    ping = init_body()
    resp = post(server.url, ping, headers={"Host": "evil.example:80"})
    assert resp.status == 403 and "Host" in error_of(resp)["message"]
    resp = post(server.url, ping, headers={"Origin": "http://evil.example"})
    assert resp.status == 403 and "Origin" in error_of(resp)["message"]
    resp = post(server.url, ping, headers={"Origin": "http://localhost:5173"})
    assert resp.status == 200
    resp.read()


def test_bad_bodies(server):
    resp = post(server.url, raw=b'{"jsonrpc":"2.0",')
    assert resp.status == 400 and error_of(resp)["code"] == -32700
    resp = post(server.url, {"jsonrpc": "1.0", "id": 3, "method": "ping"})
    assert resp.status == 400
    err = json.loads(resp.read())
    assert err["id"] == 3 and err["error"]["code"] == -32600
    resp = post(server.url, raw=b"{}", headers={"Content-Type": "text/plain"})
    assert resp.status == 415
    error_of(resp)
    resp = post(server.url, init_body(), headers={"Accept": "text/html"})
    assert resp.status == 406
    error_of(resp)


def test_get_stream_rules(server):
    sid = initialize(server.url)
    headers = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST}
    resp = request(server.url, "GET", headers={**headers, "Accept": "application/json"})
    assert resp.status == 406
    error_of(resp)
    resp = request(server.url, "GET", headers={"Accept": "text/event-stream"})
    assert resp.status == 400
    error_of(resp)
    first = request(server.url, "GET", headers={**headers, "Accept": "text/event-stream"})
    assert first.status == 200 and first.getheader("Content-Type") == "text/event-stream"
    second = request(server.url, "GET", headers={**headers, "Accept": "text/event-stream"})
    assert second.status == 409
    error_of(second)
    first.close()


def test_other_methods_are_405(server):
    resp = request(server.url, "PUT", {"x": 1})
    assert resp.status == 405 and "POST" in resp.getheader("Allow")
    error_of(resp)


def test_unknown_path_is_404(server):
    resp = request(server.base + "/nope", "GET")
    assert resp.status == 404
    error_of(resp)


def test_stateless_mode():
    with EverythingHTTP("--stateless") as s:
        resp = post(s.url, init_body())
        assert resp.status == 200 and resp.getheader("Mcp-Session-Id") is None
        messages(resp)
        # Any request stands alone: no session id needed, none given.
        resp = post(s.url, call(1, "test_echo", {"text": "alone"}), version=LATEST)
        assert resp.status == 200 and tool_text(messages(resp)[-1]) == "alone"
        for method in ("GET", "DELETE"):
            resp = request(s.url, method, headers={"Accept": "text/event-stream"})
            assert resp.status == 405, method
            error_of(resp)


def test_keep_alive_serves_many_requests_on_one_connection(json_server):
    sid = initialize(json_server.url)
    conn = connect(json_server.url)
    for i in range(20):
        resp = post(json_server.url, call(i, "test_echo", {"text": str(i)}), session=sid, version=LATEST, conn=conn)
        assert resp.status == 200 and tool_text(json.loads(resp.read())) == str(i)


def test_header_too_large_is_431(server):
    resp = post(server.url, init_body(), headers={"X-Big": "a" * 40_000})
    assert resp.status == 431
    error_of(resp)


def test_body_too_large_is_413(server):
    # The everything server keeps the 16 MiB default; a declared larger body is
    # refused before it is sent.
    host, port = server.url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST /mcp HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                     f"Accept: application/json\r\nContent-Length: {17 << 20}\r\n\r\n".encode())
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413"), reply[:100]
    body = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert body["error"]["code"] == -32600 and "limit" in body["error"]["message"]


def test_legacy_endpoints_refuse_clearly(server):
    resp = post(server.base + "/messages?sessionId=" + "0" * 32, {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert resp.status == 404
    error_of(resp)
    resp = post(server.base + "/messages", {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert resp.status == 400 and "sessionId" in error_of(resp)["message"]
    resp = request(server.base + "/sse", "GET", headers={"Accept": "application/json"})
    assert resp.status == 406
    error_of(resp)


def test_legacy_stream_carries_the_answers(server):
    from http_support import read_event
    stream = request(server.base + "/sse", "GET", headers={"Accept": "text/event-stream"})
    endpoint = read_event(stream)
    assert endpoint["event"] == "endpoint" and endpoint["data"].startswith("/messages?sessionId=")
    target = server.base + endpoint["data"]
    resp = post(target, init_body("2024-11-05"))
    assert resp.status == 202
    resp.read()
    answer = read_event(stream)
    assert answer["event"] == "message"
    assert json.loads(answer["data"])["result"]["protocolVersion"] == "2024-11-05"
    stream.close()  # the session ends with its stream
    import time
    for _ in range(50):
        resp = post(target, {"jsonrpc": "2.0", "id": 2, "method": "ping"})
        resp.read()
        if resp.status == 404:
            break
        time.sleep(0.05)
    assert resp.status == 404
