"""An OAuth 2.0 authorization server built on Authlib (PyPI, authlib.oauth2): the client
credentials grant (RFC 6749 section 4.4) with client_secret_basic and client_secret_post,
issuing JWT access tokens (RFC 9068, RS256) whose `aud` is the RFC 8707 `resource` of the
request, and serving its RFC 8414 metadata and JWKS. Authlib does the grant, the client
authentication, the scope checks and the token; this file only adapts it to http.server.
"""
from __future__ import annotations

import json
import os
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

# Authlib refuses plain http unless told: everything here is on loopback.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request, grants  # noqa: E402
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload  # noqa: E402
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion  # noqa: E402
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator  # noqa: E402


class Client(ClientMixin):
    def __init__(self, client_id: str, secret: str | None, method: str, scopes: list[str], public_jwk: dict | None = None):
        self.client_id, self.secret, self.method, self.scopes = client_id, secret, method, scopes
        self.public_jwk = public_jwk

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return client_secret == self.secret

    def check_endpoint_auth_method(self, method, endpoint):
        return endpoint != "token" or method == self.method

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"


class _Request(OAuth2Request):
    def __init__(self, uri: str, headers: dict, form: dict):
        super().__init__("POST", uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def args(self):
        return {}

    @property
    def form(self):
        return self._form


class AuthlibAS:
    """Runs on a free loopback port; `clients` maps id -> (secret, method, allowed scopes[, public
    JWK for private_key_jwt])."""

    def __init__(self, clients: dict[str, tuple]):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "authlib-1"
        self.token_requests: list[dict] = []
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.http.daemon_threads = True
        self.current = threading.local()
        outer = self

        class Server(AuthorizationServer):
            def query_client(self, client_id):
                c = clients.get(client_id)
                return Client(client_id, *c) if c else None

            def save_token(self, token, request):
                pass

            def create_oauth2_request(self, request):
                return request

            def handle_response(self, status, body, headers):
                return status, body, headers

            def send_signal(self, name, *args, **kwargs):
                pass

        class Tokens(JWTBearerTokenGenerator):
            def get_jwks(self):
                return {"keys": [outer.private_jwk]}

            def get_audiences(self, client, user, scope):
                return outer.current.resource

        class ClientCredentials(grants.ClientCredentialsGrant):
            # Authlib's default is client_secret_basic only.
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

        seen_jti: set[str] = set()

        class KeyJWT(JWTBearerClientAssertion):
            """private_key_jwt (RFC 7523 section 2.2): the client's registered public key."""
            CLIENT_AUTH_METHOD = "private_key_jwt"

            def get_audiences(self):
                return [outer.issuer, outer.issuer + "/token"]

            def resolve_client_public_key(self, client):
                return client.public_jwk

            def validate_jti(self, claims, jti):
                if jti in seen_jti:
                    return False
                seen_jti.add(jti)
                return True

        self.server = Server()
        self.server.register_grant(ClientCredentials)
        self.server.register_client_auth_method(KeyJWT.CLIENT_AUTH_METHOD, KeyJWT())
        self.server.register_token_generator("default", Tokens(issuer=self.issuer))
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    @property
    def private_jwk(self) -> dict:
        return dict(json.loads(RSAAlgorithm.to_jwk(self.key)), kid=self.kid, alg="RS256", use="sig")

    @property
    def public_jwks(self) -> dict:
        return {"keys": [dict(json.loads(RSAAlgorithm.to_jwk(self.key.public_key())), kid=self.kid, alg="RS256",
                              use="sig")]}

    def metadata(self) -> dict:
        return {"issuer": self.issuer, "token_endpoint": self.issuer + "/token", "jwks_uri": self.issuer + "/jwks",
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
                "response_types_supported": ["token"]}

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    def _handler(self):
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: list | None = None) -> None:
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                seen = set()
                for k, v in headers or []:
                    self.send_header(k, v)
                    seen.add(k.lower())
                if "content-type" not in seen:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/oauth-authorization-server":
                    return self._send(200, outer.metadata())
                if self.path == "/jwks":
                    return self._send(200, outer.public_jwks)
                self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if self.path != "/token":
                    return self._send(404, {"error": "not_found"})
                form = dict(urllib.parse.parse_qsl(body))
                outer.token_requests.append({"form": form, "authorization": self.headers.get("Authorization")})
                if not form.get("resource"):
                    return self._send(400, {"error": "invalid_target", "error_description": "resource required"})
                outer.current.resource = form["resource"]
                status, payload, headers = outer.server.create_token_response(
                    _Request(outer.issuer + "/token", dict(self.headers), form))
                self._send(status, payload, headers)

        return H
