/// The OAuth 2.1 resource server settings of an HTTP listener (the "auth"
/// object of mcp_server_start_http's config): what the protected resource
/// metadata (RFC 9728) says, how access tokens are checked, and the limits.
/// Pure data and text; the transport does the I/O (JWKS file and URL).
public struct AuthConfig: Sendable {
    /// The resource identifier (RFC 8707 / RFC 9728 "resource"): the MCP
    /// endpoint's canonical URL, e.g. "https://mcp.example.com/mcp".
    public var resource: String
    /// Authorization server issuer URLs (at least one).
    public var authorizationServers: [String]
    /// Published as "scopes_supported" and, when no other scope applies, sent
    /// in the 401 challenge's `scope` (the spec's scope selection strategy).
    public var scopesSupported: [String]?
    /// Scopes every request needs (403 insufficient_scope without them).
    public var requiredScopes: [String] = []
    /// The `iss` a JWT must carry; needed when keys are configured.
    public var issuer: String?
    /// A JWT's `aud` must contain one of these; by default the resource itself.
    public var audiences: [String]
    public var jwksFile: String?
    public var jwksURL: String?
    /// PEM file of the certificates that verify an https `jwksURL` (a
    /// private CA); nil: the system's trust store. Verification is never off.
    public var jwksCAFile: String?
    public var algorithms: Set<String> = JWTAccessTokenPolicy.asymmetricAlgorithms
    public var clockSkewSeconds: Int64 = 60
    /// Longer bearer tokens are refused (401) before any parsing.
    public var maxTokenBytes = 8192
    /// A token with an unknown `kid` refetches jwks_url at most this often.
    public var jwksRefetchMinIntervalMs = 10_000
    /// Keys from jwks_url older than this are refreshed (in the background;
    /// the old ones serve meanwhile).
    public var jwksCacheTtlMs = 3_600_000
    public var jwksFetchTimeoutMs = 5_000
    public var jwksMaxBytes = 1 << 20
    /// A host verifier that has not answered in this time refuses the token.
    public var verifierTimeoutMs = 10_000
    /// Where the metadata is, for the challenges' `resource_metadata`;
    /// derived from `resource` unless given.
    public var resourceMetadataURL: String

    public init(resource: String, authorizationServers: [String]) {
        self.resource = resource
        self.authorizationServers = authorizationServers
        audiences = [resource]
        resourceMetadataURL = Self.metadataURL(for: resource) ?? resource
    }

    public static let wellKnownPrefix = "/.well-known/oauth-protected-resource"

    /// RFC 9728 section 3.1: the well-known path inserted between the
    /// resource's origin and its path. nil when `resource` is no absolute URL.
    public static func metadataURL(for resource: String) -> String? {
        guard let (origin, path) = split(resource) else { return nil }
        return origin + wellKnownPrefix + (path == "/" ? "" : path)
    }

    /// The path part of the resource URL ("" for none), to serve the metadata under.
    public var resourcePath: String { Self.split(resource).map { $0.path == "/" ? "" : $0.path } ?? "" }

    /// ("scheme://authority", "/path") of an http(s) URL without query or fragment.
    private static func split(_ url: String) -> (origin: String, path: String)? {
        guard let schemeEnd = url.firstRange(of: "://"), !url.contains("#"), !url.contains("?") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        guard !rest.isEmpty else { return nil }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        guard slash > rest.startIndex else { return nil }
        return (String(url[..<slash]), String(rest[slash...]))
    }

    /// Problems a listener must refuse to start with ("" when none).
    public func problems(hostVerifier: Bool) -> [String] {
        var out: [String] = []
        if Self.split(resource) == nil { out.append("\"resource\" must be an absolute http(s) URL without query or fragment") }
        if authorizationServers.isEmpty { out.append("\"authorization_servers\" must name at least one authorization server") }
        if jwksFile != nil, jwksURL != nil { out.append("give \"jwks_file\" or \"jwks_url\", not both") }
        if jwksFile != nil || jwksURL != nil {
            if issuer == nil { out.append("\"issuer\" is needed to check JWT access tokens") }
        } else if !hostVerifier {
            out.append("no way to check tokens: give \"jwks_file\" or \"jwks_url\" (with \"issuer\"), or set a token verifier (mcp_server_set_token_verifier)")
        }
        if let u = jwksURL, !(u.hasPrefix("https://") || u.hasPrefix("http://")) { out.append("\"jwks_url\" must be an http(s) URL") }
        if jwksCAFile != nil, !(jwksURL?.lowercased().hasPrefix("https://") ?? false) {
            out.append("\"jwks_ca_file\" verifies an https \"jwks_url\": give one")
        }
        for a in algorithms where !JWTAccessTokenPolicy.asymmetricAlgorithms.contains(a) {
            out.append("algorithm \"\(a)\" is not accepted (only \(JWTAccessTokenPolicy.asymmetricAlgorithms.sorted().joined(separator: ", ")))")
        }
        return out
    }

    /// The JWT checks, when keys are configured.
    public var jwtPolicy: JWTAccessTokenPolicy? {
        guard let issuer, jwksFile != nil || jwksURL != nil else { return nil }
        return JWTAccessTokenPolicy(issuer: issuer, audiences: audiences, clockSkewSeconds: clockSkewSeconds,
                                    algorithms: algorithms)
    }

    /// The protected resource metadata document (RFC 9728 section 2).
    public var metadataDocument: [UInt8] {
        var o = JSONObject()
        o["resource"] = .string(resource)
        o["authorization_servers"] = .array(authorizationServers.map { .string($0) })
        if let s = scopesSupported { o["scopes_supported"] = .array(s.map { .string($0) }) }
        o["bearer_methods_supported"] = ["header"]
        return JSONSerializer.bytes(.object(o))
    }

    // MARK: challenges (RFC 6750 section 3, RFC 9728 section 5.1)

    /// WWW-Authenticate for a 401: no token (no error code, as RFC 6750 asks)
    /// or a refused one (invalid_token with the reason).
    public func unauthorizedChallenge(_ failure: AuthFailure) -> String {
        var params: [(String, String)] = []
        if failure.reason != .missing {
            params.append(("error", "invalid_token"))
            params.append(("error_description", failure.detail))
        }
        params.append(("resource_metadata", resourceMetadataURL))
        let scope = requiredScopes.isEmpty ? (scopesSupported ?? []) : requiredScopes
        if !scope.isEmpty { params.append(("scope", scope.joined(separator: " "))) }
        return Self.challenge(params)
    }

    /// WWW-Authenticate for a 403: the scopes the operation needs, all at once.
    public func insufficientScopeChallenge(_ scopes: [String], what: String) -> String {
        Self.challenge([("error", "insufficient_scope"), ("scope", scopes.joined(separator: " ")),
                        ("resource_metadata", resourceMetadataURL),
                        ("error_description", "\(what) requires scope \(scopes.joined(separator: " "))")])
    }

    private static func challenge(_ params: [(String, String)]) -> String {
        "Bearer " + params.map { "\($0.0)=\"\(quoted($0.1))\"" }.joined(separator: ", ")
    }

    /// RFC 7230 quoted-string content: `"` and `\` escaped, controls dropped.
    private static func quoted(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            if u == "\"" || u == "\\" { out.append("\\") }
            if u.value < 0x20 || u.value == 0x7F { continue }
            out.unicodeScalars.append(u.value < 0x80 ? u : "?")
        }
        return out
    }
}
