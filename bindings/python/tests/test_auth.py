"""OAuth access tokens in the Python binding: ctx.principal in handlers, start_http(auth=...)
with a JWKS file (JWT checks in the engine), and Server.set_token_verifier for opaque tokens."""
from __future__ import annotations

import json
import time

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

from libmcp import Context, Server

from conftest import run

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")

ISSUER = "https://auth.example.test"
MODERN_META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
               "io.modelcontextprotocol/clientCapabilities": {},
               "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"}}


@pytest.fixture
def srv():
    server = Server("auth", "1.0")

    @server.tool()
    def whoami(ctx: Context) -> str:
        return json.dumps(ctx.principal)

    yield server
    server.close()


def modern_whoami(url: str, token: str | None) -> httpx2.Response:
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2026-07-28",
               "Mcp-Method": "tools/call", "Mcp-Name": "whoami"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx2.post(url, headers=headers, timeout=10, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}, "_meta": MODERN_META}})


def principal_of(resp: httpx2.Response):
    assert resp.status_code == 200, resp.text
    return json.loads(resp.json()["result"]["content"][0]["text"])


def test_jwt_principal_reaches_a_python_handler(srv, tmp_path):
    key = ed25519.Ed25519PrivateKey.generate()
    jwk = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "k1", "alg": "EdDSA"}
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    # The resource must name the port: bind once to learn a free one, then serve there.
    port = srv.start_http("127.0.0.1", 0)
    srv.stop_http(1)
    resource = f"http://127.0.0.1:{port}/mcp"
    srv.start_http("127.0.0.1", port, auth={"resource": resource, "authorization_servers": [ISSUER],
                                            "issuer": ISSUER, "jwks_file": str(tmp_path / "jwks.json")})
    now = int(time.time())
    token = jwt.encode({"iss": ISSUER, "aud": resource, "sub": "py-user", "azp": "py-client",
                        "scope": "a b", "exp": now + 60, "custom": 7}, key, algorithm="EdDSA",
                       headers={"kid": "k1"})
    p = principal_of(modern_whoami(resource, token))
    assert p["subject"] == "py-user" and p["client_id"] == "py-client" and p["issuer"] == ISSUER
    assert p["scopes"] == ["a", "b"] and p["claims"]["custom"] == 7
    refused = modern_whoami(resource, None)
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer resource_metadata=")

    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def body():
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as hc:
            async with Client(streamable_http_client(resource, http_client=hc), mode="legacy") as c:
                r = await c.call_tool("whoami", {})
                assert json.loads(r.content[0].text)["subject"] == "py-user"
    run(body)


def test_token_verifier_checks_opaque_tokens(srv):
    seen = []

    def verify(token: str):
        seen.append(token)
        if token == "opaque-good":
            return {"subject": "svc", "client_id": "c9", "scopes": "x y", "claims": {"tenant": "t1"}}
        if token == "raises":
            raise RuntimeError("introspection endpoint down")
        return None

    srv.set_token_verifier(verify)
    port = srv.start_http("127.0.0.1", 0, auth={"resource": "http://127.0.0.1/mcp",
                                                  "authorization_servers": [ISSUER]})
    url = f"http://127.0.0.1:{port}/mcp"
    p = principal_of(modern_whoami(url, "opaque-good"))
    assert p == {"subject": "svc", "client_id": "c9", "scopes": ["x", "y"], "claims": {"tenant": "t1"}}
    for bad in ("opaque-bad", "raises"):
        r = modern_whoami(url, bad)
        assert r.status_code == 401
        assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert seen == ["opaque-good", "opaque-bad", "raises"]


def test_required_scopes_of_a_python_tool(srv):
    @srv.tool(required_scopes=["admin"])
    def purge() -> str:
        return "purged"

    srv.set_token_verifier(lambda t: {"subject": t, "scopes": t.split("+")[1:]})
    port = srv.start_http("127.0.0.1", 0, auth={"resource": "http://127.0.0.1/mcp",
                                                  "authorization_servers": [ISSUER]})
    url = f"http://127.0.0.1:{port}/mcp"
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2026-07-28",
               "Mcp-Method": "tools/call", "Mcp-Name": "purge"}
    msg = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": "purge", "arguments": {}, "_meta": MODERN_META}}
    r = httpx2.post(url, headers={**headers, "Authorization": "Bearer user+read"}, json=msg, timeout=10)
    assert r.status_code == 403
    assert r.headers["www-authenticate"].startswith('Bearer error="insufficient_scope", scope="admin"')
    r = httpx2.post(url, headers={**headers, "Authorization": "Bearer user+read+admin"}, json=msg, timeout=10)
    assert r.status_code == 200 and r.json()["result"]["content"][0]["text"] == "purged"


def test_auth_without_keys_or_verifier_is_refused_at_start(srv):
    import libmcp
    with pytest.raises(libmcp.InvalidArgument, match="no way to check tokens"):
        srv.start_http("127.0.0.1", 0, auth={"resource": "http://127.0.0.1/mcp", "authorization_servers": [ISSUER]})


def test_principal_is_none_without_auth(srv):
    port = srv.start_http("127.0.0.1", 0)
    assert principal_of(modern_whoami(f"http://127.0.0.1:{port}/mcp", None)) is None
