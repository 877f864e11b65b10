import MCPCore

/// What a `postgres://` store URL says: where the server is, who to log in
/// as, and the pool's limits. The URL has libpq's shape, so one written for
/// psql works here:
///
///   postgres[ql]://[USER[:PASSWORD]@][HOST][:PORT][/DATABASE][?PARAM=VALUE&...]
///
/// USER, PASSWORD and DATABASE are percent-decoded (a `@`, `:` or `/` in a
/// password is written %40, %3A, %2F). HOST may be `[v6 address]`; an empty
/// HOST means the local Unix socket directory /var/run/postgresql (Debian's).
/// DATABASE defaults to USER. Parameters (each bound has a default):
///   sslmode=disable|prefer|require|verify-full   [prefer] libpq's meaning:
///       prefer and require encrypt without checking the certificate (prefer
///       falls back to plain text); verify-full checks it against the system's
///       trust store and HOST.
///   host=/DIR            a Unix socket directory (or a host name) instead of HOST
///   pool_size=N          connections this process keeps at most [8] (1...1000)
///   connect_timeout=S    seconds to connect and log in; also the longest wait
///                        for a free connection of the pool [5] (libpq's name)
///   statement_timeout=MS the server's statement_timeout for this store's
///                        statements [5000]; the client gives up 2 s later
///   application_name=X   shown in pg_stat_activity [libmcp]
struct PostgresOptions: Sendable {
    enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    enum TLSMode: String, Sendable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    var endpoint: Endpoint
    var user: String
    var password: String?
    var database: String
    var tls = TLSMode.prefer
    var poolSize = 8
    var connectTimeoutMs = 5000
    var statementTimeoutMs = 5000
    var applicationName = "libmcp"
    // Set from the listener's configuration, not from the URL.
    var maxEventsPerSession = 1024
    var retryMs = 1000
    var pruneEvery = 1000

    /// USER@HOST:PORT/DATABASE: names the store in messages and logs (never
    /// the password).
    var display: String {
        switch endpoint {
        case .tcp(let host, let port):
            return "\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
        case .unix(let path): return "\(user)@unix:\(path)/\(database)"
        }
    }

    /// Parses a store URL; the error says what is wrong and never repeats the password.
    init(url text: String) throws(StoreError) {
        guard let scheme = ["postgres://", "postgresql://"].first(where: { text.hasPrefix($0) }) else {
            throw StoreError("expected postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var userInfo: Substring = ""
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        func decoded(_ s: Substring, _ what: String) throws(StoreError) -> String {
            guard let d = String(s).removingPercentEncoding(plusIsSpace: false), !d.contains("\0") else {
                throw StoreError("the \(what) has a malformed %-escape")
            }
            return d
        }
        if let colon = userInfo.firstIndex(of: ":") {
            user = try decoded(userInfo[..<colon], "user name")
            password = try decoded(userInfo[userInfo.index(after: colon)...], "password")
        } else {
            user = try decoded(userInfo, "user name")
        }
        guard !user.isEmpty else {
            throw StoreError("needs a user, as in postgres://mcp:PASSWORD@db.example:5432/mcp")
        }
        database = path.isEmpty ? user : try decoded(path, "database name")

        // HOST[:PORT], with [v6] in brackets.
        var host: String
        var portText: Substring?
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw StoreError("unexpected \"\(after)\" after the host")
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        } else {
            host = String(rest)
        }
        var port = 5432
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw StoreError("the port \"\(portText)\" is not a number from 1 to 65535")
            }
            port = p
        }

        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(kv[0])
            let value = try decoded(kv.count > 1 ? kv[1] : "", "parameter \(name)")
            func number(_ range: ClosedRange<Int>) throws(StoreError) -> Int {
                guard let n = Int(value), range.contains(n) else {
                    throw StoreError("\(name)=\(value): expected a whole number from \(range.lowerBound) to \(range.upperBound)")
                }
                return n
            }
            switch name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw StoreError("sslmode=\(value): expected disable, prefer, require or verify-full")
                }
                tls = mode
            case "host": host = value
            case "pool_size": poolSize = try number(1...1000)
            case "connect_timeout": connectTimeoutMs = try number(1...3600) * 1000
            case "statement_timeout": statementTimeoutMs = try number(1...3_600_000)
            case "application_name": applicationName = value
            default:
                throw StoreError("unknown parameter \"\(name)\" (sslmode, host, pool_size, connect_timeout, "
                    + "statement_timeout, application_name)")
            }
        }
        if host.isEmpty { host = "/var/run/postgresql" }
        // libpq's rule: a host that starts with a slash is a socket directory.
        endpoint = host.hasPrefix("/") ? .unix(path: "\(host)/.s.PGSQL.\(port)") : .tcp(host: host, port: port)
    }

    /// `text` with the password (if any) replaced by ***, for messages and logs.
    static func redacted(_ text: String) -> String {
        guard let scheme = text.firstRange(of: "://") else { return text }
        let afterScheme = text[scheme.upperBound...]
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return text }
        return String(text[..<authority.index(after: colon)]) + "***" + String(text[at...])
    }
}
