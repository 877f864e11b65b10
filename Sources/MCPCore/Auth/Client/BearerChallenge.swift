/// One `Bearer` challenge of a WWW-Authenticate header (RFC 6750 section 3,
/// RFC 9728 section 5.1): what a 401 or 403 tells an OAuth client about where
/// to look and which scopes to ask for.
public struct BearerChallenge: Sendable, Equatable {
    /// The protected-resource metadata URL (RFC 9728 `resource_metadata`).
    public var resourceMetadata: String?
    /// The scopes the operation needs, space-separated as sent.
    public var scope: String?
    /// `invalid_token`, `insufficient_scope`, ...
    public var error: String?

    public init(resourceMetadata: String? = nil, scope: String? = nil, error: String? = nil) {
        self.resourceMetadata = resourceMetadata
        self.scope = scope
        self.error = error
    }

    /// The scope list, split on spaces.
    public var scopes: [String] { scope.map(OAuthScopes.split) ?? [] }

    /// Reads the Bearer challenge out of the values of every WWW-Authenticate
    /// header: nil when none names the Bearer scheme. Parameters are
    /// `name=token` or `name="quoted string"` (RFC 9110 section 11.2), comma
    /// separated; other schemes in the same header are skipped.
    public static func parse(_ headerValues: [String]) -> BearerChallenge? {
        for value in headerValues {
            if let c = parseOne(Array(value.utf8)) { return c }
        }
        return nil
    }

    private static func parseOne(_ s: [UInt8]) -> BearerChallenge? {
        var i = 0
        var inBearer = false
        var found: BearerChallenge?
        var current = BearerChallenge()
        func skipSpaces() { while i < s.count, s[i] == 0x20 || s[i] == 0x09 { i += 1 } }
        func isTokenChar(_ c: UInt8) -> Bool {
            c > 0x20 && c < 0x7F && c != 0x2C && c != 0x3D && c != 0x22
        }
        while i < s.count {
            skipSpaces()
            if i < s.count, s[i] == 0x2C { i += 1; continue }
            let start = i
            while i < s.count, isTokenChar(s[i]) { i += 1 }
            let word = String(decoding: s[start..<i], as: UTF8.self)
            skipSpaces()
            if i < s.count, s[i] == 0x3D, !word.isEmpty {
                // A parameter of the current scheme (or token68 padding: "=").
                i += 1
                skipSpaces()
                var value: [UInt8] = []
                if i < s.count, s[i] == 0x22 {
                    i += 1
                    while i < s.count, s[i] != 0x22 {
                        if s[i] == 0x5C, i + 1 < s.count { i += 1 }
                        value.append(s[i])
                        i += 1
                    }
                    i += 1
                } else {
                    while i < s.count, s[i] != 0x2C, s[i] != 0x20, s[i] != 0x09 {
                        value.append(s[i])
                        i += 1
                    }
                }
                if inBearer {
                    let v = String(decoding: value, as: UTF8.self)
                    switch word.lowercased() {
                    case "resource_metadata": current.resourceMetadata = v
                    case "scope": current.scope = v
                    case "error": current.error = v
                    default: break
                    }
                }
            } else if !word.isEmpty {
                // A new scheme starts.
                if inBearer { found = found ?? current }
                inBearer = word.lowercased() == "bearer"
                current = BearerChallenge()
            } else {
                i += 1
            }
        }
        if inBearer { found = found ?? current }
        return found
    }
}

/// Scope strings: space-separated lists (RFC 6749 section 3.3).
public enum OAuthScopes {
    public static func split(_ s: String) -> [String] {
        s.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }

    /// `a` then the members of `b` not already in it, in order.
    public static func union(_ a: [String], _ b: [String]) -> [String] {
        var out = a
        for x in b where !out.contains(x) { out.append(x) }
        return out
    }
}
