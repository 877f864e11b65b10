"""mcp-bridge --config: the engine's listener configuration applies to the bridge as to any
server (limits, the admin listener with metrics and health), server options under "server";
cancellation reaches the child; --max-children bounds the per-session children.
"""
from __future__ import annotations

import http.client
import json
import socket
import subprocess

import sys
import time

import anyio
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from mcp import Client, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from bridge_support import HOSTILE_CHILD, Bridge, require_bridge
from conftest import require_server_binary, server_env

ISSUER = "https://auth.example.test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port: int, path: str) -> tuple[int, str]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def test_listener_config_admin_and_limits(tmp_path):
    admin = free_port()
    config = tmp_path / "http.json"
    config.write_text(json.dumps({
        "max_body_bytes": 4096,
        "admin": f"127.0.0.1:{admin}",
        "server": {"tool_timeouts_ms": {"test_sleep": 500}},
    }))

    async def main(url):
        async with Client(url, mode="legacy", read_timeout_seconds=30, cache=None) as c:
            r = await c.call_tool("test_echo", {"text": "hi"})
            assert r.content[0].text == "hi"
            # The server option: the engine's tool timeout, in front of the child.
            with pytest.raises(MCPError) as e:
                await c.call_tool("test_sleep", {"ms": 5000})
            assert "timed out after 500 ms" in e.value.message

    with Bridge([require_server_binary()], "--config", str(config)) as b:
        anyio.run(main, b.url)
        status, body = http_get(admin, "/metrics")
        assert status == 200 and 'mcp_method_name="tools/call"' in body
        assert http_get(admin, "/healthz")[0] == 200
        assert http_get(admin, "/readyz")[0] == 200
        # The listener's limit: a body over max_body_bytes gets 413 before any forwarding.
        port = int(b.url.rsplit(":", 1)[1].split("/")[0])
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x" * 10000}})
        c.request("POST", "/mcp", body=body, headers={"Content-Type": "application/json",
                                                      "Accept": "application/json, text/event-stream"})
        assert c.getresponse().status == 413
        c.close()


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_cancellation_reaches_the_child(mode):
    """A call the client gives up on is cancelled upstream: the everything server's
    test_sleep counts the cancellations it saw."""
    async def main(url):
        async with Client(url, mode=mode, read_timeout_seconds=30, cache=None) as c:
            before = int((await c.call_tool("test_cancel_count", {})).content[0].text)
            with pytest.raises(MCPError):
                await c.call_tool("test_sleep", {"ms": 20000}, read_timeout_seconds=1.0)
            with anyio.fail_after(15):
                while int((await c.call_tool("test_cancel_count", {})).content[0].text) <= before:
                    await anyio.sleep(0.1)

    with Bridge([require_server_binary()]) as b:
        anyio.run(main, b.url)


def test_max_children():
    async def main(url):
        async with Client(url, mode="legacy", read_timeout_seconds=60, cache=None) as a, \
                Client(url, mode="legacy", read_timeout_seconds=60, cache=None) as b:
            await a.call_tool("pid", {})
            with pytest.raises(MCPError) as e:
                await b.call_tool("pid", {})
            assert "--max-children" in e.value.message
            assert e.value.data == {"reason": "upstream_unavailable"}

    with Bridge(HOSTILE_CHILD, "--per-session", "--max-children", "1") as b:
        anyio.run(main, b.url)


def test_auth_in_front_of_a_child_and_a_token_through_connect(tmp_path):
    """"auth" in --config makes the bridge an OAuth resource server: no token gets 401 with
    the challenge; a valid token is served (the SDK client over HTTP, and a second bridge
    in --connect mode passing it with --header to a client on stdio)."""
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    (tmp_path / "http.json").write_text(json.dumps({"auth": {
        "resource": resource, "authorization_servers": [ISSUER], "issuer": ISSUER,
        "jwks_file": str(tmp_path / "jwks.json")}}))
    now = int(time.time())
    token = jwt.encode({"iss": ISSUER, "aud": resource, "sub": "alice", "client_id": "c1", "scope": "mcp",
                        "iat": now, "exp": now + 600}, key, algorithm="RS256", headers={"kid": "k1"})

    async def main(url):
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                      timeout=httpx2.Timeout(30, read=60)) as hc:
            async with Client(streamable_http_client(url, http_client=hc), mode="legacy", cache=None) as c:
                assert (await c.call_tool("test_echo", {"text": "authorized"})).content[0].text == "authorized"
        params = StdioServerParameters(command=require_bridge(), env=server_env(),
                                       args=["--connect", url, "--header", f"Authorization: Bearer {token}"])
        async with Client(stdio_client(params, errlog=sys.stderr), mode="2026-07-28", cache=None,
                          read_timeout_seconds=30) as c:
            assert (await c.call_tool("test_echo", {"text": "via connect"})).content[0].text == "via connect"

    with Bridge([require_server_binary()], "--config", str(tmp_path / "http.json"), port=port) as b:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/mcp", body=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
                  headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"})
        r = c.getresponse()
        assert r.status == 401 and r.getheader("WWW-Authenticate", "").startswith("Bearer")
        c.close()
        anyio.run(main, b.url)
        # Without the token, --connect says why it cannot reach the server.
        p = subprocess.run([require_bridge(), "--connect", b.url], input=b"", capture_output=True,
                           env=server_env(), timeout=60)
        assert p.returncode == 3 and b"401" in p.stderr, p.stderr
