/// Where an OAuth client looks for metadata, and the checks it applies to what
/// it finds (spec 2026-07-28 basic/authorization: authorization-server-
/// discovery.mdx and index.mdx). Pure functions, so every order and every
/// refusal can be tested without a server.
public enum OAuthDiscovery {
    /// An absolute http(s) URL split into origin and path (query and fragment dropped).
    public struct SplitURL: Sendable, Equatable {
        /// "https://host:port", as written (scheme and host lowercased).
        public var origin: String
        /// "" or "/..." without a trailing slash.
        public var path: String

        public init?(_ text: String) {
            let lower = text.lowercased()
            let schemeEnd: Int
            if lower.hasPrefix("https://") { schemeEnd = 8 } else if lower.hasPrefix("http://") { schemeEnd = 7 } else { return nil }
            let rest = text.dropFirst(schemeEnd)
            let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) ?? rest.endIndex
            let noQuery = rest[..<cut]
            let slash = noQuery.firstIndex(of: "/") ?? noQuery.endIndex
            let authority = noQuery[..<slash]
            guard !authority.isEmpty else { return nil }
            origin = String(lower.prefix(schemeEnd)) + authority.lowercased()
            var p = String(noQuery[slash...])
            while p.hasSuffix("/") { p.removeLast() }
            path = p
        }
    }

    /// Protected-resource metadata URLs to try after a 401, in order: the
    /// challenge's `resource_metadata` alone when it gave one; else the
    /// well-known URI with the endpoint's path, then at the root (RFC 9728
    /// section 3.1; the path form only when there is a path).
    public static func resourceMetadataURLs(serverURL: String, challenge: BearerChallenge?) -> [String] {
        if let given = challenge?.resourceMetadata, !given.isEmpty { return [given] }
        guard let u = SplitURL(serverURL) else { return [] }
        let root = u.origin + "/.well-known/oauth-protected-resource"
        return u.path.isEmpty ? [root] : [root + u.path, root]
    }

    /// Authorization-server metadata URLs for an issuer, in the spec's order:
    /// RFC 8414 with path insertion, OIDC with path insertion, OIDC appended;
    /// without a path, RFC 8414 then OIDC.
    public static func authorizationServerMetadataURLs(issuer: String) -> [String] {
        guard let u = SplitURL(issuer) else { return [] }
        if u.path.isEmpty {
            return [u.origin + "/.well-known/oauth-authorization-server", u.origin + "/.well-known/openid-configuration"]
        }
        return [u.origin + "/.well-known/oauth-authorization-server" + u.path,
                u.origin + "/.well-known/openid-configuration" + u.path,
                u.origin + u.path + "/.well-known/openid-configuration"]
    }

    /// Whether the metadata's `resource` covers the server URL the client
    /// connects to: same origin (scheme and host compared without case), and
    /// the resource's path is the server's path or a parent of it, on a
    /// segment boundary (RFC 9728 section 3.3 asks for the identical URL; a
    /// parent is what the official SDKs accept for one server behind a path).
    public static func resourceCovers(_ resource: String, serverURL: String) -> Bool {
        guard let r = SplitURL(resource), let s = SplitURL(serverURL), r.origin == s.origin else { return false }
        return r.path.isEmpty || s.path == r.path || s.path.hasPrefix(r.path + "/")
    }

    /// The canonical URI of the server (the `resource` parameter when no
    /// metadata names one): no fragment, no query, no trailing slash.
    public static func canonicalResource(_ serverURL: String) -> String {
        guard let u = SplitURL(serverURL) else { return serverURL }
        return u.origin + u.path
    }

    /// Whether a URL may carry OAuth traffic: https, or http to a loopback
    /// host (local development and tests; basic/authorization
    /// security-considerations, "Communication Security").
    public static func isSecureEnough(_ url: String) -> Bool {
        let lower = url.lowercased()
        if lower.hasPrefix("https://") { return true }
        guard lower.hasPrefix("http://") else { return false }
        let rest = lower.dropFirst(7)
        let authority = rest.prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        let host: Substring
        if authority.hasPrefix("[") {
            host = authority.prefix(while: { $0 != "]" }).dropFirst()
        } else {
            host = authority.prefix(while: { $0 != ":" })
        }
        return host == "localhost" || host == "127.0.0.1" || host == "::1" || host.hasPrefix("127.")
    }

    /// The scopes of a first authorization (index.mdx, "Scope Selection
    /// Strategy"): the challenge's, else the metadata's scopes_supported,
    /// else none (the parameter is left out). A host's own choice comes first.
    public static func initialScopes(configured: [String]?, challenge: BearerChallenge?, resourceScopes: [String]?) -> [String] {
        if let configured, !configured.isEmpty { return configured }
        if let c = challenge?.scopes, !c.isEmpty { return c }
        return resourceScopes ?? []
    }

    /// What the authorization response's `iss` means (RFC 9207 section 2.4,
    /// index.mdx "Authorization Response Validation"): compared by simple
    /// string comparison whenever present; its absence refused only when the
    /// server said it would send it.
    public static func checkIssuerParameter(iss: String?, expected: String, advertised: Bool) -> String? {
        if let iss {
            return iss == expected ? nil : "The authorization response came from issuer \"\(iss)\", not \"\(expected)\" (mix-up refused)"
        }
        return advertised ? "The authorization response has no iss, which the authorization server promised (RFC 9207)" : nil
    }

    /// The token endpoint authentication method: the one registered (or
    /// configured), else by the server's list: client_secret_basic, then
    /// client_secret_post; RFC 8414's default is client_secret_basic. Without
    /// a secret: none.
    public static func tokenEndpointAuthMethod(registered: String?, hasSecret: Bool, supported: [String]?) -> String {
        if let registered, !registered.isEmpty { return registered }
        guard hasSecret else { return "none" }
        guard let supported, !supported.isEmpty else { return "client_secret_basic" }
        if supported.contains("client_secret_basic") { return "client_secret_basic" }
        if supported.contains("client_secret_post") { return "client_secret_post" }
        return "client_secret_basic"
    }
}

/// application/x-www-form-urlencoded, as token requests and redirect queries use it.
public enum FormEncoding {
    private static func isUnreserved(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x2E
            || c == 0x5F || c == 0x7E
    }

    public static func escape(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for c in s.utf8 {
            if isUnreserved(c) {
                out.append(c)
            } else {
                out += [0x25, hex[Int(c >> 4)], hex[Int(c & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    /// Decodes `a=b&c=d` ("+" is a space); the first value of a repeated name wins.
    public static func decode(_ query: Substring) -> [String: String] {
        var out: [String: String] = [:]
        for part in query.split(separator: "&") {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = unescape(kv[0])
            if out[k] == nil { out[k] = kv.count > 1 ? unescape(kv[1]) : "" }
        }
        return out
    }

    static func unescape(_ s: Substring) -> String {
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == 0x2B {
                out.append(0x20)
            } else if c == 0x25, it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                it = it.dropFirst(2)
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The query parameters of a URL.
    public static func query(of url: String) -> [String: String] {
        let noFragment = url.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
        guard let q = noFragment.firstIndex(of: "?") else { return [:] }
        return decode(noFragment[noFragment.index(after: q)...])
    }

    /// `url` with these parameters appended to its query.
    public static func appending(_ pairs: [(String, String)], to url: String) -> String {
        url + (url.contains("?") ? "&" : "?") + encode(pairs)
    }
}
