"""CORS for browser clients ("cors_allowed_origins"): preflights answered with
204 for admitted origins, Access-Control-Allow-Origin on their responses. The
Origin check against DNS rebinding ("allowed_origins") stays the gate: CORS
only narrows it."""
from __future__ import annotations

import json
import socket

import pytest

from conftest import LATEST
from http_support import (
    HostHTTP, call, error_of, init_body, initialize, messages, post, read_event, request,
    start_host_expecting_error, tool_text,
)

INSPECTOR = "http://localhost:6274"


def preflight(url: str, origin: str, method: str = "POST", headers: str = "content-type, mcp-session-id"):
    return request(url, "OPTIONS", headers={"Origin": origin, "Access-Control-Request-Method": method,
                                            "Access-Control-Request-Headers": headers})


def listed(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


def test_without_the_option_there_is_no_cors():
    with HostHTTP({}) as h:
        resp = preflight(h.url(), INSPECTOR)
        assert resp.status == 405
        error_of(resp)
        resp = post(h.url(), init_body(), headers={"Origin": INSPECTOR})
        assert resp.status == 200
        assert resp.getheader("Access-Control-Allow-Origin") is None and resp.getheader("Vary") is None
        messages(resp)


def test_preflight_for_an_admitted_origin():
    with HostHTTP({"cors_allowed_origins": [INSPECTOR]}) as h:
        resp = preflight(h.url(), INSPECTOR)
        assert resp.status == 204 and resp.read() == b""
        assert resp.getheader("Access-Control-Allow-Origin") == INSPECTOR
        assert listed(resp.getheader("Access-Control-Allow-Methods")) == {"get", "post", "delete"}
        assert listed(resp.getheader("Access-Control-Allow-Headers")) >= {
            "content-type", "accept", "authorization", "mcp-session-id", "mcp-protocol-version", "last-event-id"}
        assert int(resp.getheader("Access-Control-Max-Age")) > 0
        assert "origin" in listed(resp.getheader("Vary"))
        assert resp.getheader("Access-Control-Allow-Credentials") is None
        # An OPTIONS that is no preflight is not a method of the endpoint.
        resp = request(h.url(), "OPTIONS", headers={"Origin": INSPECTOR})
        assert resp.status == 405
        error_of(resp)


def test_responses_to_an_admitted_origin_can_be_read():
    with HostHTTP({"cors_allowed_origins": [INSPECTOR], "json_response": True}) as h:
        resp = post(h.url(), init_body(), headers={"Origin": INSPECTOR})
        assert resp.status == 200
        assert resp.getheader("Access-Control-Allow-Origin") == INSPECTOR
        assert "mcp-session-id" in listed(resp.getheader("Access-Control-Expose-Headers"))
        assert "origin" in listed(resp.getheader("Vary"))
        sid = resp.getheader("Mcp-Session-Id")
        messages(resp)
        origin = {"Origin": INSPECTOR}
        resp = post(h.url(), {"jsonrpc": "2.0", "method": "notifications/initialized"}, session=sid,
                    version=LATEST, headers=origin)
        assert resp.status == 202 and resp.getheader("Access-Control-Allow-Origin") == INSPECTOR
        resp.read()
        resp = post(h.url(), call(1, "echo", {"text": "cors"}), session=sid, version=LATEST, headers=origin)
        assert resp.getheader("Access-Control-Allow-Origin") == INSPECTOR
        assert tool_text(messages(resp)[-1]) == "cors"
        # Streams and refusals too: the page must be able to read why.
        stream = request(h.url(), "GET", headers={**origin, "Mcp-Session-Id": sid, "MCP-Protocol-Version": LATEST,
                                                  "Accept": "text/event-stream"})
        assert stream.status == 200 and stream.getheader("Access-Control-Allow-Origin") == INSPECTOR
        stream.close()
        resp = post(h.url(), call(2, "echo"), session="f" * 32, version=LATEST, headers=origin)
        assert resp.status == 404 and resp.getheader("Access-Control-Allow-Origin") == INSPECTOR
        error_of(resp)


def test_an_origin_admitted_only_by_the_origin_check_gets_no_cors():
    with HostHTTP({"cors_allowed_origins": [INSPECTOR]}) as h:
        other = "http://localhost:5173"  # passes the default Origin check
        resp = preflight(h.url(), other)
        assert resp.status == 403 and resp.getheader("Access-Control-Allow-Origin") is None
        assert "cors" in error_of(resp)["message"].lower()
        resp = post(h.url(), init_body(), headers={"Origin": other})
        assert resp.status == 200 and resp.getheader("Access-Control-Allow-Origin") is None
        assert "origin" in listed(resp.getheader("Vary"))
        messages(resp)


@pytest.mark.parametrize("cors", [["*"], [INSPECTOR, "*"]])
def test_the_origin_check_stays_the_gate(cors):
    """"*" means every origin the Origin check admits; a rebinding page is
    still refused, preflight or not, and gets no CORS header."""
    with HostHTTP({"cors_allowed_origins": cors}) as h:
        for origin in ("http://127.0.0.1:8080", "https://localhost"):
            resp = preflight(h.url(), origin)
            assert resp.status == 204 and resp.getheader("Access-Control-Allow-Origin") == origin
        for origin in ("http://evil.example", "null"):
            resp = preflight(h.url(), origin)
            assert resp.status == 403 and resp.getheader("Access-Control-Allow-Origin") is None
            assert "Origin not allowed" in error_of(resp)["message"]
            resp = post(h.url(), init_body(), headers={"Origin": origin})
            assert resp.status == 403 and resp.getheader("Access-Control-Allow-Origin") is None
            error_of(resp)
        resp = request(h.url(), "OPTIONS", headers={"Origin": INSPECTOR, "Access-Control-Request-Method": "POST",
                                                    "Host": "evil.example"})
        assert resp.status == 403 and resp.getheader("Access-Control-Allow-Origin") is None
        error_of(resp)


def test_a_cors_origin_the_origin_check_refuses_is_a_configuration_error():
    line = start_host_expecting_error({"cors_allowed_origins": ["https://app.example"]})
    assert line.startswith("ERROR 1 ") and "https://app.example" in line and "allowed_origins" in line, line
    line = start_host_expecting_error({"cors_allowed_origins": "https://app.example"})
    assert line.startswith("ERROR 1 "), line
    config = {"cors_allowed_origins": ["https://app.example"], "allowed_origins": ["https://app.example"]}
    with HostHTTP(config) as h:
        resp = preflight(h.url(), "https://app.example:8443")
        assert resp.status == 204 and resp.getheader("Access-Control-Allow-Origin") == "https://app.example:8443"


def test_legacy_and_stateless_endpoints_have_their_own_methods():
    with HostHTTP({"cors_allowed_origins": [INSPECTOR]}) as h:
        resp = preflight(h.url("/sse"), INSPECTOR, "GET")
        assert resp.status == 204 and listed(resp.getheader("Access-Control-Allow-Methods")) == {"get"}
        resp = preflight(h.url("/messages"), INSPECTOR)
        assert resp.status == 204 and listed(resp.getheader("Access-Control-Allow-Methods")) == {"post"}
        stream = request(h.url("/sse"), "GET", headers={"Origin": INSPECTOR, "Accept": "text/event-stream"})
        assert stream.getheader("Access-Control-Allow-Origin") == INSPECTOR
        assert read_event(stream)["event"] == "endpoint"
        stream.close()
    with HostHTTP({"cors_allowed_origins": [INSPECTOR], "stateless": True}) as h:
        resp = preflight(h.url(), INSPECTOR)
        assert resp.status == 204 and listed(resp.getheader("Access-Control-Allow-Methods")) == {"post"}


def test_pipelined_requests_each_get_their_own_origin():
    """A request read while the one before it is still being answered must not
    lend its Origin to that answer."""
    slow_origin, fast_origin = INSPECTOR, "http://localhost:5173"
    with HostHTTP({"cors_allowed_origins": [slow_origin, fast_origin], "json_response": True}) as h:
        sid = initialize(h.url())
        raw = b""
        for i, (origin, tool, args) in enumerate([(slow_origin, "sleep", {"ms": 300}),
                                                  (fast_origin, "echo", {"text": "fast"})]):
            body = json.dumps(call(i, tool, args)).encode()
            raw += (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{h.port}\r\nContent-Type: application/json\r\n"
                    f"Accept: application/json\r\nMcp-Session-Id: {sid}\r\nMCP-Protocol-Version: {LATEST}\r\n"
                    f"Origin: {origin}\r\nContent-Length: {len(body)}\r\n"
                    + ("Connection: close\r\n" if i == 1 else "") + "\r\n").encode() + body
        with socket.create_connection(("127.0.0.1", h.port), timeout=10) as sock:
            sock.sendall(raw)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        heads = [part.split(b"\r\n\r\n")[0].decode() for part in reply.split(b"HTTP/1.1 ")[1:]]
        assert len(heads) == 2, reply
        assert f"access-control-allow-origin: {slow_origin}" in heads[0].lower(), heads[0]
        assert f"access-control-allow-origin: {fast_origin}" in heads[1].lower(), heads[1]
