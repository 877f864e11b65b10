"""A resource server and an authorization server on two local ports, each configurable, that
record every request: the conformance suite's client auth scenarios (modelcontextprotocol/
conformance, src/scenarios/client/auth) restated as a Python fixture for our OAuth client.

The resource server speaks just enough MCP over Streamable HTTP (JSON answers) for a client to
initialize, list tools and call them; it checks bearer tokens against what the authorization
server issued, answers 401 or 403 insufficient_scope as configured, and serves protected-resource
metadata at a configurable path. The authorization server serves its metadata at a configurable
path, registers clients, auto-approves authorization requests (redirecting at once, with `iss`
as configured) and issues opaque tokens; it checks PKCE S256, client authentication and the
redirect URI as a real one does.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def follow_once(url: str, redirect_uri: str | None = None) -> str:
    """What a browser does for the person who approves at once: GET the authorization URL and
    return the Location the authorization server redirects to (not followed)."""
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", u.path + ("?" + u.query if u.query else ""))
    r = c.getresponse()
    r.read()
    c.close()
    if r.status not in (301, 302, 303, 307):
        raise RuntimeError(f"authorization endpoint answered {r.status}")
    return r.getheader("Location")


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class World:
    """Both servers; `cfg` keys (defaults in brackets):
    RS: prm_path ["/.well-known/oauth-protected-resource/mcp"], prm_in_header [True],
        prm (False: serve none) [True], prm_resource [the /mcp URL], prm_scopes [None],
        challenge_scope [None], tool_scopes {tool: [scopes]} [{}], always_403 [False]
    AS: as_prefix [""], as_metadata_path ["/.well-known/oauth-authorization-server"+prefix],
        as_metadata (False: none) [True], metadata_issuer [the issuer], pkce [["S256"]],
        iss_supported [True] (None: omitted), iss_in_redirect "correct"|"wrong"|"omit"|"normalized",
        auth_methods [["none"]], registration [True], reg_auth_method [None], reg_secret [None],
        as_scopes [None], cimd [None], clients {id: secret} [{}], token_ttl [3600], refresh [True]
    rs_is_as [False]: a 2025-03-26 server, its own authorization server (with prm=False; AS
        metadata on its origin unless as_metadata=False, then the default /authorize, /token,
        /register only)
    """

    def __init__(self, **cfg: Any):
        self.cfg = cfg
        self.log: list[dict] = []
        self.authorizations: list[dict] = []
        self.token_requests: list[dict] = []
        self.registrations: list[dict] = []
        self.tokens: dict[str, dict] = {}
        self.refresh_tokens: dict[str, dict] = {}
        self.codes: dict[str, dict] = {}
        self.clients: dict[str, dict] = {k: {"secret": v} for k, v in cfg.get("clients", {}).items()}
        self.mcp_auth_headers: list[str | None] = []
        self.lock = threading.Lock()
        self.rs = _Server(("127.0.0.1", 0), self._handler("rs"))
        self.as_ = _Server(("127.0.0.1", 0), self._handler("as"))
        for s in (self.rs, self.as_):
            threading.Thread(target=s.serve_forever, daemon=True).start()

    # ------------------------------------------------------------------ addresses
    @property
    def rs_base(self) -> str:
        return f"http://127.0.0.1:{self.rs.server_address[1]}"

    @property
    def url(self) -> str:
        return self.rs_base + "/mcp"

    @property
    def as_base(self) -> str:
        return f"http://127.0.0.1:{self.as_.server_address[1]}"

    @property
    def issuer(self) -> str:
        return self.as_base + self.cfg.get("as_prefix", "")

    @property
    def prm_url(self) -> str:
        return self.rs_base + self.cfg.get("prm_path", "/.well-known/oauth-protected-resource/mcp")

    def paths(self, role: str) -> list[str]:
        return [e["path"] for e in self.log if e["role"] == role]

    def close(self) -> None:
        for s in (self.rs, self.as_):
            s.shutdown()
            s.server_close()

    def __enter__(self) -> "World":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ documents
    def prm(self) -> dict:
        d = {"resource": self.cfg.get("prm_resource", self.url), "authorization_servers": [self.issuer]}
        if self.cfg.get("prm_scopes") is not None:
            d["scopes_supported"] = self.cfg["prm_scopes"]
        return d

    def as_metadata(self) -> dict:
        p = self.cfg.get("as_prefix", "")
        d: dict[str, Any] = {
            "issuer": self.cfg.get("metadata_issuer", self.issuer),
            "authorization_endpoint": self.as_base + p + "/authorize",
            "token_endpoint": self.as_base + p + "/token",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_methods_supported": self.cfg.get("auth_methods", ["none"]),
        }
        if self.cfg.get("pkce", ["S256"]) is not None:
            d["code_challenge_methods_supported"] = self.cfg.get("pkce", ["S256"])
        if self.cfg.get("registration", True):
            d["registration_endpoint"] = self.as_base + p + "/register"
        iss = self.cfg.get("iss_supported", True)
        if iss is not None:
            d["authorization_response_iss_parameter_supported"] = iss
        if self.cfg.get("as_scopes") is not None:
            d["scopes_supported"] = self.cfg["as_scopes"]
        if self.cfg.get("cimd") is not None:
            d["client_id_metadata_document_supported"] = self.cfg["cimd"]
        return d

    # ------------------------------------------------------------------ tokens
    def _issue(self, client_id: str, scopes: list[str], resource: str | None) -> dict:
        tok = "at_" + secrets.token_hex(16)
        self.tokens[tok] = {"client_id": client_id, "scopes": scopes, "resource": resource,
                            "expires": time.time() + self.cfg.get("token_ttl", 3600)}
        out = {"access_token": tok, "token_type": "Bearer", "expires_in": self.cfg.get("token_ttl", 3600),
               "scope": " ".join(scopes)}
        if self.cfg.get("refresh", True):
            rt = "rt_" + secrets.token_hex(16)
            self.refresh_tokens[rt] = {"client_id": client_id, "scopes": scopes, "resource": resource}
            out["refresh_token"] = rt
        return out

    def valid_token(self, header: str | None) -> dict | None:
        if not header or not header.startswith("Bearer "):
            return None
        t = self.tokens.get(header[7:])
        if t is None or t["expires"] < time.time():
            return None
        return t

    # ------------------------------------------------------------------ HTTP
    def _handler(self, role: str):
        world = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
                data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if body is not None and not isinstance(body, bytes):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client closed first (a GET stream at close): nothing to tell it

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_GET(self) -> None:
                u = urllib.parse.urlsplit(self.path)
                with world.lock:
                    world.log.append({"role": role, "method": "GET", "path": u.path})
                (world._rs_get if role == "rs" else world._as_get)(self, u)

            def do_POST(self) -> None:
                u = urllib.parse.urlsplit(self.path)
                body = self._body()
                with world.lock:
                    world.log.append({"role": role, "method": "POST", "path": u.path})
                (world._rs_post if role == "rs" else world._as_post)(self, u, body)

            def do_DELETE(self) -> None:
                self._send(200)

        return H

    # RS
    def _challenge(self, error: str | None = None, scope: str | None = None) -> str:
        parts = []
        if error:
            parts.append(f'error="{error}"')
        if scope:
            parts.append(f'scope="{scope}"')
        if self.cfg.get("prm_in_header", True) and self.cfg.get("prm", True):
            parts.append(f'resource_metadata="{self.prm_url}"')
        return "Bearer " + ", ".join(parts) if parts else "Bearer"

    def _rs_get(self, h, u) -> None:
        if self.cfg.get("prm", True) and u.path == self.cfg.get("prm_path", "/.well-known/oauth-protected-resource/mcp"):
            return h._send(200, self.prm())
        if u.path == "/mcp":
            return h._send(405)
        if self.cfg.get("rs_is_as"):
            # A 2025-03-26 server: its own origin is the authorization server.
            if u.path == "/.well-known/oauth-authorization-server" and self.cfg.get("as_metadata", True):
                return h._send(200, dict(self.as_metadata(), issuer=self.rs_base,
                                         authorization_endpoint=self.rs_base + "/authorize",
                                         token_endpoint=self.rs_base + "/token",
                                         registration_endpoint=self.rs_base + "/register"))
            if u.path == "/authorize":
                return self._as_get(h, u)
        h._send(404, {"error": "not found"})

    def _rs_post(self, h, u, body: bytes) -> None:
        if self.cfg.get("rs_is_as") and u.path in ("/token", "/register"):
            return self._as_post(h, u, body)
        if u.path != "/mcp":
            return h._send(404)
        auth = h.headers.get("Authorization")
        self.mcp_auth_headers.append(auth)
        tok = self.valid_token(auth)
        if tok is None:
            return h._send(401, {"error": "invalid_token"},
                           {"WWW-Authenticate": self._challenge(None if auth is None else "invalid_token",
                                                                self.cfg.get("challenge_scope"))})
        msg = json.loads(body)
        method = msg.get("method")
        if "id" not in msg:
            return h._send(202)
        need: list[str] = []
        if method == "tools/call":
            need = self.cfg.get("tool_scopes", {}).get(msg["params"]["name"], [])
        # The challenge names the missing scopes only (as the conformance suite's step-up
        # server does): keeping the earlier ones is the client's job.
        missing = [s for s in need if s not in tok["scopes"]]
        if self.cfg.get("always_403") and method == "tools/call":
            missing = ["mcp:write"]
        if missing:
            return h._send(403, {"error": "insufficient_scope"},
                           {"WWW-Authenticate": self._challenge("insufficient_scope", " ".join(missing))})
        rid = msg["id"]
        if method == "initialize":
            result = {"protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
                      "serverInfo": {"name": "oauth-world", "version": "1"}}
        elif method == "tools/list":
            result = {"tools": [{"name": n, "inputSchema": {"type": "object"}} for n in ("whoami", "write")]}
        elif method == "tools/call":
            result = {"content": [{"type": "text", "text": json.dumps(tok)}]}
        elif method == "ping":
            result = {}
        else:
            return h._send(200, {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no such method"}})
        h._send(200, {"jsonrpc": "2.0", "id": rid, "result": result})

    # AS
    def _as_get(self, h, u) -> None:
        p = self.cfg.get("as_prefix", "")
        meta_path = self.cfg.get("as_metadata_path", "/.well-known/oauth-authorization-server" + p)
        if u.path == meta_path and self.cfg.get("as_metadata", True):
            return h._send(200, self.as_metadata())
        if u.path == p + "/authorize" or (self.cfg.get("rs_is_as") and u.path == "/authorize"):
            q = dict(urllib.parse.parse_qsl(u.query))
            with self.lock:
                self.authorizations.append(q)
            client = self.clients.get(q.get("client_id", ""))
            cimd_ok = self.cfg.get("cimd") and q.get("client_id", "").startswith("https://")
            if client is None and not cimd_ok:
                return h._send(400, {"error": "invalid_client"})
            if client is not None and client.get("redirect_uris") and q.get("redirect_uri") not in client["redirect_uris"]:
                return h._send(400, {"error": "invalid_request", "error_description": "redirect_uri"})
            if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                return h._send(400, {"error": "invalid_request", "error_description": "PKCE S256 required"})
            code = "code_" + secrets.token_hex(8)
            self.codes[code] = {"client_id": q["client_id"], "challenge": q["code_challenge"],
                                "redirect_uri": q.get("redirect_uri"), "scopes": (q.get("scope") or "").split(),
                                "resource": q.get("resource")}
            params = {"code": code, "state": q.get("state", "")}
            mode = self.cfg.get("iss_in_redirect", "correct")
            issuer = self.issuer if not self.cfg.get("rs_is_as") else self.rs_base
            if mode == "correct":
                params["iss"] = issuer
            elif mode == "wrong":
                params["iss"] = "https://attacker.example.com"
            elif mode == "normalized":
                params["iss"] = issuer + "/"
            sep = "&" if "?" in q["redirect_uri"] else "?"
            return h._send(302, None, {"Location": q["redirect_uri"] + sep + urllib.parse.urlencode(params)})
        h._send(404, {"error": "not found"})

    def _client_auth(self, h, form: dict) -> tuple[str | None, str]:
        """The client id and the method it authenticated with, or (None, why)."""
        auth = h.headers.get("Authorization")
        if auth and auth.startswith("Basic "):
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            cid, secret = urllib.parse.unquote(cid), urllib.parse.unquote(secret)
            c = self.clients.get(cid)
            return (cid, "client_secret_basic") if c and c.get("secret") == secret else (None, "bad basic credentials")
        cid = form.get("client_id")
        if cid is None:
            return None, "no client authentication"
        if cid.startswith("https://") and self.cfg.get("cimd"):
            return cid, "none"
        c = self.clients.get(cid)
        if c is None:
            return None, "unknown client"
        if "client_secret" in form:
            return (cid, "client_secret_post") if c.get("secret") == form["client_secret"] else (None, "bad secret")
        return (cid, "none") if c.get("secret") is None else (None, "secret required")

    def _as_post(self, h, u, body: bytes) -> None:
        p = "" if self.cfg.get("rs_is_as") else self.cfg.get("as_prefix", "")
        if u.path == p + "/register" and (self.cfg.get("registration", True) or self.cfg.get("rs_is_as")):
            req = json.loads(body)
            with self.lock:
                self.registrations.append(req)
            cid = "client_" + secrets.token_hex(4)
            secret = self.cfg.get("reg_secret")
            self.clients[cid] = {"secret": secret, "redirect_uris": req.get("redirect_uris")}
            out = dict(req, client_id=cid)
            if secret:
                out["client_secret"] = secret
            if self.cfg.get("reg_auth_method"):
                out["token_endpoint_auth_method"] = self.cfg["reg_auth_method"]
            return h._send(201, out)
        if u.path == p + "/token":
            form = dict(urllib.parse.parse_qsl(body.decode()))
            cid, how = self._client_auth(h, form)
            with self.lock:
                self.token_requests.append({"form": form, "auth_method": how if cid else None,
                                            "authorization": h.headers.get("Authorization")})
            if cid is None:
                return h._send(401, {"error": "invalid_client", "error_description": how})
            grant = form.get("grant_type")
            if grant == "authorization_code":
                c = self.codes.pop(form.get("code", ""), None)
                if c is None or c["client_id"] != cid:
                    return h._send(400, {"error": "invalid_grant"})
                verifier = form.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if digest != c["challenge"] or form.get("redirect_uri") != c["redirect_uri"]:
                    return h._send(400, {"error": "invalid_grant", "error_description": "PKCE or redirect_uri"})
                return h._send(200, self._issue(cid, c["scopes"], form.get("resource")))
            if grant == "refresh_token":
                r = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
                if r is None or r["client_id"] != cid:
                    return h._send(400, {"error": "invalid_grant"})
                return h._send(200, self._issue(cid, r["scopes"], form.get("resource")))
            if grant == "client_credentials":
                return h._send(200, self._issue(cid, (form.get("scope") or "").split(), form.get("resource")))
            return h._send(400, {"error": "unsupported_grant_type"})
        h._send(404, {"error": "not found"})
