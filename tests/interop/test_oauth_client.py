"""Our OAuth client (mcp_client_connect_http "oauth", through the Python binding) against
authorization servers:

- the official Python SDK's own authorization-server and resource-server components
  (mcp.server.auth in mcp==2.3.0, fixtures/sdk_oauth_server.py): dynamic registration,
  authorization code with PKCE S256 and `resource`, refresh, stored credentials;
- oauth_world.World, which restates the conformance suite's client auth scenarios
  (modelcontextprotocol/conformance src/scenarios/client/auth): the four metadata variants,
  scope selection and step-up with its retry limit, the token endpoint auth methods,
  pre-registration, Client ID Metadata Documents, resource mismatch, offline_access, the
  authorization-server binding, the `iss` cases, issuer mismatch, no PKCE, the 2025-03-26
  fallbacks and client credentials.

The "person" approves at once: the handler GETs the authorization URL and hands back the
redirect (oauth_world.follow_once), as the conformance suite's headless clients do.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from http_support import free_port, libmcp_binding
from oauth_world import World, follow_once

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def libmcp():
    return libmcp_binding()


def connect(libmcp, world_or_url, oauth=None, store=None, handler=follow_once, era="legacy", **kw):
    url = world_or_url if isinstance(world_or_url, str) else world_or_url.url
    return libmcp.Client.http(url, oauth=oauth if oauth is not None else {}, oauth_handler=handler,
                              oauth_store=store, era=era, timeout=20, request_timeout=20, **kw)


def whoami(client) -> dict:
    return json.loads(client.call_tool("whoami", {})["content"][0]["text"])


def refused(libmcp, world, match: str, **kw) -> str:
    """Connecting fails, with the reason in the message."""
    with pytest.raises(libmcp.MCPError) as e:
        connect(libmcp, world, **kw).close()
    assert match in str(e.value), str(e.value)
    return str(e.value)


# --------------------------------------------------------------------------- metadata variants
@pytest.mark.parametrize("variant", ["default", "var1", "var2", "var3"])
def test_metadata_discovery_variants(libmcp, variant):
    """auth/metadata-default, -var1, -var2, -var3: where PRM and the AS metadata live."""
    cfg = {
        "default": dict(prm_path="/.well-known/oauth-protected-resource/mcp", prm_in_header=True),
        "var1": dict(prm_path="/.well-known/oauth-protected-resource/mcp", prm_in_header=False,
                     as_metadata_path="/.well-known/openid-configuration"),
        "var2": dict(prm_path="/.well-known/oauth-protected-resource", prm_in_header=False, as_prefix="/tenant1"),
        "var3": dict(prm_path="/custom/metadata/location.json", prm_in_header=True, as_prefix="/tenant1",
                     as_metadata_path="/tenant1/.well-known/openid-configuration"),
    }[variant]
    with World(**cfg) as w:
        with connect(libmcp, w) as c:
            me = whoami(c)
        assert me["resource"] == w.url
        rs_wk = [p for p in w.paths("rs") if p.startswith("/.well-known/")]
        as_wk = [p for p in w.paths("as") if "/.well-known/" in p]
        if variant == "default":
            # The header's URL is used; the root is never asked (prm-priority-order).
            assert rs_wk == ["/.well-known/oauth-protected-resource/mcp"]
            assert as_wk == ["/.well-known/oauth-authorization-server"]
        elif variant == "var1":
            assert rs_wk == ["/.well-known/oauth-protected-resource/mcp"]
            assert as_wk == ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
        elif variant == "var2":
            assert rs_wk == ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]
            # Path insertion first; the root path is never asked for a path issuer.
            assert as_wk == ["/.well-known/oauth-authorization-server/tenant1"]
        else:
            assert rs_wk == []
            assert "/custom/metadata/location.json" in w.paths("rs")
            assert as_wk == ["/.well-known/oauth-authorization-server/tenant1",
                             "/.well-known/openid-configuration/tenant1",
                             "/tenant1/.well-known/openid-configuration"]


def test_the_whole_flow_sends_what_the_spec_requires(libmcp):
    """PKCE S256, state, resource in the authorization and token requests; registration with
    application_type native; the token only ever in the Authorization header to the MCP server."""
    stored = {}
    with World() as w:
        with connect(libmcp, w, store=lambda iss, creds: stored.update({iss: creds})) as c:
            c.list_tools()
        [a] = w.authorizations
        assert a["response_type"] == "code" and a["code_challenge_method"] == "S256"
        assert len(a["code_challenge"]) == 43 and a["state"] and a["resource"] == w.url
        [reg] = w.registrations
        assert reg["application_type"] == "native" and reg["redirect_uris"] == [a["redirect_uri"]]
        assert "authorization_code" in reg["grant_types"]
        [t] = w.token_requests
        assert t["form"]["grant_type"] == "authorization_code" and t["form"]["resource"] == w.url
        assert len(t["form"]["code_verifier"]) >= 43
        assert w.mcp_auth_headers[0] is None and all(h and h.startswith("Bearer at_") for h in w.mcp_auth_headers[1:])
        assert set(stored) == {w.issuer}
        assert stored[w.issuer]["access_token"].startswith("at_") and stored[w.issuer]["resource"] == w.url


# --------------------------------------------------------------------------- scopes
def test_scope_from_www_authenticate(libmcp):
    """auth/scope-from-www-authenticate: the challenge's scope wins over scopes_supported."""
    with World(challenge_scope="mcp:basic", prm_scopes=["mcp:basic", "mcp:admin"]) as w:
        connect(libmcp, w).close()
        assert w.authorizations[0]["scope"] == "mcp:basic"


def test_scope_from_scopes_supported(libmcp):
    """auth/scope-from-scopes-supported: without a challenge scope, all of PRM's scopes_supported."""
    with World(prm_scopes=["mcp:read", "mcp:write"]) as w:
        connect(libmcp, w).close()
        assert w.authorizations[0]["scope"] == "mcp:read mcp:write"


def test_scope_omitted_when_undefined(libmcp):
    """auth/scope-omitted-when-undefined: no challenge scope, no scopes_supported: no scope."""
    with World() as w:
        connect(libmcp, w).close()
        assert "scope" not in w.authorizations[0]


def test_step_up_asks_for_the_union_and_retries(libmcp):
    """auth/scope-step-up: 403 insufficient_scope naming only the new scope: the client asks for
    the earlier scopes and the new one, then the call succeeds."""
    with World(challenge_scope="mcp:basic", tool_scopes={"write": ["mcp:basic", "mcp:write"]}) as w:
        with connect(libmcp, w) as c:
            result = c.call_tool("write", {})
            assert json.loads(result["content"][0]["text"])["scopes"] == ["mcp:basic", "mcp:write"]
        assert [a["scope"] for a in w.authorizations] == ["mcp:basic", "mcp:basic mcp:write"]


def test_step_up_retry_limit(libmcp):
    """auth/scope-retry-limit: a server that always answers 403 gets at most 3 authorizations,
    and the call fails with the 403."""
    with World(always_403=True) as w:
        with connect(libmcp, w) as c:
            with pytest.raises(libmcp.PeerError) as e:
                c.call_tool("whoami", {})
            assert "403" in str(e.value)
            assert 1 < len(w.authorizations) <= 3


def test_offline_access_only_when_the_as_lists_it(libmcp):
    """auth/offline-access-scope and -not-supported."""
    with World(prm_scopes=["mcp:read"], as_scopes=["mcp:read", "offline_access"]) as w:
        connect(libmcp, w).close()
        assert w.authorizations[0]["scope"] == "mcp:read offline_access"
    with World(prm_scopes=["mcp:read"], as_scopes=["mcp:read"]) as w:
        connect(libmcp, w).close()
        assert w.authorizations[0]["scope"] == "mcp:read"


# --------------------------------------------------------------------------- client authentication
@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "none"])
def test_token_endpoint_auth_methods(libmcp, method):
    """auth/client-secret-basic, -post, auth/public-client: the method the registration gave."""
    secret = None if method == "none" else "s3cr3t"
    with World(auth_methods=[method], reg_auth_method=method, reg_secret=secret) as w:
        connect(libmcp, w).close()
        [t] = w.token_requests
        assert t["auth_method"] == method
        if method == "client_secret_basic":
            assert t["authorization"].startswith("Basic ") and "client_secret" not in t["form"]
        elif method == "client_secret_post":
            assert t["authorization"] is None and t["form"]["client_secret"] == "s3cr3t"
        else:
            assert t["authorization"] is None and "client_secret" not in t["form"] and t["form"]["client_id"]


def test_pre_registration(libmcp):
    """auth/pre-registration: no registration endpoint; the configured client id and secret."""
    with World(registration=False, clients={"pre-id": "pre-secret"},
               auth_methods=["client_secret_basic"]) as w:
        connect(libmcp, w, oauth={"client_id": "pre-id", "client_secret": "pre-secret"}).close()
        assert w.registrations == [] and w.authorizations[0]["client_id"] == "pre-id"
        assert w.token_requests[0]["auth_method"] == "client_secret_basic"
    with World(registration=False) as w:
        refused(libmcp, w, "no way to register")


def test_client_id_metadata_document(libmcp):
    """auth/basic-cimd: the document URL is the client id where the AS supports it; else DCR."""
    cimd = "https://client.example.com/oauth/client.json"
    with World(cimd=True) as w:
        connect(libmcp, w, oauth={"client_metadata_url": cimd}).close()
        assert w.registrations == [] and w.authorizations[0]["client_id"] == cimd
        assert w.token_requests[0]["form"]["client_id"] == cimd
    with World() as w:
        connect(libmcp, w, oauth={"client_metadata_url": cimd}).close()
        assert len(w.registrations) == 1 and w.authorizations[0]["client_id"] != cimd


def test_authorization_server_binding(libmcp):
    """auth/authorization-server-migration: pre-registered credentials belong to their issuer;
    a server that names another authorization server does not get them."""
    with World(clients={"pre-id": "pre-secret"}) as w:
        refused(libmcp, w, "not sent elsewhere",
                oauth={"client_id": "pre-id", "client_secret": "pre-secret", "issuer": "https://old-as.example.com"})
        assert w.token_requests == [] and w.authorizations == []
    # Stored credentials of another issuer are not used either: a fresh registration.
    with World() as w:
        old = {"https://old-as.example.com": {"client_id": "old-client", "access_token": "old-token"}}
        with connect(libmcp, w, oauth={"credentials": old}) as c:
            c.list_tools()
        assert "Bearer old-token" not in w.mcp_auth_headers
        assert len(w.registrations) == 1 and w.authorizations[0]["client_id"] != "old-client"


# --------------------------------------------------------------------------- refusals
def test_resource_mismatch_is_refused(libmcp):
    """auth/resource-mismatch: PRM for another resource: no authorization at all."""
    with World(prm_resource="https://other.example.com/mcp") as w:
        refused(libmcp, w, "refused (RFC 9728")
        assert w.authorizations == [] and w.token_requests == []


def test_metadata_issuer_mismatch_is_refused(libmcp):
    """auth/metadata-issuer-mismatch (RFC 8414 section 3.3)."""
    with World(metadata_issuer="https://attacker.example.com") as w:
        refused(libmcp, w, "names issuer \"https://attacker.example.com\"")
        assert w.authorizations == []


def test_no_pkce_no_flow(libmcp):
    """security-considerations.mdx: code_challenge_methods_supported absent: refuse."""
    with World(pkce=None) as w:
        refused(libmcp, w, "PKCE S256")
        assert w.authorizations == []


@pytest.mark.parametrize("supported,sent,ok", [
    (True, "correct", True),        # auth/iss-supported
    (None, "omit", True),           # auth/iss-not-advertised
    (True, "omit", False),          # auth/iss-supported-missing
    (True, "wrong", False),         # auth/iss-wrong-issuer
    (None, "wrong", False),         # auth/iss-unexpected
    (True, "normalized", False),    # auth/iss-normalized: no trailing-slash folding
])
def test_iss_parameter(libmcp, supported, sent, ok):
    """RFC 9207 section 2.4 as index.mdx tabulates it; a refused response's code never reaches
    the token endpoint."""
    with World(iss_supported=supported, iss_in_redirect=sent) as w:
        if ok:
            connect(libmcp, w).close()
            assert len(w.token_requests) == 1
        else:
            refused(libmcp, w, "iss")
            assert w.token_requests == []


def test_a_handler_that_refuses_fails_the_connect(libmcp):
    def decline(url, redirect_uri):
        raise PermissionError("the person said no")

    with World() as w:
        refused(libmcp, w, "the person said no", handler=decline)


# --------------------------------------------------------------------------- tokens
def test_refresh_token_answers_a_401(libmcp):
    """An expired access token: the refresh token gets a new one without a person."""
    with World(token_ttl=1) as w:
        with connect(libmcp, w) as c:
            time.sleep(1.5)
            whoami(c)
        assert len(w.authorizations) == 1
        assert [t["form"]["grant_type"] for t in w.token_requests] == ["authorization_code", "refresh_token"]
        assert w.token_requests[1]["form"]["resource"] == w.url


def test_stored_credentials_are_used_without_a_person(libmcp):
    stored = {}
    with World() as w:
        connect(libmcp, w, store=lambda iss, creds: stored.update({iss: creds})).close()

        def no_person(url, redirect_uri):
            raise AssertionError("asked a person again")

        with connect(libmcp, w, oauth={"credentials": stored}, handler=no_person) as c:
            whoami(c)
        assert len(w.authorizations) == 1 and len(w.registrations) == 1


def test_client_credentials_grant(libmcp):
    """auth/client-credentials-basic (extension oauth-client-credentials): no person."""
    with World(clients={"svc": "svc-secret"}, auth_methods=["client_secret_basic"], prm_scopes=["mcp:read"]) as w:
        with connect(libmcp, w, handler=None,
                     oauth={"grant": "client_credentials", "client_id": "svc", "client_secret": "svc-secret"}) as c:
            assert whoami(c)["client_id"] == "svc"
        [t] = w.token_requests
        assert t["form"] == {"grant_type": "client_credentials", "resource": w.url, "scope": "mcp:read"}
        assert t["auth_method"] == "client_secret_basic" and w.authorizations == []


# --------------------------------------------------------------------------- 2025-03-26 servers
def test_march_2025_server_without_resource_metadata(libmcp):
    """auth/2025-03-26-oauth-metadata-backcompat: no PRM; the server's origin is the AS."""
    with World(prm=False, rs_is_as=True) as w:
        with connect(libmcp, w) as c:
            whoami(c)
        assert "/.well-known/oauth-authorization-server" in w.paths("rs")


def test_march_2025_default_endpoints(libmcp):
    """auth/2025-03-26-oauth-endpoint-fallback: no metadata at all: /authorize, /token, /register."""
    with World(prm=False, rs_is_as=True, as_metadata=False) as w:
        with connect(libmcp, w) as c:
            whoami(c)
        assert {"/register", "/token"} <= set(w.paths("rs"))


# --------------------------------------------------------------------------- bad options
def test_bad_oauth_options_are_refused(libmcp):
    with World() as w:
        for oauth, why in [({"grant": "password"}, "grant"), ({"unknown": 1}, "unknown"),
                           ({"grant": "client_credentials"}, "client_id"),
                           ({"client_metadata_url": "http://x.example/c.json"}, "https"),
                           ({"max_attempts": 0}, "max_attempts")]:
            with pytest.raises(libmcp.InvalidArgument) as e:
                connect(libmcp, w, oauth=oauth)
            assert why in str(e.value)
        with pytest.raises(libmcp.InvalidArgument):
            libmcp.Client.http(w.url, oauth={}, headers={"Authorization": "Bearer x"})


# --------------------------------------------------------------------------- the official SDK's AS
class SDKServer:
    def __init__(self, *args: str):
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, str(FIXTURES / "sdk_oauth_server.py"), str(self.port), *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 30
        while True:
            try:
                self.stats()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("the SDK server did not start: " + self.proc.stderr.read().decode()[-2000:])
                time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as r:
            return json.loads(r.read())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def sdk():
    s = SDKServer()
    yield s
    s.close()


@pytest.mark.parametrize("era", ["legacy", "auto"])
def test_sdk_authorization_server(libmcp, sdk, era):
    """The SDK's AS and RS: dynamic registration, PKCE, resource, token, then tool calls."""
    stored = {}
    with connect(libmcp, sdk.url, era=era, store=lambda iss, creds: stored.update({iss: creds})) as c:
        me = json.loads(c.call_tool("whoami", {})["content"][0]["text"])
    s = sdk.stats()
    assert s["registrations"] == 1 and s["authorizations"] == 1 and s["code_exchanges"] == 1
    assert s["registered"][0]["application_type"] == "native"
    assert s["last_authorize"]["resource"] == sdk.url and s["last_authorize"]["scopes"] == ["mcp:read"]
    assert me["client_id"] == s["registered"][0]["client_id"] and me["scopes"] == ["mcp:read"]
    assert me["resource"] == sdk.url
    [(issuer, creds)] = stored.items()
    assert issuer == f"http://127.0.0.1:{sdk.port}" and creds["refresh_token"].startswith("rt_")


def test_sdk_refresh_and_stored_credentials(libmcp):
    s = SDKServer("--token-ttl", "2")
    try:
        stored = {}
        with connect(libmcp, s.url, store=lambda iss, creds: stored.update({iss: creds})) as c:
            time.sleep(3)
            c.call_tool("whoami", {})
        st = s.stats()
        assert st["authorizations"] == 1 and st["refreshes"] == 1

        def no_person(url, redirect_uri):
            raise AssertionError("asked a person again")

        with connect(libmcp, s.url, oauth={"credentials": stored}, handler=no_person) as c:
            c.call_tool("whoami", {})
        st = s.stats()
        assert st["authorizations"] == 1 and st["registrations"] == 1
    finally:
        s.close()


# --------------------------------------------------------------------------- mcp-client --oauth
def test_mcp_client_oauth_in_a_terminal(tmp_path):
    """mcp-client --oauth: the URL is printed, the browser's redirect reaches the built-in
    loopback listener; --oauth-store keeps the tokens (mode 0600) for the next run."""
    from conftest import BUILD_DIR
    store = tmp_path / "tokens.json"
    with World() as w:
        cmd = [str(BUILD_DIR / "bin" / "mcp-client"), "--oauth", "--oauth-store", str(store), "--era", "legacy",
               "--http", w.url, "tools/list"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            url = None
            for line in p.stderr:
                if line.startswith("http://127.0.0.1"):
                    url = line.strip()
                    break
            assert url, "mcp-client printed no URL"
            redirect = follow_once(url)           # the person approves
            assert redirect.startswith("http://127.0.0.1:") and "/callback?" in redirect
            with urllib.request.urlopen(redirect, timeout=10) as r:   # the browser lands on the listener
                assert b"You can close this window" in r.read()
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
        assert p.returncode == 0, err
        assert [t["name"] for t in json.loads(out)["tools"]] == ["whoami", "write"]
        assert store.stat().st_mode & 0o777 == 0o600
        saved = json.loads(store.read_text())[w.issuer]
        assert saved["access_token"] not in err     # never logged
        # The stored token serves the next run: no URL, no new authorization.
        r = subprocess.run(cmd[:-1] + ["tools/list"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and "open this URL" not in r.stderr
        assert len(w.authorizations) == 1


def test_loopback_listener_without_a_handler(libmcp):
    """No handler: the URL goes to the log hook; the loopback listener receives the redirect."""
    seen: list[str] = []

    def hook(level, record):
        rec = record
        if rec.get("component") == "oauth" and "url" in rec:
            seen.append(rec["url"])

    import threading
    with World() as w:
        libmcp.set_log_hook(hook, level=logging.WARNING)
        try:
            def person():
                for _ in range(200):
                    if seen:
                        urllib.request.urlopen(follow_once(seen[0]), timeout=10).read()
                        return
                    time.sleep(0.05)
            t = threading.Thread(target=person)
            t.start()
            with connect(libmcp, w, oauth={"loopback": True}, handler=None) as c:
                whoami(c)
            t.join(10)
        finally:
            libmcp.set_log_hook(None)
        assert len(w.authorizations) == 1 and w.authorizations[0]["redirect_uri"].endswith("/callback")
