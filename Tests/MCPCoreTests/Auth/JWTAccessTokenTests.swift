import Crypto
import CryptoExtras
import Testing
@testable import MCPCore

/// JWT access token checks in memory: tokens signed here with swift-crypto,
/// verified against a JWKS built from the same keys.
@Suite struct JWTAccessTokenTests {
    static let issuer = "https://as.example"
    static let resource = "https://mcp.example/mcp"
    static let now: Int64 = 1_800_000_000

    let ed = Curve25519.Signing.PrivateKey()
    let p256 = P256.Signing.PrivateKey()
    let rsa: _RSA.Signing.PrivateKey

    init() throws { rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048) }

    var keys: JSONWebKeySet {
        get throws {
            let b: ([UInt8]) -> String = { Base64URL.encode($0) }
            let raw = p256.publicKey.rawRepresentation
            let rsaPub = try rsaComponents(rsa.publicKey)
            let json: JSONValue = ["keys": [
                ["kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": .string(b(Array(ed.publicKey.rawRepresentation)))],
                ["kty": "EC", "crv": "P-256", "kid": "ec", "x": .string(b(Array(raw.prefix(32)))),
                 "y": .string(b(Array(raw.suffix(32))))],
                ["kty": "RSA", "kid": "rsa", "alg": "RS256", "n": .string(b(rsaPub.n)), "e": .string(b(rsaPub.e))],
                ["kty": "oct", "kid": "secret", "k": "c2VjcmV0"],
            ]]
            return try JSONWebKeySet(json: json)
        }
    }

    /// n and e of an RSA public key, read from its PKCS#1 DER (SEQUENCE { INTEGER n, INTEGER e }).
    func rsaComponents(_ key: _RSA.Signing.PublicKey) throws -> (n: [UInt8], e: [UInt8]) {
        let der = Array(key.pkcs1DERRepresentation)
        var i = 0
        func length() -> Int {
            var n = Int(der[i]); i += 1
            if n & 0x80 != 0 {
                let count = n & 0x7F
                n = 0
                for _ in 0..<count { n = n << 8 | Int(der[i]); i += 1 }
            }
            return n
        }
        func integer() -> [UInt8] {
            i += 1  // tag 0x02
            let n = length()
            var bytes = Array(der[i..<i + n]); i += n
            while bytes.first == 0, bytes.count > 1 { bytes.removeFirst() }
            return bytes
        }
        i += 1  // SEQUENCE
        _ = length()
        return (integer(), integer())
    }

    func claims(_ extra: [(String, JSONValue)] = []) -> JSONObject {
        var o: JSONObject = ["iss": .string(Self.issuer), "aud": .string(Self.resource), "sub": "alice",
                             "client_id": "c1", "scope": "mcp:read mcp:write", "exp": .int(Self.now + 300)]
        for (k, v) in extra { o[k] = v }
        return o
    }

    func token(alg: String, kid: String?, _ claims: JSONObject, sign: (([UInt8]) throws -> [UInt8])? = nil) throws -> String {
        var header: JSONObject = ["alg": .string(alg), "typ": "JWT"]
        if let kid { header["kid"] = .string(kid) }
        let input = Base64URL.encode(JSONSerializer.bytes(.object(header))) + "." + Base64URL.encode(JSONSerializer.bytes(.object(claims)))
        let bytes = Array(input.utf8)
        let signature: [UInt8]
        if let sign { signature = try sign(bytes) } else {
            switch alg {
            case "EdDSA": signature = Array(try ed.signature(for: bytes))
            case "ES256": signature = Array(try p256.signature(for: SHA256.hash(data: bytes)).rawRepresentation)
            case "RS256": signature = Array(try rsa.signature(for: SHA256.hash(data: bytes), padding: .insecurePKCS1v1_5).rawRepresentation)
            default: signature = []
            }
        }
        return input + "." + Base64URL.encode(signature)
    }

    var policy: JWTAccessTokenPolicy { JWTAccessTokenPolicy(issuer: Self.issuer, audiences: [Self.resource]) }

    func reason(_ token: String, now: Int64 = now) throws -> AuthFailure.Reason? {
        switch policy.verify(token, keys: try keys, now: now) {
        case .success: return nil
        case .failure(let f): return f.reason
        }
    }

    @Test(arguments: [("EdDSA", "ed"), ("ES256", "ec"), ("RS256", "rsa")])
    func acceptsEachAlgorithm(_ alg: String, _ kid: String) throws {
        let p = try policy.verify(try token(alg: alg, kid: kid, claims()), keys: try keys, now: Self.now).get()
        #expect(p.subject == "alice" && p.clientID == "c1" && p.issuer == Self.issuer)
        #expect(p.scopes == ["mcp:read", "mcp:write"] && p.claims["aud"] == .string(Self.resource))
    }

    @Test func refusesBadClaims() throws {
        #expect(try reason(try token(alg: "EdDSA", kid: "ed", claims([("exp", .int(Self.now - 61))]))) == .expired)
        #expect(try reason(try token(alg: "EdDSA", kid: "ed", claims([("exp", .int(Self.now - 59))]))) == nil, "within the skew")
        #expect(try reason(try token(alg: "EdDSA", kid: "ed", claims([("nbf", .int(Self.now + 61))]))) == .notYetValid)
        #expect(try reason(try token(alg: "EdDSA", kid: "ed", claims([("aud", "https://other/mcp")]))) == .audience)
        #expect(try reason(try token(alg: "EdDSA", kid: "ed", claims([("aud", ["x", .string(Self.resource)])]))) == nil)
        #expect(try reason(try token(alg: "EdDSA", kid: "ed", claims([("iss", "https://evil")]))) == .issuer)
        var noExp = claims()
        noExp.removeValue(forKey: "exp")
        #expect(try reason(try token(alg: "EdDSA", kid: "ed", noExp)) == .malformed)
    }

    @Test func refusesBadAlgorithmsKeysAndSignatures() throws {
        #expect(try reason(try token(alg: "none", kid: "ed", claims(), sign: { _ in [] })) == .algorithm)
        let hs = try token(alg: "HS256", kid: "rsa", claims()) { input in
            Array(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Array("secret".utf8))))
        }
        #expect(try reason(hs) == .algorithm)
        // The JWK says RS256: an ES256 header naming it does not fit.
        #expect(try reason(try token(alg: "ES256", kid: "rsa", claims())) == .algorithm)
        #expect(try reason(try token(alg: "EdDSA", kid: "nope", claims())) == .unknownKey)
        #expect(try reason(try token(alg: "EdDSA", kid: "secret", claims())) == .unknownKey, "oct keys are never loaded")
        #expect(try reason(try token(alg: "EdDSA", kid: nil, claims())) == nil, "the only EdDSA key")
        let good = try token(alg: "ES256", kid: "ec", claims())
        #expect(try reason(String(good.dropLast(4)) + "AAAA") == .signature)
        #expect(try reason("a.b") == .malformed)
        #expect(try reason("not a token at all") == .malformed)
        #expect(try keys.skipped == 1)
    }

    @Test func principalFromHostJSON() throws {
        let p = try #require(Principal(hostJSON: try JSONParser.parse(#"{"subject":"s","scopes":"a b","claims":{"x":1}}"#)))
        #expect(p.scopes == ["a", "b"] && p.claims["x"] == .int(1) && p.clientID == nil)
        #expect(Principal(hostJSON: try JSONParser.parse(#"{"subject":1}"#)) == nil)
        #expect(Principal(hostJSON: try JSONParser.parse(#"{"scopes":[1]}"#)) == nil)
        let other = Principal(subject: "s", clientID: nil, issuer: nil, scopes: ["a"])
        #expect(p.isSameParty(as: other), "scopes do not change the party")
    }

    @Test func challengesAndMetadata() throws {
        var c = AuthConfig(resource: "https://mcp.example/mcp", authorizationServers: [Self.issuer])
        c.scopesSupported = ["mcp:read"]
        #expect(c.resourceMetadataURL == "https://mcp.example/.well-known/oauth-protected-resource/mcp")
        #expect(c.unauthorizedChallenge(AuthFailure(.missing, "x"))
            == #"Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", scope="mcp:read""#)
        let refused = c.unauthorizedChallenge(AuthFailure(.expired, "quote \" and \n newline"))
        #expect(refused.hasPrefix(#"Bearer error="invalid_token", error_description="quote \" and  newline""#))
        #expect(c.insufficientScopeChallenge(["a", "b"], what: "Tool t").hasPrefix(#"Bearer error="insufficient_scope", scope="a b""#))
        let doc = try JSONParser.parse(c.metadataDocument)
        #expect(doc["bearer_methods_supported"] == ["header"] && doc["resource"] == .string(c.resource))
        #expect(AuthConfig(resource: "https://x.example", authorizationServers: []).resourceMetadataURL
            == "https://x.example/.well-known/oauth-protected-resource")
        #expect(c.problems(hostVerifier: false).contains { $0.contains("no way to check tokens") })
        #expect(c.problems(hostVerifier: true).isEmpty)
    }

    @Test func requiredScopesAreStrippedFromDefinitions() throws {
        let tool = try ToolEntry(definition: ["name": "t", "requiredScopes": ["a", "b"]]) { _, _ in }
        #expect(tool.requiredScopes == ["a", "b"] && tool.definition["requiredScopes"] == nil)
        #expect(throws: DefinitionError.self) { try ToolEntry(definition: ["name": "t", "requiredScopes": "a"]) { _, _ in } }
    }

    @Test func completionNeedsTheScopesOfWhatItCompletes() throws {
        let h = SessionHarness()
        try h.server.addPrompt(PromptEntry(definition: ["name": "secret", "arguments": [["name": "a"]],
                                                        "requiredScopes": ["p:read"]]) { _, _ in })
        try h.server.addPrompt(PromptEntry(definition: ["name": "open", "arguments": [["name": "a"]]]) { _, _ in })
        try h.server.addTemplate(TemplateEntry(definition: ["uriTemplate": "db://{table}", "name": "t",
                                                            "requiredScopes": ["db:read"]]) { _, _, _ in })
        func complete(_ ref: JSONValue) -> Message {
            .request(id: .int(1), method: "completion/complete",
                     params: ["ref": ref, "argument": ["name": "a", "value": "x"]])
        }
        let reader = Principal(subject: "u", clientID: "c", issuer: "i", scopes: ["other"])
        let prompt = h.server.unmetScopes(for: complete(["type": "ref/prompt", "name": "secret"]), principal: reader)
        #expect(prompt == ScopeRequirement(what: "Completion of prompt secret", scopes: ["p:read"]))
        let template = h.server.unmetScopes(for: complete(["type": "ref/resource", "uri": "db://{table}"]), principal: reader)
        #expect(template == ScopeRequirement(what: "Completion of resource db://{table}", scopes: ["db:read"]))
        // Enough scopes, a prompt that needs none, unknown names, no principal: nothing to refuse here.
        let both = Principal(subject: "u", clientID: "c", issuer: "i", scopes: ["p:read", "db:read"])
        #expect(h.server.unmetScopes(for: complete(["type": "ref/prompt", "name": "secret"]), principal: both) == nil)
        #expect(h.server.unmetScopes(for: complete(["type": "ref/resource", "uri": "db://{table}"]), principal: both) == nil)
        #expect(h.server.unmetScopes(for: complete(["type": "ref/prompt", "name": "open"]), principal: reader) == nil)
        #expect(h.server.unmetScopes(for: complete(["type": "ref/prompt", "name": "nope"]), principal: reader) == nil)
        #expect(h.server.unmetScopes(for: complete(["type": "ref/prompt", "name": "secret"]), principal: nil) == nil)
    }
}
