/// An http or https URL split into what an HTTP/1.1 client needs: where to
/// connect (host, port, TLS or not) and what to ask for (the request target).
/// Only the forms an MCP endpoint uses are accepted: no user info, no
/// fragment (dropped), a host that is a name, an IPv4 address or a bracketed
/// IPv6 address.
public struct HTTPURL: Sendable, Hashable, CustomStringConvertible {
    public var secure: Bool
    /// The host as it is connected to: IPv6 addresses without brackets.
    public var host: String
    public var port: Int
    /// Path and query, never empty ("/" at least).
    public var target: String

    public init(secure: Bool, host: String, port: Int, target: String) {
        self.secure = secure
        self.host = host
        self.port = port
        self.target = target
    }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init(parsing text: String) throws(ParseError) {
        let lower = text.lowercased()
        let rest: Substring
        if lower.hasPrefix("http://") {
            secure = false
            rest = text.dropFirst(7)
        } else if lower.hasPrefix("https://") {
            secure = true
            rest = text.dropFirst(8)
        } else {
            throw ParseError(description: "URL must start with http:// or https://: \(text)")
        }
        guard !text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw ParseError(description: "URL must not contain spaces or control characters")
        }
        let withoutFragment = rest.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let authorityEnd = withoutFragment.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? withoutFragment.endIndex
        let authority = withoutFragment[..<authorityEnd]
        var path = String(withoutFragment[authorityEnd...])
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        guard !authority.contains("@") else { throw ParseError(description: "URL must not hold user information") }

        var hostPart: Substring
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw ParseError(description: "Unterminated IPv6 address in URL")
            }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw ParseError(description: "Bad authority in URL: \(authority)") }
                portPart = after.dropFirst()
            }
        } else {
            let pieces = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw ParseError(description: "Bad authority in URL: \(authority)") }
            hostPart = pieces[0]
            portPart = pieces.count == 2 ? pieces[1] : nil
        }
        guard !hostPart.isEmpty else { throw ParseError(description: "URL has no host: \(text)") }
        var port = secure ? 443 : 80
        if let portPart, !portPart.isEmpty {
            guard portPart.allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int(portPart), (1...65535).contains(p) else {
                throw ParseError(description: "Bad port in URL: \(portPart)")
            }
            port = p
        }
        host = String(hostPart)
        self.port = port
        target = path
    }

    /// The Host header: brackets around IPv6, the port only when not the default.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? h : "\(h):\(port)"
    }

    /// Where to connect and with which security, for reusing connections.
    public var origin: Origin { Origin(secure: secure, host: host, port: port) }

    public struct Origin: Sendable, Hashable {
        public var secure: Bool
        public var host: String
        public var port: Int
    }

    public var description: String { "\(secure ? "https" : "http")://\(hostHeader)\(target)" }

    /// Resolves a URI reference against this URL (RFC 3986 section 5.2), as the
    /// legacy transport's `endpoint` event requires: absolute URLs, "//host",
    /// "/path", "?query" and relative paths.
    public func resolving(_ reference: String) throws(ParseError) -> HTTPURL {
        let ref = reference.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let lower = ref.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return try HTTPURL(parsing: String(ref)) }
        if ref.hasPrefix("//") { return try HTTPURL(parsing: (secure ? "https:" : "http:") + ref) }
        guard !ref.contains(where: { $0 == " " || $0.isNewline }) else {
            throw ParseError(description: "Bad URI reference: \(reference)")
        }
        var out = self
        let (basePath, _) = Self.splitQuery(Substring(target))
        if ref.isEmpty { return out }
        if ref.hasPrefix("?") {
            out.target = String(basePath) + ref
            return out
        }
        let (refPath, refQuery) = Self.splitQuery(ref)
        var merged: String
        if refPath.hasPrefix("/") {
            merged = String(refPath)
        } else if let slash = basePath.lastIndex(of: "/") {
            merged = String(basePath[...slash]) + refPath
        } else {
            merged = "/" + refPath
        }
        merged = Self.removeDotSegments(merged)
        out.target = merged + (refQuery.map { "?" + $0 } ?? "")
        return out
    }

    private static func splitQuery(_ s: Substring) -> (Substring, Substring?) {
        guard let q = s.firstIndex(of: "?") else { return (s, nil) }
        return (s[..<q], s[s.index(after: q)...])
    }

    /// RFC 3986 section 5.2.4, on an absolute path.
    static func removeDotSegments(_ path: String) -> String {
        var output: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (i, seg) in segments.enumerated() {
            let last = i == segments.count - 1
            switch seg {
            case ".":
                if last { output.append("") }
            case "..":
                if !output.isEmpty { output.removeLast() }
                if last { output.append("") }
            default:
                output.append(seg)
            }
        }
        return "/" + output.joined(separator: "/")
    }
}
