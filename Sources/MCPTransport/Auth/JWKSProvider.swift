import Glibc
internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOHTTP1
import MCPCore
import MCPRuntime

/// The keys that check JWT access tokens, from a file (`jwks_file`) or a URL
/// (`jwks_url`), cached. A token whose `kid` is unknown asks for a refetch,
/// granted at most once per `jwksRefetchMinIntervalMs` (so garbage `kid`s
/// cannot make the server hammer the authorization server); URL keys older
/// than `jwksCacheTtlMs` are refreshed in the background. Thread-safe.
final class JWKSProvider: Sendable {
    enum Source: Sendable {
        case file(String)
        case url(HTTPURL)
    }

    private let source: Source
    private let minIntervalNs: UInt64
    private let ttlNs: UInt64
    private let timeoutMs: Int
    private let maxBytes: Int
    /// Only for a URL source: one event loop of its own for the fetches.
    private let pool: HTTPConnectionPool?
    private let state = NIOLockedValueBox(State())

    private struct State {
        var keys: JSONWebKeySet?
        var fetchedAt: UInt64 = 0
        /// When the last fetch started (0: never), for the rate limit.
        var lastAttempt: UInt64 = 0
        /// Callers waiting for the fetch under way (nil: none under way).
        var waiters: [@Sendable (JSONWebKeySet?) -> Void]?
    }

    /// Reads a file source at once (a listener with an unreadable or invalid
    /// JWKS file does not start); a URL source starts its first fetch.
    init(config: AuthConfig) throws(HTTPServerError) {
        minIntervalNs = UInt64(max(0, config.jwksRefetchMinIntervalMs)) * 1_000_000
        ttlNs = UInt64(max(1, config.jwksCacheTtlMs)) * 1_000_000
        timeoutMs = config.jwksFetchTimeoutMs
        maxBytes = config.jwksMaxBytes
        if let path = config.jwksFile {
            source = .file(path)
            pool = nil
            switch Self.readFile(path, maxBytes: maxBytes) {
            case .success(let keys):
                state.withLockedValue {
                    $0.keys = keys
                    $0.fetchedAt = Self.now()
                    $0.lastAttempt = $0.fetchedAt
                }
            case .failure(let e): throw .invalidConfig("auth: \"jwks_file\" \(path): \(e.detail)")
            }
        } else if let text = config.jwksURL {
            let url: HTTPURL
            do { url = try HTTPURL(parsing: text) } catch {
                throw .invalidConfig("auth: \"jwks_url\" is not a usable http(s) URL: \(text)")
            }
            source = .url(url)
            var options = HTTPClientOptions()
            options.tlsCAFile = config.jwksCAFile
            do throws(TransportError) { pool = try HTTPConnectionPool(options: options, tlsNow: url.secure) } catch {
                switch error {
                case .io(let why): throw .invalidConfig("auth: cannot prepare fetching \"jwks_url\": \(why)")
                }
            }
            refetch(force: true) { _ in }
        } else {
            throw .invalidConfig("auth: no JWKS source")
        }
    }

    func shutdown() { pool?.shutdown() }

    /// The keys now (nil before a URL's first fetch succeeded); a stale URL
    /// set starts a background refresh.
    var current: JSONWebKeySet? {
        let (keys, stale) = state.withLockedValue { s in (s.keys, s.keys != nil && Self.now() - s.fetchedAt > ttlNs) }
        if stale { refetch { _ in } }
        return keys
    }

    /// Fetches (or rereads) the keys unless that happened less than the
    /// minimum interval ago; `done` gets the keys then held (the old ones when
    /// the fetch failed or was not allowed), on any thread.
    func refetch(force: Bool = false, _ done: @escaping @Sendable (JSONWebKeySet?) -> Void) {
        enum Plan { case now(JSONWebKeySet?), join, start }
        let now = Self.now()
        let plan = state.withLockedValue { s -> Plan in
            if s.waiters != nil {
                s.waiters?.append(done)
                return .join
            }
            if !force, s.lastAttempt != 0, now - s.lastAttempt < minIntervalNs { return .now(s.keys) }
            s.lastAttempt = now
            s.waiters = [done]
            return .start
        }
        switch plan {
        case .now(let keys): done(keys)
        case .join: break
        case .start: fetch()
        }
    }

    private func fetch() {
        switch source {
        case .file(let path): finish(Self.readFile(path, maxBytes: maxBytes), from: path)
        case .url(let url): fetchURL(url)
        }
    }

    private func finish(_ result: Result<JSONWebKeySet, AuthFailure>, from where_: String) {
        let waiters = state.withLockedValue { s -> [@Sendable (JSONWebKeySet?) -> Void] in
            if case .success(let keys) = result {
                s.keys = keys
                s.fetchedAt = Self.now()
            }
            defer { s.waiters = nil }
            return s.waiters ?? []
        }
        switch result {
        case .success(let keys):
            EngineLog.log(.info, "auth", "JWKS loaded", ["source": .string(where_), "keys": .int(keys.keys.count),
                                                         "skipped": .int(keys.skipped)])
        case .failure(let e):
            EngineLog.warning("auth", "JWKS fetch failed", ["source": .string(where_), "reason": .string(e.detail)])
        }
        let keys = state.withLockedValue { $0.keys }
        for w in waiters { w(keys) }
    }

    private func fetchURL(_ url: HTTPURL) {
        guard let pool else { return }
        let collected = NIOLockedValueBox<(status: UInt, body: [UInt8], over: Bool)>((0, [], false))
        let settled = NIOLockedValueBox(false)
        let maxBytes = self.maxBytes
        let timeoutMs = self.timeoutMs
        let description = url.description
        let settle: @Sendable (Result<JSONWebKeySet, AuthFailure>) -> Void = { [weak self] r in
            guard settled.withLockedValue({ s -> Bool in defer { s = true }; return !s }) else { return }
            self?.finish(r, from: description)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.hostHeader)
        headers.add(name: "Accept", value: "application/json, application/jwk-set+json")
        let exchange = pool.execute(
            HTTPClientRequest(method: .GET, url: url, headers: headers, body: nil),
            handlers: HTTPResponseHandlers(
                head: { head in collected.withLockedValue { $0.status = head.status.code } },
                body: { buffer in
                    collected.withLockedValue { c in
                        if c.body.count + buffer.readableBytes > maxBytes { c.over = true } else {
                            c.body.append(contentsOf: buffer.readableBytesView)
                        }
                    }
                },
                end: {
                    let c = collected.withLockedValue { $0 }
                    if c.status != 200 { return settle(.failure(AuthFailure(.unavailable, "HTTP status \(c.status)"))) }
                    if c.over { return settle(.failure(AuthFailure(.unavailable, "larger than \(maxBytes) bytes"))) }
                    settle(Result { () throws(AuthFailure) in try JSONWebKeySet(text: String(decoding: c.body, as: UTF8.self)) })
                },
                failure: { f in settle(.failure(AuthFailure(.unavailable, f.description))) }))
        pool.eventLoop.scheduleTask(in: .milliseconds(Int64(timeoutMs))) {
            exchange.cancel()
            settle(.failure(AuthFailure(.unavailable, "no answer within \(timeoutMs) ms")))
        }
    }

    private static func readFile(_ path: String, maxBytes: Int) -> Result<JSONWebKeySet, AuthFailure> {
        guard let f = fopen(path, "rb") else {
            return .failure(AuthFailure(.unavailable, "cannot open: \(String(cString: strerror(errno)))"))
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > maxBytes { return .failure(AuthFailure(.unavailable, "larger than \(maxBytes) bytes")) }
        }
        return Result { () throws(AuthFailure) in try JSONWebKeySet(text: String(decoding: bytes, as: UTF8.self)) }
    }

    private static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
