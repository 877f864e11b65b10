"""A machine client end to end, with no code of ours on the authorization side: our client
(oauth grant "client_credentials", through the Python binding) gets a JWT access token from an
Authlib authorization server (authlib_as.py), and our everything server, protected with that
server's JWKS URL, accepts it; step-up to mcp:admin on a 403 where the client is allowed it, a
final 403 where it is not; both eras; client_secret_basic and client_secret_post.
"""
from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from authlib_as import AuthlibAS
from http_support import EverythingHTTP, free_port, libmcp_binding

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def libmcp():
    return libmcp_binding()


@pytest.fixture
def world(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "client-key.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    public = dict(json.loads(ECAlgorithm.to_jwk(key.public_key())), kid="client-key-1", alg="ES256")
    as_ = AuthlibAS({"svc": ("svc-secret", "client_secret_basic", ["mcp:read", "mcp:admin"]),
                     "poster": ("post-secret", "client_secret_post", ["mcp:read"]),
                     "keyed": (None, "private_key_jwt", ["mcp:read"], public)})
    as_.client_key_file = str(pem)
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    cfg = tmp_path / "auth.json"
    cfg.write_text(json.dumps({"resource": resource, "authorization_servers": [as_.issuer], "issuer": as_.issuer,
                               "jwks_url": as_.issuer + "/jwks", "scopes_supported": ["mcp:read"]}))
    with EverythingHTTP("--auth-config", str(cfg), port=port) as server:
        yield as_, server
    as_.close()


def machine(libmcp, url, client_id, secret, era, **oauth):
    if secret is not None:
        oauth["client_secret"] = secret
    return libmcp.Client.http(url, era=era, timeout=20, request_timeout=20,
                              oauth=dict(grant="client_credentials", client_id=client_id, **oauth))


@pytest.mark.parametrize("era", ["legacy", "auto"])
def test_client_credentials_with_a_jwt_from_authlib(libmcp, world, era):
    as_, server = world
    with machine(libmcp, server.url, "svc", "svc-secret", era) as c:
        principal = json.loads(c.call_tool("test_whoami", {})["content"][0]["text"])
        assert principal["client_id"] == "svc" and principal["subject"] == "svc"
        assert principal["scopes"] == ["mcp:read"] and principal["issuer"] == as_.issuer
        # Step-up: the 403 names mcp:admin; the client asks again for both, Authlib allows it.
        assert c.call_tool("test_admin_only", {})["content"][0]["text"] == "admin ok"
    forms = [t["form"] for t in as_.token_requests]
    assert [f.get("scope") for f in forms] == ["mcp:read", "mcp:read mcp:admin"]
    assert all(f["grant_type"] == "client_credentials" and f["resource"] == server.url for f in forms)
    assert all(t["authorization"].startswith("Basic ") for t in as_.token_requests)


def test_client_secret_post_and_a_scope_the_client_may_not_have(libmcp, world):
    as_, server = world
    with machine(libmcp, server.url, "poster", "post-secret", "legacy",
                 token_endpoint_auth_method="client_secret_post") as c:
        assert json.loads(c.call_tool("test_whoami", {})["content"][0]["text"])["client_id"] == "poster"
        # Authlib grants only mcp:read to this client: the step-up cannot succeed and stops.
        with pytest.raises(libmcp.PeerError) as e:
            c.call_tool("test_admin_only", {})
        assert "403" in str(e.value)
    assert all(t["authorization"] is None and t["form"]["client_secret"] == "post-secret" for t in as_.token_requests)
    assert 2 <= len(as_.token_requests) <= 3


def test_a_wrong_secret_fails_the_connect_with_the_reason(libmcp, world):
    as_, server = world
    with pytest.raises(libmcp.MCPError) as e:
        machine(libmcp, server.url, "svc", "wrong", "legacy").close()
    assert "invalid_client" in str(e.value)


def test_private_key_jwt_client_assertion(libmcp, world):
    """auth/client-credentials-jwt: the client authenticates with a JWT signed by its own key
    (RFC 7523), which Authlib checks against the client's registered public key."""
    as_, server = world
    with machine(libmcp, server.url, "keyed", None, "auto", private_key_file=as_.client_key_file,
                 private_key_id="client-key-1") as c:
        assert json.loads(c.call_tool("test_whoami", {})["content"][0]["text"])["client_id"] == "keyed"
    [t] = as_.token_requests
    assert t["authorization"] is None and "client_secret" not in t["form"]
    assert t["form"]["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    import jwt
    header = jwt.get_unverified_header(t["form"]["client_assertion"])
    claims = jwt.decode(t["form"]["client_assertion"], options={"verify_signature": False})
    assert header["alg"] == "ES256" and header["kid"] == "client-key-1"
    assert claims["iss"] == claims["sub"] == "keyed" and claims["aud"] == as_.issuer and claims["jti"]
