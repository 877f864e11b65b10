internal import NIOHTTP1

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
    let hosts: AllowList?
    let origins: AllowList

    static let loopbackNames = ["localhost", "127.0.0.1", "[::1]"]

    init(config: HTTPServerConfig) {
        if let h = config.allowedHosts {
            hosts = AllowList(h, hasScheme: false)
        } else if ["0.0.0.0", "::", "[::]", ""].contains(config.host) {
            hosts = nil
        } else {
            var names = Self.loopbackNames
            let bound = config.host.contains(":") && !config.host.hasPrefix("[") ? "[\(config.host)]" : config.host
            if !names.contains(bound.lowercased()) { names.append(bound.lowercased()) }
            hosts = AllowList(names, hasScheme: false)
        }
        origins = AllowList(config.allowedOrigins ?? Self.loopbackNames.flatMap { ["http://\($0)", "https://\($0)"] },
                            hasScheme: true)
    }

    init(hosts: [String]?, origins: [String]) {
        self.hosts = hosts.map { AllowList($0, hasScheme: false) }
        self.origins = AllowList(origins, hasScheme: true)
    }

    /// The check of a whole request head: nil when allowed, else the status
    /// (400 for a repeated Host or Origin, 403 for a refused value) and the
    /// reason. A repeated header is refused rather than judged by its first
    /// line: a proxy or a framework behind it may read another line than we do.
    func check(_ headers: HTTPHeaders) -> (status: HTTPResponseStatus, reason: String)? {
        // One pass over the headers, names compared byte by byte (this runs
        // for every request: four lookups and two arrays cost ~2K instructions).
        var host: String?
        var origin: String?
        for (name, value) in headers {
            if Self.isName(name, "host") {
                if host != nil { return (.badRequest, "More than one Host header") }
                host = value
            } else if Self.isName(name, "origin") {
                if origin != nil { return (.badRequest, "More than one Origin header") }
                origin = value
            }
        }
        return check(host: host, origin: origin).map { (.forbidden, $0) }
    }

    /// Whether a header name is `lower` (given in lowercase), in any case.
    private static func isName(_ name: String, _ lower: StaticString) -> Bool {
        guard name.utf8.count == lower.utf8CodeUnitCount else { return false }
        var n = name
        return n.withUTF8 { b in
            for i in 0..<b.count {
                let c = b[i]
                if (c >= 0x41 && c <= 0x5A ? c + 0x20 : c) != lower.utf8Start[i] { return false }
            }
            return true
        }
    }

    /// nil when allowed, else the reason (sent in the 403 body).
    func check(host: String?, origin: String?) -> String? {
        if let hosts {
            guard let host, !host.isEmpty else { return "Missing Host header" }
            if !hosts.allows(host) { return "Host not allowed: \(host)" }
        }
        if let origin, !origins.allows(origin) { return "Origin not allowed: \(origin)" }
        return nil
    }

    /// Entries split once into "any port" names and exact "name:port" values,
    /// so a check is two set lookups (it runs for every request).
    struct AllowList: Sendable {
        let any: Bool
        let anyPort: Set<String>
        /// `anyPort` as bytes, for the "name:port" scan.
        private let anyPortBytes: [[UInt8]]
        let exact: Set<String>
        let hasScheme: Bool

        init(_ entries: [String], hasScheme: Bool) {
            self.hasScheme = hasScheme
            var anyPort = Set<String>()
            var exact = Set<String>()
            for e in entries.map({ $0.lowercased() }) {
                let (base, port) = OriginPolicy.splitPort(e, hasScheme: hasScheme)
                if port == nil { anyPort.insert(base) } else { exact.insert(e) }
            }
            any = entries.contains("*")
            self.anyPort = anyPort
            anyPortBytes = anyPort.map { Array($0.utf8) }
            self.exact = exact
        }

        func allows(_ raw: String) -> Bool {
            if any { return true }
            var value = raw.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? raw.lowercased() : raw
            if !exact.isEmpty, exact.contains(value) { return true }
            // The any-port names, bare or with ":digits", compared as bytes
            // without hashing or new strings (this runs for every request;
            // the lists are short).
            return value.withUTF8 { u in
                for name in anyPortBytes where u.count >= name.count && Self.hasPrefix(u, name) {
                    if u.count == name.count { return true }
                    guard u.count > name.count + 1, u[name.count] == UInt8(ascii: ":") else { continue }
                    if u[(name.count + 1)...].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return true }
                }
                return false
            }
        }

        private static func hasPrefix(_ u: UnsafeBufferPointer<UInt8>, _ name: [UInt8]) -> Bool {
            for i in 0..<name.count where u[i] != name[i] { return false }
            return true
        }
    }

    /// Splits a trailing ":digits" port off; IPv6 brackets are respected.
    static func splitPort(_ s: String, hasScheme: Bool) -> (String, String?) {
        let u = s.utf8
        var authorityStart = u.startIndex
        if hasScheme, let colon = u.firstIndex(of: UInt8(ascii: ":")),
           u[colon...].starts(with: "://".utf8)
        {
            authorityStart = u.index(colon, offsetBy: 3)
        }
        guard let colon = u.lastIndex(of: UInt8(ascii: ":")), colon >= authorityStart else { return (s, nil) }
        let port = u[u.index(after: colon)...]
        if let close = u.lastIndex(of: UInt8(ascii: "]")), close > colon { return (s, nil) }
        guard !port.isEmpty, port.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return (s, nil) }
        return (String(s[..<colon]) , String(s[u.index(after: colon)...]))
    }
}
