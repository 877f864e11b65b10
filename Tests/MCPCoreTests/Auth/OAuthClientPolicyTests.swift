import Testing
import MCPCore

/// The pure decisions of the OAuth client: challenge parsing, where metadata
/// is looked for and in which order, the resource and issuer checks, scope
/// selection, the RFC 9207 table, the auth method, PKCE and form encoding.
@Suite struct OAuthClientPolicyTests {
    @Test func bearerChallengeParameters() {
        let c = BearerChallenge.parse([
            #"Bearer error="insufficient_scope", scope="files:read files:write", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource""#,
        ])
        #expect(c?.error == "insufficient_scope")
        #expect(c?.scopes == ["files:read", "files:write"])
        #expect(c?.resourceMetadata == "https://mcp.example.com/.well-known/oauth-protected-resource")
    }

    @Test func bearerAmongOtherSchemesAndTokens() {
        let c = BearerChallenge.parse([#"Basic realm="x", Bearer realm="mcp",scope=read ,error=invalid_token"#])
        #expect(c == BearerChallenge(resourceMetadata: nil, scope: "read", error: "invalid_token"))
        #expect(BearerChallenge.parse(["Basic realm=\"x\""]) == nil)
        #expect(BearerChallenge.parse(["bearer"]) == BearerChallenge())
        #expect(BearerChallenge.parse([#"Bearer scope="a\"b""#])?.scope == "a\"b")
        // Garbage never traps.
        _ = BearerChallenge.parse(["=,,\"", "Bearer scope=\"unterminated", "Bearer ==="])
    }

    @Test func resourceMetadataOrder() {
        let header = BearerChallenge(resourceMetadata: "https://h.example/custom.json")
        #expect(OAuthDiscovery.resourceMetadataURLs(serverURL: "https://h.example/mcp", challenge: header)
            == ["https://h.example/custom.json"])
        #expect(OAuthDiscovery.resourceMetadataURLs(serverURL: "https://h.example/public/mcp?x=1", challenge: nil)
            == ["https://h.example/.well-known/oauth-protected-resource/public/mcp",
                "https://h.example/.well-known/oauth-protected-resource"])
        #expect(OAuthDiscovery.resourceMetadataURLs(serverURL: "https://h.example/", challenge: nil)
            == ["https://h.example/.well-known/oauth-protected-resource"])
    }

    @Test func authorizationServerMetadataOrder() {
        #expect(OAuthDiscovery.authorizationServerMetadataURLs(issuer: "https://auth.example.com/tenant1")
            == ["https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example.com/.well-known/openid-configuration/tenant1",
                "https://auth.example.com/tenant1/.well-known/openid-configuration"])
        #expect(OAuthDiscovery.authorizationServerMetadataURLs(issuer: "https://auth.example.com")
            == ["https://auth.example.com/.well-known/oauth-authorization-server",
                "https://auth.example.com/.well-known/openid-configuration"])
        #expect(OAuthDiscovery.authorizationServerMetadataURLs(issuer: "auth.example.com").isEmpty)
    }

    @Test func resourceCoverage() {
        #expect(OAuthDiscovery.resourceCovers("https://mcp.example.com/mcp", serverURL: "https://mcp.example.com/mcp"))
        #expect(OAuthDiscovery.resourceCovers("https://MCP.example.com", serverURL: "https://mcp.example.com/mcp"))
        #expect(OAuthDiscovery.resourceCovers("https://mcp.example.com/", serverURL: "https://mcp.example.com/mcp"))
        #expect(!OAuthDiscovery.resourceCovers("https://mcp.example.com/mc", serverURL: "https://mcp.example.com/mcp"))
        #expect(!OAuthDiscovery.resourceCovers("https://other.example.com/mcp", serverURL: "https://mcp.example.com/mcp"))
        #expect(!OAuthDiscovery.resourceCovers("http://mcp.example.com/mcp", serverURL: "https://mcp.example.com/mcp"))
        #expect(!OAuthDiscovery.resourceCovers("https://mcp.example.com:8443/mcp", serverURL: "https://mcp.example.com/mcp"))
        #expect(OAuthDiscovery.canonicalResource("https://mcp.example.com/mcp/?q#f") == "https://mcp.example.com/mcp")
    }

    @Test func transportSecurity() {
        #expect(OAuthDiscovery.isSecureEnough("https://as.example"))
        #expect(OAuthDiscovery.isSecureEnough("http://127.0.0.1:8080/token"))
        #expect(OAuthDiscovery.isSecureEnough("http://localhost/token"))
        #expect(OAuthDiscovery.isSecureEnough("http://[::1]:9/x"))
        #expect(!OAuthDiscovery.isSecureEnough("http://as.example/token"))
        #expect(!OAuthDiscovery.isSecureEnough("http://localhost.evil.example/token"))
        #expect(!OAuthDiscovery.isSecureEnough("ftp://as.example"))
    }

    @Test func scopeSelectionOrder() {
        let challenge = BearerChallenge(scope: "files:read")
        #expect(OAuthDiscovery.initialScopes(configured: ["x"], challenge: challenge, resourceScopes: ["a"]) == ["x"])
        #expect(OAuthDiscovery.initialScopes(configured: nil, challenge: challenge, resourceScopes: ["a", "b"]) == ["files:read"])
        #expect(OAuthDiscovery.initialScopes(configured: nil, challenge: nil, resourceScopes: ["a", "b"]) == ["a", "b"])
        #expect(OAuthDiscovery.initialScopes(configured: nil, challenge: nil, resourceScopes: nil) == [])
        #expect(OAuthScopes.union(["a", "b"], ["b", "c"]) == ["a", "b", "c"])
    }

    @Test func issuerParameterTable() {
        let iss = "https://as.example"
        #expect(OAuthDiscovery.checkIssuerParameter(iss: iss, expected: iss, advertised: true) == nil)
        #expect(OAuthDiscovery.checkIssuerParameter(iss: nil, expected: iss, advertised: true) != nil)
        #expect(OAuthDiscovery.checkIssuerParameter(iss: iss, expected: iss, advertised: false) == nil)
        #expect(OAuthDiscovery.checkIssuerParameter(iss: "https://evil.example", expected: iss, advertised: false) != nil)
        #expect(OAuthDiscovery.checkIssuerParameter(iss: nil, expected: iss, advertised: false) == nil)
        // No normalization: a trailing slash or other case is another issuer.
        #expect(OAuthDiscovery.checkIssuerParameter(iss: iss + "/", expected: iss, advertised: true) != nil)
        #expect(OAuthDiscovery.checkIssuerParameter(iss: "https://AS.example", expected: iss, advertised: true) != nil)
    }

    @Test func tokenEndpointAuthMethod() {
        #expect(OAuthDiscovery.tokenEndpointAuthMethod(registered: "client_secret_post", hasSecret: true, supported: nil)
            == "client_secret_post")
        #expect(OAuthDiscovery.tokenEndpointAuthMethod(registered: nil, hasSecret: false, supported: ["client_secret_basic"])
            == "none")
        #expect(OAuthDiscovery.tokenEndpointAuthMethod(registered: nil, hasSecret: true, supported: nil) == "client_secret_basic")
        #expect(OAuthDiscovery.tokenEndpointAuthMethod(registered: nil, hasSecret: true, supported: ["client_secret_post"])
            == "client_secret_post")
    }

    @Test func pkceS256() {
        // RFC 7636 appendix B.
        #expect(PKCE.challenge(for: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        let a = PKCE(), b = PKCE()
        #expect(a.verifier.count == 43 && a.challenge == PKCE.challenge(for: a.verifier))
        #expect(a.verifier != b.verifier && a.state != b.state)
        #expect(PKCE.base64("Aladdin:open sesame") == "QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    }

    @Test func formEncoding() {
        #expect(FormEncoding.encode([("redirect_uri", "http://127.0.0.1:9/cb?x=1"), ("scope", "a b")])
            == "redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb%3Fx%3D1&scope=a%20b")
        #expect(FormEncoding.query(of: "http://h/cb?code=abc&state=s%2Fx&iss=https%3A%2F%2Fas+x#frag")
            == ["code": "abc", "state": "s/x", "iss": "https://as x"])
        #expect(FormEncoding.query(of: "http://h/cb") == [:])
        #expect(FormEncoding.appending([("a", "1")], to: "https://as/authorize?tenant=x") == "https://as/authorize?tenant=x&a=1")
    }
}
