"""The everything server as an OAuth 2.1 resource server (--auth-config): protected
resource metadata (RFC 9728), 401 and 403 challenges, JWT access tokens checked
against a JWKS from a file or a URL (RS256, ES256, EdDSA; key rotation), the
refusals and their log records, per-tool scopes, sessions bound to their
principal, both protocol eras, legacy SSE, WebSocket, and the official Python SDK
client sending a bearer token.

Tokens are minted here with PyJWT and cryptography; the JWKS is written to a file
or served by a small local HTTP server.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from conftest import LATEST
from http_support import EverythingHTTP, call, error_of, free_port, init_body, messages, post, request, tool_text
from modern_support import body as modern_body, mpost

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")

ISSUER = "https://auth.example.test"
SCOPES = ["mcp:read"]


# --------------------------------------------------------------------------- keys and tokens
class Key:
    def __init__(self, alg: str, kid: str):
        self.alg, self.kid = alg, kid
        if alg == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        elif alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()
            self.jwk = OKPAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk.update({"kid": kid, "use": "sig", "alg": alg})

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)


KEYS = {alg: Key(alg, f"k-{alg.lower()}") for alg in ("RS256", "ES256", "EdDSA")}


def claims(resource: str, **over: Any) -> dict:
    now = int(time.time())
    c = {"iss": ISSUER, "aud": resource, "sub": "alice", "client_id": "client-1", "scope": "mcp:read",
         "iat": now, "exp": now + 300}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def mint(resource: str, key: Key | None = None, kid: str | None = None, **over: Any) -> str:
    key = key or KEYS["RS256"]
    return jwt.encode(claims(resource, **over), key.private, algorithm=key.alg, headers={"kid": kid or key.kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict, payload: dict, signature: bytes = b"") -> str:
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return signing_input + "." + b64(signature)


def hs256_with_public_key(resource: str) -> str:
    """The algorithm-confusion attack: HMAC keyed with the RSA public key's PEM."""
    key = KEYS["RS256"]
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims(resource)).encode())
    mac = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(mac)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- servers
def auth_config(tmp_path, port: int, **over: Any) -> str:
    """Writes the "auth" object for a server on `port` (the resource is its /mcp URL)."""
    config = {"resource": f"http://127.0.0.1:{port}/mcp", "authorization_servers": [ISSUER],
              "issuer": ISSUER, "scopes_supported": SCOPES}
    if "jwks_url" not in over:
        path = tmp_path / "jwks.json"
        path.write_text(json.dumps({"keys": [k.jwk for k in KEYS.values()]}))
        config["jwks_file"] = str(path)
    config.update(over)
    f = tmp_path / f"auth-{port}.json"
    f.write_text(json.dumps(config))
    return str(f)


class ProtectedServer(EverythingHTTP):
    """The everything server with --auth-config on a port chosen first (the resource
    URL in the config must name it)."""

    def __init__(self, tmp_path, *flags: str, **auth: Any):
        port = free_port()
        super().__init__("--auth-config", auth_config(tmp_path, port, **auth), *flags, port=port)

    @property
    def resource(self) -> str:
        return self.url

    def token(self, **kw: Any) -> str:
        return mint(self.resource, **kw)


class JWKSServer:
    """Serves a JWKS document that a test may change (key rotation); counts the fetches.
    With `tls` (an ssl.SSLContext) over https."""

    def __init__(self, keys: list[Key], tls=None):
        self.keys = list(keys)
        self.fetches = 0
        self.failing = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.fetches += 1
                if outer.failing:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = json.dumps({"keys": [k.jwk for k in outer.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def initialize_with(url: str, token: str) -> str:
    resp = post(url, init_body(LATEST), headers=bearer(token))
    assert resp.status == 200, (resp.status, resp.read())
    sid = resp.getheader("Mcp-Session-Id")
    messages(resp)
    resp = post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session=sid, version=LATEST,
                headers=bearer(token))
    assert resp.status == 202, resp.status
    resp.read()
    return sid


def whoami_2025(url: str, token: str) -> dict:
    sid = initialize_with(url, token)
    resp = post(url, call(2, "test_whoami"), session=sid, version=LATEST, headers=bearer(token))
    assert resp.status == 200, resp.status
    return json.loads(tool_text(messages(resp)[-1]))


def modern_call(url: str, token: str | None, tool: str) -> Any:
    msg = modern_body("tools/call", {"name": tool, "arguments": {}})
    return mpost(url, msg, headers=bearer(token) if token else None)


def challenge(resp) -> dict[str, str]:
    """The parameters of a Bearer WWW-Authenticate header."""
    value = resp.getheader("WWW-Authenticate")
    assert value and value.startswith("Bearer "), resp.getheaders()
    out = {}
    for part in value[len("Bearer "):].split('", '):
        k, _, v = part.partition("=")
        out[k.strip()] = v.strip().strip('"')
    return out


@pytest.fixture
def server(tmp_path):
    with ProtectedServer(tmp_path) as s:
        yield s


# --------------------------------------------------------------------------- metadata and challenges
def test_protected_resource_metadata_at_both_paths(server):
    base = server.url[: -len("/mcp")]
    for path in ("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"):
        resp = request(base + path, "GET")
        assert resp.status == 200, path
        assert resp.getheader("Content-Type").startswith("application/json")
        doc = json.loads(resp.read())
        assert doc == {"resource": server.resource, "authorization_servers": [ISSUER], "scopes_supported": SCOPES,
                       "bearer_methods_supported": ["header"]}
    assert request(base + "/.well-known/oauth-protected-resource/other", "GET").status == 401


@pytest.mark.parametrize("era", ["2025", "2026"])
def test_no_token_gets_401_with_the_challenge(server, era):
    resp = post(server.url, init_body(LATEST)) if era == "2025" else modern_call(server.url, None, "test_whoami")
    assert resp.status == 401
    c = challenge(resp)
    assert c == {"resource_metadata": server.url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp"),
                 "scope": "mcp:read"}, c
    assert error_of(resp)["code"] == -32600
    # A token in the query string is not a token.
    assert request(server.url + "?access_token=" + server.token(), "POST", init_body(LATEST)).status == 401


# --------------------------------------------------------------------------- accepted tokens
@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_valid_tokens_are_accepted_in_both_eras(server, alg):
    token = server.token(key=KEYS[alg], sub=f"user-{alg}")
    principal = whoami_2025(server.url, token)
    assert principal["subject"] == f"user-{alg}" and principal["client_id"] == "client-1"
    assert principal["issuer"] == ISSUER and principal["scopes"] == ["mcp:read"]
    assert principal["claims"]["aud"] == server.resource
    resp = modern_call(server.url, token, "test_whoami")
    assert resp.status == 200
    assert json.loads(tool_text(messages(resp)[-1]))["subject"] == f"user-{alg}"


# --------------------------------------------------------------------------- refused tokens
def refusals(resource: str) -> dict[str, tuple[str, str]]:
    """name -> (token, the reason the log must give)."""
    now = int(time.time())
    rsa_key = KEYS["RS256"]
    return {
        "expired": (mint(resource, exp=now - 3600, iat=now - 7200), "expired"),
        "not yet valid": (mint(resource, nbf=now + 3600), "not_yet_valid"),
        "wrong audience": (mint(resource, aud="https://other.example/mcp"), "audience"),
        "wrong issuer": (mint(resource, iss="https://evil.example"), "issuer"),
        "alg none": (forged({"alg": "none", "typ": "JWT", "kid": rsa_key.kid}, claims(resource)), "algorithm"),
        "HS256 keyed with the public key": (hs256_with_public_key(resource), "algorithm"),
        "unknown kid": (mint(resource, kid="not-a-known-kid"), "unknown_key"),
        "bad signature": (mint(resource)[:-6] + "AAAAAA", "signature"),
        "oversized": (mint(resource, pad="x" * 9000), "too_large"),
        "garbage": ("definitely-not-a-jwt", "malformed"),
    }


def test_each_bad_token_is_refused_with_its_reason_logged_but_not_the_token(tmp_path):
    with ProtectedServer(tmp_path, "--log-level", "warning") as s:
        cases = refusals(s.resource)
        for name, (token, _) in cases.items():
            for era in ("2025", "2026"):
                resp = post(s.url, init_body(LATEST), headers=bearer(token)) if era == "2025" \
                    else modern_call(s.url, token, "test_simple_text")
                assert resp.status == 401, (name, era, resp.status)
                c = challenge(resp)
                assert c["error"] == "invalid_token", (name, c)
                assert "resource_metadata" in c
                resp.read()
        s.stop()
        log = s.stderr.decode(errors="replace")
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    refused = [r for r in records if r.get("component") == "auth" and r.get("msg") == "Access token refused"]
    reasons = {r["reason"] for r in refused}
    for name, (token, reason) in cases.items():
        assert reason in reasons, (name, reason, reasons)
        assert token not in log, f"the {name} token appears in the log"
        # Not even its signature part.
        assert token.rsplit(".", 1)[-1] not in log or len(token.rsplit(".", 1)[-1]) < 8


def test_an_expired_token_within_the_clock_skew_is_accepted(tmp_path):
    with ProtectedServer(tmp_path, clock_skew_s=120) as s:
        now = int(time.time())
        assert whoami_2025(s.url, s.token(exp=now - 30))["subject"] == "alice"
        resp = post(s.url, init_body(LATEST), headers=bearer(s.token(exp=now - 600)))
        assert resp.status == 401


# --------------------------------------------------------------------------- JWKS from a URL, rotation
def test_jwks_url_is_refetched_for_a_new_kid_with_a_rate_limit(tmp_path):
    jwks = JWKSServer([KEYS["RS256"]])
    rotated = Key("ES256", "k-rotated")
    try:
        with ProtectedServer(tmp_path, jwks_url=jwks.url, jwks_refetch_min_interval_ms=1500) as s:
            assert whoami_2025(s.url, s.token())["subject"] == "alice"
            first = jwks.fetches
            assert first == 1, "fetched once, at start"
            # A kid the JWKS does not have yet, once the interval since that fetch
            # passed: one refetch, then refused.
            time.sleep(1.7)
            resp = post(s.url, init_body(LATEST), headers=bearer(s.token(key=rotated)))
            assert resp.status == 401 and challenge(resp)["error"] == "invalid_token"
            assert jwks.fetches == first + 1
            # More unknown kids at once: no more fetches within the interval.
            for _ in range(5):
                resp = post(s.url, init_body(LATEST), headers=bearer(s.token(kid="k-garbage")))
                assert resp.status == 401
                resp.read()
            assert jwks.fetches == first + 1
            # The authorization server rotates its keys: after the interval the new kid works.
            jwks.keys.append(rotated)
            time.sleep(1.7)
            assert whoami_2025(s.url, s.token(key=rotated, sub="rotated"))["subject"] == "rotated"
            assert jwks.fetches == first + 2
    finally:
        jwks.close()


def test_an_unreachable_jwks_url_refuses_tokens_until_it_answers(tmp_path):
    jwks = JWKSServer([KEYS["EdDSA"]])
    jwks.failing = True
    try:
        with ProtectedServer(tmp_path, "--log-level", "warning", jwks_url=jwks.url,
                             jwks_refetch_min_interval_ms=300) as s:
            time.sleep(0.4)
            token = s.token(key=KEYS["EdDSA"])
            resp = post(s.url, init_body(LATEST), headers=bearer(token))
            assert resp.status == 401
            assert "could not be fetched" in challenge(resp)["error_description"]
            resp.read()
            jwks.failing = False
            time.sleep(0.4)
            assert whoami_2025(s.url, token)["subject"] == "alice"
            s.stop()
            log = s.stderr.decode(errors="replace")
        assert '"msg":"JWKS fetch failed"' in log and "HTTP status 503" in log
        assert '"reason":"unavailable"' in log
    finally:
        jwks.close()


def private_ca(tmp_path) -> tuple[str, "ssl.SSLContext"]:
    """A test CA (its certificate as a PEM file) and a server TLS context whose certificate
    for 127.0.0.1 that CA signed."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "libmcp test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "leaf.pem", tmp_path / "leaf.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(str(cert_file), str(key_file))
    return str(ca_file), tls


def test_jwks_over_https_is_verified_against_the_configured_ca(tmp_path):
    ca_file, tls = private_ca(tmp_path)
    jwks = JWKSServer([KEYS["ES256"]], tls=tls)
    try:
        with ProtectedServer(tmp_path, jwks_url=jwks.url, jwks_ca_file=ca_file) as s:
            assert whoami_2025(s.url, s.token(key=KEYS["ES256"]))["subject"] == "alice"
        assert jwks.fetches >= 1
        # The system trust store does not know the test CA: no keys, every token refused.
        with ProtectedServer(tmp_path, "--log-level", "warning", jwks_url=jwks.url) as s:
            resp = post(s.url, init_body(LATEST), headers=bearer(s.token(key=KEYS["ES256"])))
            assert resp.status == 401 and "could not be fetched" in challenge(resp)["error_description"]
            resp.read()
            s.stop()
            log = s.stderr.decode(errors="replace")
        assert '"msg":"JWKS fetch failed"' in log, log[-2000:]
    finally:
        jwks.close()


def test_an_unusable_jwks_ca_file_refuses_to_start(tmp_path):
    import subprocess
    from conftest import require_server_binary, server_env
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate")
    base = {"resource": "http://127.0.0.1:1/mcp", "authorization_servers": [ISSUER], "issuer": ISSUER}
    for extra, words in [({"jwks_url": "https://127.0.0.1:1/jwks", "jwks_ca_file": str(tmp_path / "missing.pem")},
                          "missing.pem"),
                         ({"jwks_url": "https://127.0.0.1:1/jwks", "jwks_ca_file": str(not_pem)}, "not.pem"),
                         ({"jwks_url": "http://127.0.0.1:1/jwks", "jwks_ca_file": str(not_pem)}, "https"),
                         ({"jwks_file": str(tmp_path / "x.json"), "jwks_ca_file": str(not_pem)}, "jwks_ca_file")]:
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({**base, **extra}))
        out = subprocess.run([require_server_binary(), "--http", "127.0.0.1:0", "--auth-config", str(bad)],
                             capture_output=True, timeout=10, env=server_env(), stdin=subprocess.DEVNULL)
        assert out.returncode != 0, extra
        assert words in out.stderr.decode() and "jwks" in out.stderr.decode(), (words, out.stderr.decode())


# --------------------------------------------------------------------------- scopes
@pytest.mark.parametrize("era", ["2025", "2026"])
def test_insufficient_scope_then_success_with_mcp_admin(server, era):
    reader, admin = server.token(), server.token(scope="mcp:read mcp:admin")
    if era == "2025":
        sid = initialize_with(server.url, reader)
        resp = post(server.url, call(3, "test_admin_only"), session=sid, version=LATEST, headers=bearer(reader))
    else:
        resp = modern_call(server.url, reader, "test_admin_only")
    assert resp.status == 403
    c = challenge(resp)
    assert c["error"] == "insufficient_scope" and c["scope"] == "mcp:admin", c
    assert c["resource_metadata"].endswith("/.well-known/oauth-protected-resource/mcp")
    resp.read()
    # Other fixtures need only a valid token.
    if era == "2025":
        ok = post(server.url, call(4, "test_simple_text"), session=sid, version=LATEST, headers=bearer(reader))
    else:
        ok = modern_call(server.url, reader, "test_simple_text")
    assert ok.status == 200
    ok.read()
    # Stepped up: the same session (same principal, more scopes) reaches the tool.
    if era == "2025":
        resp = post(server.url, call(5, "test_admin_only"), session=sid, version=LATEST, headers=bearer(admin))
    else:
        resp = modern_call(server.url, admin, "test_admin_only")
    assert resp.status == 200
    assert tool_text(messages(resp)[-1]) == "admin ok"


def test_required_scopes_are_not_published_in_tools_list(server):
    resp = modern_call(server.url, server.token(), "test_simple_text")
    resp.read()
    listing = mpost(server.url, modern_body("tools/list"), headers=bearer(server.token()))
    tools = {t["name"]: t for t in messages(listing)[-1]["result"]["tools"]}
    assert "test_admin_only" in tools and "requiredScopes" not in tools["test_admin_only"]


# --------------------------------------------------------------------------- sessions
def test_a_session_id_replayed_by_another_principal_gets_404(server):
    alice, bob = server.token(sub="alice"), server.token(sub="bob")
    sid = initialize_with(server.url, alice)
    resp = post(server.url, call(2, "test_whoami"), session=sid, version=LATEST, headers=bearer(bob))
    assert resp.status == 404
    resp.read()
    resp = request(server.url, "DELETE", headers={"Mcp-Session-Id": sid, **bearer(bob)})
    assert resp.status == 404
    resp.read()
    resp = post(server.url, call(3, "test_whoami"), session=sid, version=LATEST, headers=bearer(alice))
    assert resp.status == 200
    assert json.loads(tool_text(messages(resp)[-1]))["subject"] == "alice"


def test_legacy_sse_needs_a_token_and_binds_its_session(server):
    base = server.url[: -len("/mcp")]
    assert request(base + "/sse", "GET", headers={"Accept": "text/event-stream"}).status == 401
    alice, bob = server.token(sub="alice"), server.token(sub="bob")
    stream = request(base + "/sse", "GET", headers={"Accept": "text/event-stream", **bearer(alice)})
    assert stream.status == 200
    endpoint = None
    while endpoint is None:
        line = stream.readline().decode()
        if line.startswith("data:"):
            endpoint = line[5:].strip()
    resp = post(base + endpoint, init_body("2024-11-05"), headers=bearer(bob))
    assert resp.status == 404
    resp.read()
    resp = post(base + endpoint, init_body("2024-11-05"), headers=bearer(alice))
    assert resp.status == 202
    resp.read()
    stream.close()


def test_websocket_upgrade_needs_a_token(server):
    port = server.port

    def handshake(token: str | None) -> str:
        key = base64.b64encode(os.urandom(16)).decode()
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                          f"Sec-WebSocket-Protocol: mcp\r\n{auth}\r\n").encode())
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                head += chunk
        return head.decode(errors="replace")

    refused = handshake(None)
    assert refused.startswith("HTTP/1.1 401") and "WWW-Authenticate: Bearer" in refused, refused
    assert handshake("garbage").startswith("HTTP/1.1 401")
    assert handshake(server.token()).startswith("HTTP/1.1 101"), "a valid token upgrades"


def test_a_websocket_is_closed_when_its_token_expires(tmp_path):
    """A WebSocket is authenticated once, at its upgrade: when that token expires the server
    closes it (1008, the reason says why) instead of taking more messages under it."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect as ws_connect

    with ProtectedServer(tmp_path, "--log-level", "warning", clock_skew_s=0) as s:
        # 5 s: room for the upgrade and the first calls on a loaded machine.
        token = s.token(exp=int(time.time()) + 5)
        with ws_connect(f"ws://127.0.0.1:{s.port}/ws", subprotocols=["mcp"], additional_headers=bearer(token),
                        open_timeout=10) as ws:
            ws.send(json.dumps(init_body(LATEST)))
            assert json.loads(ws.recv(timeout=10))["result"]["protocolVersion"] == LATEST
            ws.send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            ws.send(json.dumps(call(1, "test_whoami")))
            assert json.loads(tool_text(json.loads(ws.recv(timeout=10))))["subject"] == "alice"
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=10)
            waited = time.monotonic() - started
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008, closed.value
        assert "expired" in closed.value.rcvd.reason
        assert waited < 8, waited
        s.stop()
        log = s.stderr.decode(errors="replace")
    assert "Access token expired on an open WebSocket" in log and token not in log


# --------------------------------------------------------------------------- the official SDK client
@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_official_python_client_with_a_bearer_token(server, mode):
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    token = server.token(scope="mcp:read mcp:admin", sub="sdk-user")

    async def body():
        async with httpx2.AsyncClient(headers=bearer(token), timeout=httpx2.Timeout(30, read=60)) as hc:
            async with Client(streamable_http_client(server.url, http_client=hc), mode=mode) as c:
                who = await c.call_tool("test_whoami", {})
                assert json.loads(who.content[0].text)["subject"] == "sdk-user"
                admin = await c.call_tool("test_admin_only", {})
                assert admin.content[0].text == "admin ok"

    async def main():
        with anyio.fail_after(60):
            await body()
    anyio.run(main)


def test_start_refuses_an_unusable_auth_config(tmp_path):
    import subprocess
    from conftest import require_server_binary, server_env
    binary = require_server_binary()
    bad = tmp_path / "bad.json"
    for config, words in [({"resource": "http://127.0.0.1:1/mcp", "authorization_servers": [ISSUER]}, "no way to check"),
                          ({"resource": "http://127.0.0.1:1/mcp", "authorization_servers": [ISSUER], "issuer": ISSUER,
                            "jwks_file": str(tmp_path / "missing.json")}, "cannot open"),
                          ({"resource": "not a url", "authorization_servers": [ISSUER], "issuer": ISSUER,
                            "jwks_file": str(tmp_path / "missing.json")}, "absolute http(s) URL"),
                          ({"resource": "http://127.0.0.1:1/mcp", "authorization_servers": [ISSUER], "issuer": ISSUER,
                            "jwks_url": "http://127.0.0.1:1/jwks", "algorithms": ["HS256"]}, "HS256")]:
        bad.write_text(json.dumps(config))
        out = subprocess.run([binary, "--http", "127.0.0.1:0", "--auth-config", str(bad)], capture_output=True,
                             timeout=10, env=server_env(), stdin=subprocess.DEVNULL)
        assert out.returncode != 0
        assert words in out.stderr.decode(), (words, out.stderr.decode())
