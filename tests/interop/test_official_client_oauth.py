"""The official Python SDK's client (mcp==2.3.0) with its OAuth provider
(mcp.client.auth.OAuthClientProvider) against our protected everything server
(--auth-config), in both eras, with an authorization server made of the SDK's own
components (fixtures/sdk_jwt_as.py: mcp.server.auth routes issuing RS256 JWTs). With the
same authorization server, our own client over the 2024-11-05 transport: its SSE GET is
the request refused with 401.

Neither side of the flow is ours except the resource server: the 401 sends the SDK client
to our protected-resource metadata, then to the AS for dynamic registration and the
authorization code with PKCE; our server checks the JWT against the AS's JWKS (jwks_url).
Then a 403 insufficient_scope on test_admin_only makes the client step up, and an expired
token is refreshed. The "person" approves at once: the redirect handler GETs the
authorization URL and the callback handler hands back the code from the redirect.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import anyio
import httpx2
import pytest

from http_support import EverythingHTTP, free_port, init_body, post
from test_http_auth import bearer, challenge

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class SDKAuthorizationServer:
    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, str(FIXTURES / "sdk_jwt_as.py"), str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while True:
            try:
                self.metadata = self._get("/.well-known/oauth-authorization-server")
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.proc.kill()
                    raise RuntimeError("the AS did not start: " + self.proc.stderr.read().decode()[-2000:])
                time.sleep(0.2)

    def _get(self, path: str) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
            return json.loads(r.read())

    @property
    def issuer(self) -> str:
        return self.metadata["issuer"]

    def stats(self) -> dict:
        return self._get("/stats")

    def set_ttl(self, seconds: int) -> None:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/ttl?seconds={seconds}", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def authorization_server():
    s = SDKAuthorizationServer()
    yield s
    s.close()


class ProtectedByAS(EverythingHTTP):
    """Our everything server trusting the SDK-made AS: its issuer, its JWKS by URL. The
    resource is the /mcp URL, or with `origin` the server's origin (which covers /sse too)."""

    def __init__(self, tmp_path, as_: SDKAuthorizationServer, origin: bool = False):
        port = free_port()
        resource = f"http://127.0.0.1:{port}" + ("" if origin else "/mcp")
        config = {"resource": resource, "authorization_servers": [as_.issuer],
                  "issuer": as_.issuer, "jwks_url": f"http://127.0.0.1:{as_.port}/jwks",
                  "scopes_supported": ["mcp:read"], "clock_skew_s": 0}
        path = tmp_path / "auth.json"
        path.write_text(json.dumps(config))
        super().__init__("--auth-config", str(path), port=port)


class MemStorage:
    """The SDK's TokenStorage protocol, in memory."""

    def __init__(self):
        self.tokens = self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, info):
        self.client = info


def sdk_oauth(url: str, storage: MemStorage):
    from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
    from mcp.shared.auth import OAuthClientMetadata

    redirect: dict[str, str] = {}

    async def on_redirect(authorization_url: str) -> None:
        # The browser of a person who approves at once: the AS answers with the redirect.
        async with httpx2.AsyncClient() as hc:
            resp = await hc.get(authorization_url)
            assert resp.status_code in (302, 303, 307), (resp.status_code, resp.text)
            redirect["location"] = resp.headers["location"]

    async def on_callback() -> AuthorizationCodeResult:
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(redirect["location"]).query)
        return AuthorizationCodeResult(code=q["code"][0], state=q["state"][0])

    return OAuthClientProvider(url, OAuthClientMetadata(client_name="sdk-client", redirect_uris=["http://127.0.0.1:9/cb"]),
                               storage, redirect_handler=on_redirect, callback_handler=on_callback)


def run(body, limit: float = 60) -> None:
    async def main():
        with anyio.fail_after(limit):
            await body()
    anyio.run(main)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_sdk_client_discovers_registers_authorizes_and_steps_up(tmp_path, authorization_server, mode):
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    as_ = authorization_server
    before = as_.stats()
    wire: list[tuple[str, str, int]] = []

    async def record(response):
        wire.append((response.request.method, str(response.request.url), response.status_code))

    with ProtectedByAS(tmp_path, as_) as server:
        storage = MemStorage()

        async def body():
            async with httpx2.AsyncClient(auth=sdk_oauth(server.url, storage), event_hooks={"response": [record]},
                                          timeout=httpx2.Timeout(30, read=60)) as hc:
                async with Client(streamable_http_client(server.url, http_client=hc), mode=mode) as c:
                    who = json.loads((await c.call_tool("test_whoami", {})).content[0].text)
                    assert who["subject"] == "alice" and who["scopes"] == ["mcp:read"], who
                    assert who["client_id"] == storage.client.client_id and who["issuer"] == as_.issuer
                    assert who["claims"]["aud"] == server.url
                    # test_admin_only needs mcp:admin: 403, step-up, retried.
                    admin = await c.call_tool("test_admin_only", {})
                    assert admin.content[0].text == "admin ok"
                    who = json.loads((await c.call_tool("test_whoami", {})).content[0].text)
                    assert who["scopes"] == ["mcp:read", "mcp:admin"], who

        run(body)
    after = as_.stats()
    assert after["registrations"] == before["registrations"] + 1
    auths = after["authorizations"][len(before["authorizations"]):]
    assert auths == [{"scopes": ["mcp:read"], "resource": server.url},
                     {"scopes": ["mcp:read", "mcp:admin"], "resource": server.url}], auths
    assert after["code_exchanges"] == before["code_exchanges"] + 2
    # On the wire: our 401, our metadata, the AS; later our 403 for the scope.
    mcp = [(m, s) for m, u, s in wire if u == server.url]
    assert mcp[0] == ("POST", 401), wire
    assert ("POST", 403) in mcp, wire
    assert any(u.endswith("/.well-known/oauth-protected-resource/mcp") and s == 200 for _, u, s in wire), wire
    assert any(u.endswith("/register") and s == 201 for _, u, s in wire), wire


def test_sdk_client_refreshes_an_expired_token(tmp_path, authorization_server):
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    as_ = authorization_server
    as_.set_ttl(3)
    try:
        before = as_.stats()
        with ProtectedByAS(tmp_path, as_) as server:
            storage = MemStorage()
            expired: dict[str, str] = {}

            async def body():
                async with httpx2.AsyncClient(auth=sdk_oauth(server.url, storage),
                                              timeout=httpx2.Timeout(30, read=60)) as hc:
                    async with Client(streamable_http_client(server.url, http_client=hc), mode="legacy") as c:
                        await c.call_tool("test_whoami", {})
                        expired["token"] = storage.tokens.access_token
                        # exp is whole seconds and the check is "now > exp" on whole seconds
                        # too, so a 3 s token can pass for up to 4 s: wait past that.
                        await anyio.sleep(4.5)
                        who = json.loads((await c.call_tool("test_whoami", {})).content[0].text)
                        assert who["subject"] == "alice"
                        assert storage.tokens.access_token != expired["token"]

            run(body)
            # Our server refuses the first token now: it has expired (no clock skew configured).
            resp = post(server.url, init_body("2025-11-25"), headers=bearer(expired["token"]))
            assert resp.status == 401
            c = challenge(resp)
            assert c["error"] == "invalid_token" and "expired" in c.get("error_description", ""), c
            resp.read()
        after = as_.stats()
        assert after["refreshes"] == before["refreshes"] + 1
        assert len(after["authorizations"]) == len(before["authorizations"]) + 1, "refreshed, not re-authorized"
    finally:
        as_.set_ttl(3600)


# --------------------------------------------------------------------------- our client, legacy SSE
def test_our_client_authorizes_the_legacy_sse_get(tmp_path, authorization_server):
    """transport legacy_sse: the GET of /sse is the first request; its 401 runs the OAuth flow
    (discovery, registration, code with PKCE) and the GET is made again with the token."""
    from http_support import libmcp_binding
    from oauth_world import follow_once

    libmcp = libmcp_binding()
    as_ = authorization_server
    before = as_.stats()
    stored = {}
    with ProtectedByAS(tmp_path, as_, origin=True) as server:
        with libmcp.Client.http(server.base + "/sse", transport="legacy_sse", era="legacy", oauth={},
                                oauth_handler=follow_once, oauth_store=lambda iss, creds: stored.update({iss: creds}),
                                timeout=30, request_timeout=20) as c:
            who = json.loads(c.call_tool("test_whoami", {})["content"][0]["text"])
        assert who["subject"] == "alice" and who["scopes"] == ["mcp:read"] and who["claims"]["aud"] == server.base
        after = as_.stats()
        assert after["authorizations"][len(before["authorizations"]):] == [{"scopes": ["mcp:read"],
                                                                             "resource": server.base}]
        assert list(stored) == [as_.issuer]

        # A person who declines: the connect fails, naming the legacy stream and the reason.
        def decline(url, redirect_uri):
            raise PermissionError("the person said no")

        with pytest.raises(libmcp.MCPError) as e:
            libmcp.Client.http(server.base + "/sse", transport="legacy_sse", era="legacy", oauth={},
                               oauth_handler=decline, timeout=30, request_timeout=20).close()
        assert "legacy SSE stream" in str(e.value) and "the person said no" in str(e.value), str(e.value)
