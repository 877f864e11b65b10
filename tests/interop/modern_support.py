"""Helpers for the 2026-07-28 (stateless) tests: the `_meta` envelope, POSTs with
the standard headers, and a schema check of every message against
tests/spec/2026-07-28/schema.json (closed where the engine shapes objects)."""
from __future__ import annotations

import http.client
import json
from typing import Any

from conftest import NOTIFICATION_DEF, RESULT_DEF, revision_schema
from http_support import ACCEPT_BOTH, messages, request

MODERN = "2026-07-28"
SERVER_NAME = "mcp-everything-server"

MODERN_RESULT_DEF = {**RESULT_DEF, "server/discover": "DiscoverResult",
                     "subscriptions/listen": "SubscriptionsListenResult"}
MODERN_NOTIFICATION_DEF = {**NOTIFICATION_DEF,
                           "notifications/subscriptions/acknowledged": "SubscriptionsAcknowledgedNotification"}
ERROR_DEF = {-32020: "HeaderMismatchError", -32021: "MissingRequiredClientCapabilityError",
             -32022: "UnsupportedProtocolVersionError"}


def meta(caps: dict | None = None, log_level: str | None = None, version: str = MODERN, **extra: Any) -> dict:
    m = {"io.modelcontextprotocol/protocolVersion": version,
         "io.modelcontextprotocol/clientCapabilities": caps or {},
         "io.modelcontextprotocol/clientInfo": {"name": "raw-modern-test", "version": "1.0"}}
    if log_level:
        m["io.modelcontextprotocol/logLevel"] = log_level
    m.update(extra)
    return m


def body(method: str, params: dict | None = None, rid: Any = 1, **meta_kw: Any) -> dict:
    p = dict(params or {})
    p.setdefault("_meta", meta(**meta_kw))
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": p}


def standard_headers(msg: dict) -> dict[str, str]:
    """The headers a conforming client sends for this message."""
    params = msg.get("params") or {}
    h = {"Mcp-Method": msg["method"], "Accept": ACCEPT_BOTH}
    version = (params.get("_meta") or {}).get("io.modelcontextprotocol/protocolVersion")
    h["MCP-Protocol-Version"] = version if isinstance(version, str) else MODERN
    name = params.get("uri") if msg["method"] == "resources/read" else params.get("name")
    if msg["method"] in ("tools/call", "prompts/get", "resources/read") and isinstance(name, str):
        h["Mcp-Name"] = name
    # The tasks extension routes its methods by task id (SEP-2663).
    if msg["method"] in ("tasks/get", "tasks/update", "tasks/cancel") and isinstance(params.get("taskId"), str):
        h["Mcp-Name"] = params["taskId"]
    return h


def mpost(url: str, msg: dict, headers: dict[str, str | None] | None = None) -> http.client.HTTPResponse:
    """POSTs `msg` with the standard headers; `headers` override them (None drops one)."""
    h = standard_headers(msg)
    for k, v in (headers or {}).items():
        h = {hk: hv for hk, hv in h.items() if hk.lower() != k.lower()}
        if v is not None:
            h[k] = v
    return request(url, "POST", msg, h)


class ModernChecker:
    """Validates what a 2026-07-28 server sends, answers by the method asked."""

    def __init__(self) -> None:
        self.schema = revision_schema(MODERN)

    def check(self, method: str, msg: Any) -> None:
        s = self.schema
        errs: list[str] = []
        assert isinstance(msg, dict), msg
        if "method" in msg:
            assert "id" not in msg, f"a server request on a 2026-07-28 stream: {msg}"
            errs += s.errors("JSONRPCNotification", msg)
            name = MODERN_NOTIFICATION_DEF.get(msg["method"])
            assert name and s.has(name), f"notification {msg['method']} is not a 2026-07-28 server notification"
            errs += s.errors(name, msg)
        elif "error" in msg:
            errs += s.errors(ERROR_DEF.get(msg["error"].get("code"), "JSONRPCErrorResponse"), msg)
        else:
            errs += s.errors("JSONRPCResultResponse", msg)
            result = msg["result"]
            errs += s.errors("Result", result)
            if isinstance(result, dict) and result.get("resultType") == "input_required":
                # Multi round-trip requests: tools/call, prompts/get and resources/read only.
                assert method in ("tools/call", "prompts/get", "resources/read"), f"input_required on {method}"
                errs += s.errors("InputRequiredResult", result)
            elif method in MODERN_RESULT_DEF:
                errs += s.errors(MODERN_RESULT_DEF[method], result)
        assert not errs, "\n".join(errs)


CHECKER = ModernChecker()


def exchange(url: str, msg: dict, headers: dict[str, str | None] | None = None,
             status: int = 200) -> tuple[http.client.HTTPResponse, list[dict]]:
    """POSTs, checks the status and every message against the 2026-07-28 schema."""
    resp = mpost(url, msg, headers)
    out = messages(resp)
    assert resp.status == status, (resp.status, out)
    for m in out:
        CHECKER.check(msg["method"], m)
    assert resp.getheader("Mcp-Session-Id") is None, "no session ids at 2026-07-28"
    return resp, out


def answer(url: str, msg: dict, **kw: Any) -> dict:
    """The final answer (the last message) of an exchange."""
    _, out = exchange(url, msg, **kw)
    assert out and "id" in out[-1] and out[-1]["id"] == msg["id"], out
    return out[-1]


def result(url: str, method: str, params: dict | None = None, **meta_kw: Any) -> dict:
    a = answer(url, body(method, params, **meta_kw))
    assert "result" in a, a
    r = a["result"]
    assert r["resultType"] == "complete"
    assert r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == SERVER_NAME
    return r


def error(url: str, msg: dict, status: int, code: int, headers: dict[str, str | None] | None = None) -> dict:
    resp, out = exchange(url, msg, headers=headers, status=status)
    assert resp.getheader("Content-Type", "").startswith("application/json")
    assert len(out) == 1 and out[0]["id"] == msg["id"], out
    assert out[0]["error"]["code"] == code, out[0]
    return out[0]["error"]


def dumps(v: Any) -> str:
    return json.dumps(v, sort_keys=True)
