"""Revision 2026-07-28 over Streamable HTTP, raw: every status and error code of
the stateless revision on the endpoint the 2025 era shares, in the order the
checks run (transport, headers against the body -32020, version -32022,
envelope -32602, method -32601/404, capabilities -32021, params). Every
message is validated against tests/spec/2026-07-28/schema.json."""
from __future__ import annotations

import base64
import json

import pytest

from conftest import SIMPLE_TEXT, STATIC_TEXT
from http_support import EverythingHTTP, initialize, messages, post, request, call, tool_text
from modern_support import (
    MODERN, CHECKER, answer, body, error, exchange, meta, mpost, result,
)

MODES = {"sse": (), "json": ("--json-response",), "stateless": ("--stateless",)}


@pytest.fixture(scope="module", params=list(MODES))
def server(request):
    with EverythingHTTP(*MODES[request.param]) as s:
        yield s


def test_discover_answers_json_without_a_session(server):
    resp, out = exchange(server.url, body("server/discover", rid="d-1"))
    assert resp.getheader("Content-Type").startswith("application/json")
    r = out[0]["result"]
    assert r["supportedVersions"][0] == MODERN and "2025-11-25" in r["supportedVersions"]
    assert {"tools", "resources", "prompts", "completions"} <= set(r["capabilities"])
    assert r["capabilities"]["extensions"] == {
        "com.example/everything-fixtures": {}, "io.modelcontextprotocol/tasks": {},
        "io.modelcontextprotocol/ui": {"mimeTypes": ["text/html;profile=mcp-app"]}}
    assert r["instructions"].startswith("A test server")
    assert r["ttlMs"] == 60000 and r["cacheScope"] == "public"
    # A session id on a modern request is ignored, never echoed.
    resp, out = exchange(server.url, body("server/discover", rid=2), headers={"Mcp-Session-Id": "nonsense"})
    assert out[0]["result"]["resultType"] == "complete"


@pytest.mark.parametrize("drop", [None, "io.modelcontextprotocol/protocolVersion",
                                  "io.modelcontextprotocol/clientCapabilities"])
def test_a_malformed_envelope_is_invalid_params(server, drop):
    m = meta()
    if drop is None:
        msg = {"jsonrpc": "2.0", "id": 101, "method": "server/discover", "params": {}}
    else:
        del m[drop]
        msg = {"jsonrpc": "2.0", "id": 101, "method": "server/discover", "params": {"_meta": m}}
    e = error(server.url, msg, 400, -32602)
    assert e["message"]


def test_client_info_is_optional_and_a_bad_log_level_is_refused(server):
    m = meta()
    del m["io.modelcontextprotocol/clientInfo"]
    assert answer(server.url, {"jsonrpc": "2.0", "id": 105, "method": "server/discover",
                               "params": {"_meta": m}})["result"]["resultType"] == "complete"
    error(server.url, body("tools/list", rid=106, log_level="loud"), 400, -32602)


def test_unsupported_version_names_the_supported_ones(server):
    e = error(server.url, body("server/discover", rid=301, version="v999.0.0"), 400, -32022)
    assert e["data"]["requested"] == "v999.0.0"
    assert e["data"]["supported"][0] == MODERN
    # A handshake version in the envelope is not served per request either.
    e = error(server.url, body("tools/list", rid=302, version="2025-11-25"), 400, -32022)
    assert e["data"]["requested"] == "2025-11-25"
    # The header alone names an unknown version: -32022 before the envelope is read.
    e = error(server.url, {"jsonrpc": "2.0", "id": 303, "method": "tools/list", "params": {}}, 400, -32022,
              headers={"MCP-Protocol-Version": "1999-01-01"})
    assert e["data"]["requested"] == "1999-01-01"


def test_headers_must_agree_with_the_body(server):
    url = server.url
    # MCP-Protocol-Version against _meta (-32020 before -32022: the order of checks).
    error(url, body("server/discover", rid=302, version="v999.0.0"), 400, -32020,
          headers={"MCP-Protocol-Version": MODERN})
    error(url, body("tools/list", rid=3), 400, -32020, headers={"MCP-Protocol-Version": None})
    error(url, body("tools/list", rid=4), 400, -32020, headers={"Mcp-Method": None})
    error(url, body("tools/list", rid=5), 400, -32020, headers={"Mcp-Method": "prompts/list"})
    error(url, body("tools/list", rid=6), 400, -32020, headers={"Mcp-Method": "TOOLS/LIST"})
    simple = body("tools/call", {"name": "test_simple_text", "arguments": {}}, rid=7)
    error(url, simple, 400, -32020, headers={"Mcp-Name": None})
    error(url, simple, 400, -32020, headers={"Mcp-Name": "wrong_tool_name"})
    assert answer(url, simple, headers={"Mcp-Name": "  test_simple_text  "})["result"]["content"][0]["text"] == SIMPLE_TEXT
    encoded = "=?base64?" + base64.b64encode(b"test_simple_text").decode() + "?="
    assert "result" in answer(url, simple, headers={"Mcp-Name": encoded})
    read = body("resources/read", {"uri": "test://static-text"}, rid=8)
    error(url, read, 400, -32020, headers={"Mcp-Name": "test://other"})
    assert answer(url, read)["result"]["contents"][0]["text"] == STATIC_TEXT


def test_x_mcp_header_parameters_are_checked(server):
    url = server.url
    tools = result(url, "tools/list")["tools"]
    schema = next(t for t in tools if t["name"] == "test_header_param")["inputSchema"]
    assert schema["properties"]["region"]["x-mcp-header"] == "Region"
    msg = body("tools/call", {"name": "test_header_param",
                              "arguments": {"region": "us-west1", "count": 42, "dry_run": True}}, rid=9)
    good = {"Mcp-Param-Region": "us-west1", "Mcp-Param-Count": "42", "Mcp-Param-Dry-Run": "true"}
    assert tool_text(answer(url, msg, headers=good)) == "region=us-west1 count=42 dry_run=true"
    error(url, msg, 400, -32020, headers={**good, "Mcp-Param-Region": None})
    error(url, msg, 400, -32020, headers={**good, "Mcp-Param-Region": "eu-north1"})
    error(url, msg, 400, -32020, headers={**good, "Mcp-Param-Count": "41"})
    error(url, msg, 400, -32020, headers={**good, "Mcp-Param-Dry-Run": "false"})
    assert "result" in answer(url, msg, headers={**good, "Mcp-Param-Count": "42.0"}), "integers compare as numbers"
    unicode = body("tools/call", {"name": "test_header_param", "arguments": {"region": "Hello, 世界"}}, rid=10)
    enc = "=?base64?" + base64.b64encode("Hello, 世界".encode()).decode() + "?="
    assert tool_text(answer(url, unicode, headers={"Mcp-Param-Region": enc})).startswith("region=Hello, 世界")
    error(url, unicode, 400, -32020, headers={"Mcp-Param-Region": "=?base64?not base64?="})


@pytest.mark.parametrize("method", ["initialize", "ping", "logging/setLevel", "resources/subscribe",
                                    "resources/unsubscribe", "unknown/method", "tasks/list"])
def test_removed_and_unknown_methods_are_404(server, method):
    msg = body(method, {"uri": "test://static-text", "level": "info", "protocolVersion": "2025-11-25",
                        "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}, rid=500)
    error(server.url, msg, 404, -32601)


def test_an_undeclared_capability_is_refused(server):
    msg = body("tools/call", {"name": "test_missing_capability", "arguments": {}}, rid=401)
    e = error(server.url, msg, 400, -32021)
    assert e["data"]["requiredCapabilities"] == {"sampling": {}}
    # Declared: the request is asked as an input request (multi round-trip requests).
    a = answer(server.url, body("tools/call", {"name": "test_missing_capability", "arguments": {}}, rid=402,
                                caps={"sampling": {}}))
    assert a["result"]["resultType"] == "input_required"
    assert [r["method"] for r in a["result"]["inputRequests"].values()] == ["sampling/createMessage"]


def test_resource_not_found_is_invalid_params(server):
    e = error(server.url, body("resources/read", {"uri": "test://missing"}, rid=11), 400, -32602)
    assert "test://missing" in e["message"]


def test_cache_hints_on_every_cacheable_result(server):
    for method in ("tools/list", "prompts/list", "resources/templates/list"):
        r = result(server.url, method)
        assert (r["ttlMs"], r["cacheScope"]) == (60000, "public"), method
    # The page lists test://watched-resource, whose own hint is 0/private: a
    # list is as fresh and as shareable as its least cacheable item.
    r = result(server.url, "resources/list")
    assert (r["ttlMs"], r["cacheScope"]) == (0, "private")
    r = result(server.url, "resources/read", {"uri": "test://static-text"})
    assert (r["ttlMs"], r["cacheScope"]) == (60000, "public")
    r = result(server.url, "resources/read", {"uri": "test://watched-resource"})
    assert (r["ttlMs"], r["cacheScope"]) == (0, "private"), "the resource's own hint"
    r = result(server.url, "resources/list")
    assert all("ttlMs" not in x and "cacheScope" not in x for x in r["resources"])
    r = result(server.url, "tools/call", {"name": "test_simple_text", "arguments": {}})
    assert "ttlMs" not in r, "tool results are not cacheable"
    names = [t["name"] for t in result(server.url, "tools/list")["tools"]]
    assert names == [t["name"] for t in result(server.url, "tools/list")["tools"]], "a deterministic order"


def test_logs_only_with_the_requests_log_level(server):
    quiet = body("tools/call", {"name": "test_logging_tool", "arguments": {}}, rid=12)
    resp, out = exchange(server.url, quiet)
    assert resp.getheader("Content-Type").startswith("application/json")
    assert [m.get("method") for m in out] == [None], "no notifications/message without a logLevel"
    loud = body("tools/call", {"name": "test_logging_tool", "arguments": {}}, rid=13, log_level="info")
    resp, out = exchange(server.url, loud)
    assert resp.getheader("Content-Type").startswith("text/event-stream"), "messages before the answer: SSE"
    assert [m.get("method") for m in out] == ["notifications/message"] * 3 + [None]
    high = body("tools/call", {"name": "test_logging_tool", "arguments": {}}, rid=14, log_level="error")
    _, out = exchange(server.url, high)
    assert len(out) == 1


def test_progress_streams_on_the_requests_own_response(server):
    msg = body("tools/call", {"name": "test_tool_with_progress", "arguments": {}}, rid=15,
               **{"progressToken": "p-15"})
    resp, out = exchange(server.url, msg)
    assert resp.getheader("Content-Type").startswith("text/event-stream")
    progress = [m for m in out if m.get("method") == "notifications/progress"]
    assert [p["params"]["progress"] for p in progress] == [0, 50, 100]
    assert all(p["params"]["progressToken"] == "p-15" for p in progress)
    assert out[-1]["id"] == 15 and out[-1]["result"]["resultType"] == "complete"


def test_trace_context_reaches_the_host(server):
    tp = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"
    msg = body("tools/call", {"name": "test_simple_text", "arguments": {}}, rid=16, traceparent=tp)
    assert "result" in answer(server.url, msg)  # the host reads it with mcp_call_meta (C test)


def test_get_and_delete_naming_the_modern_revision_are_405(server):
    for method in ("GET", "DELETE"):
        resp = request(server.url, method, headers={"MCP-Protocol-Version": MODERN, "Accept": "text/event-stream"})
        assert resp.status == 405 and resp.getheader("Allow") == "POST", method
        resp.read()


def test_transport_checks_come_first(server):
    msg = body("tools/list", rid=17)
    resp = request(server.url, "POST", raw=json.dumps(msg).encode(),
                   headers={"Content-Type": "text/plain", "Mcp-Method": "tools/list", "MCP-Protocol-Version": MODERN})
    assert resp.status == 415
    resp.read()
    resp = mpost(server.url, msg, headers={"Accept": "text/html"})
    assert resp.status == 406
    resp.read()
    notification = {"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": 1, "_meta": meta()}}
    resp = request(server.url, "POST", notification, {"MCP-Protocol-Version": MODERN,
                                                      "Mcp-Method": "notifications/cancelled"})
    assert resp.status == 202
    resp.read()


def test_both_eras_on_one_endpoint_at_once(server):
    if server.flags == ("--stateless",):
        sid = None
    else:
        sid = initialize(server.url)
    legacy = post(server.url, call(1, "test_simple_text"), session=sid, version="2025-11-25")
    assert legacy.status == 200
    assert messages(legacy)[-1]["result"]["content"][0]["text"] == SIMPLE_TEXT
    # The same session id on a modern request changes nothing.
    modern = body("tools/call", {"name": "test_simple_text", "arguments": {}}, rid=1)
    a = answer(server.url, modern, headers={"Mcp-Session-Id": sid} if sid else None)
    assert a["result"]["resultType"] == "complete"
    again = post(server.url, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, session=sid, version="2025-11-25")
    listed = messages(again)[-1]["result"]
    assert "ttlMs" not in listed and "resultType" not in listed, "2025 results are shaped for 2025"
