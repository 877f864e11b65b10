/// DNS-rebinding defence: the Host and Origin headers of every request are
/// checked against allow-lists (403 otherwise). A page on evil.example that
/// resolves its name to 127.0.0.1 still sends `Host: evil.example` and
/// `Origin: http://evil.example`, so both checks stop it.
///
/// Entries: "*" allows anything; a host entry "name" allows that name on any
/// port and "name:port" only that port; an origin entry "scheme://name" allows
/// any port and "scheme://name:port" only that one. Comparison ignores case.
struct OriginPolicy: Sendable {
    /// nil: no Host check (bound to a wildcard address and no list given).
    let hosts: [String]?
    let origins: [String]

    static let loopbackNames = ["localhost", "127.0.0.1", "[::1]"]

    init(config: HTTPServerConfig) {
        if let h = config.allowedHosts {
            hosts = h.map { $0.lowercased() }
        } else if ["0.0.0.0", "::", "[::]", ""].contains(config.host) {
            hosts = nil
        } else {
            var names = Self.loopbackNames
            let bound = config.host.contains(":") && !config.host.hasPrefix("[") ? "[\(config.host)]" : config.host
            if !names.contains(bound.lowercased()) { names.append(bound.lowercased()) }
            hosts = names
        }
        origins = (config.allowedOrigins ?? Self.loopbackNames.flatMap { ["http://\($0)", "https://\($0)"] })
            .map { $0.lowercased() }
    }

    init(hosts: [String]?, origins: [String]) {
        self.hosts = hosts?.map { $0.lowercased() }
        self.origins = origins.map { $0.lowercased() }
    }

    /// nil when allowed, else the reason (sent in the 403 body).
    func check(host: String?, origin: String?) -> String? {
        if let hosts {
            guard let host, !host.isEmpty else { return "Missing Host header" }
            if !Self.matches(host.lowercased(), hosts, hasScheme: false) { return "Host not allowed: \(host)" }
        }
        if let origin {
            if !Self.matches(origin.lowercased(), origins, hasScheme: true) { return "Origin not allowed: \(origin)" }
        }
        return nil
    }

    /// `value` is "name[:port]" or, with a scheme, "scheme://name[:port]".
    private static func matches(_ value: String, _ entries: [String], hasScheme: Bool) -> Bool {
        let (base, _) = splitPort(value, hasScheme: hasScheme)
        for e in entries {
            if e == "*" || e == value { return true }
            let (eBase, ePort) = splitPort(e, hasScheme: hasScheme)
            if ePort == nil, eBase == base { return true }
        }
        return false
    }

    /// Splits a trailing ":digits" port off; IPv6 brackets are respected.
    static func splitPort(_ s: String, hasScheme: Bool) -> (String, String?) {
        var authorityStart = s.startIndex
        if hasScheme, let colon = s.firstIndex(of: ":"), s[colon...].hasPrefix("://") {
            authorityStart = s.index(colon, offsetBy: 3)
        }
        guard let colon = s.lastIndex(of: ":"), colon >= authorityStart else { return (s, nil) }
        let port = s[s.index(after: colon)...]
        if let close = s.lastIndex(of: "]"), close > colon { return (s, nil) }
        guard !port.isEmpty, port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber) else { return (s, nil) }
        return (String(s[..<colon]), String(port))
    }
}
