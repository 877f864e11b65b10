internal import Logging
import MCPCore
import MCPRuntime
internal import NIOCore
internal import NIOPosix
internal import NIOSSL
internal import PostgresNIO

/// The PostgreSQL connections of one PostgresStore, lent to one caller at a
/// time, with every wait bounded; and the one place where a synchronous
/// caller waits for PostgresNIO's futures.
///
/// Why blocking is acceptable here, and safe. The StateStore interface is
/// synchronous: a write must be committed before the engine goes on (an
/// event before it is written to the client), and its callers are the HTTP
/// listener's event-loop threads and the engine's workers. The connections
/// live on an EventLoopGroup of their own (one thread, made here, never
/// shared with the listener), so a caller that waits is never the thread its
/// answer needs: no deadlock, and `EventLoopFuture.wait`'s rule (never on the
/// future's own loop) holds by construction. What a waiting listener thread
/// costs is one round trip to PostgreSQL (as SQLite's fsync costs on that
/// thread), and every wait has a deadline (connect_timeout, or
/// statement_timeout plus 2 s), so an unreachable server stalls a thread for
/// a bounded time; PostgresStore then fails fast for `retryMs` so that only
/// one caller per interval pays that price.
///
/// Why not PostgresClient (PostgresNIO's own pool): it is async only and
/// needs a structured-concurrency task to run it, and while it cannot
/// connect it queues requests (up to its circuit breaker, 15 s) and backs off
/// for up to a minute, where the store must answer 503 at once and be back
/// within a second of the server. A lease of a PostgresConnection, which
/// PostgresNIO keeps usable with futures, gives both.
final class PostgresPool: Sendable {
    /// A failure of one statement; `broken` when the connection (or the
    /// server) is the cause, so the store is not usable now, as opposed to an
    /// error of that statement alone (a constraint, a statement timeout).
    struct Failure: Error {
        var message: String
        var broken: Bool
        /// The connection was found closed (by the server, a restart): a
        /// statement on a new connection may well succeed. Not for timeouts,
        /// which would make the caller wait twice.
        var closed = false
    }

    private struct State {
        var idle: [PostgresConnection] = []
        var open = 0  // idle + lent + connecting
        var nextID = 0
        var closed = false
    }

    let options: PostgresOptions
    private let group: MultiThreadedEventLoopGroup
    private let configuration: Result<PostgresConnection.Configuration, StoreError>
    private let state = LockedState(State())
    private let logger = Logger(label: "libmcp.store.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    init(options: PostgresOptions) {
        self.options = options
        group = EngineEventLoops.make(threads: 1)
        configuration = Result { () throws(StoreError) in try Self.makeConfiguration(options) }
    }

    private static func makeConfiguration(_ o: PostgresOptions) throws(StoreError) -> PostgresConnection.Configuration {
        var tls = PostgresConnection.Configuration.TLS.disable
        if o.tls != .disable {
            var config = TLSConfiguration.makeClientConfiguration()
            // libpq's sslmode: prefer and require encrypt without checking who answers.
            if o.tls != .verifyFull { config.certificateVerification = .none }
            do {
                let context = try NIOSSLContext(configuration: config)
                tls = o.tls == .prefer ? .prefer(context) : .require(context)
            } catch {
                throw StoreError("\(o.display): cannot set up TLS: \(error)")
            }
        }
        var c: PostgresConnection.Configuration
        switch o.endpoint {
        case .tcp(let host, let port):
            c = .init(host: host, port: port, username: o.user, password: o.password, database: o.database, tls: tls)
        case .unix(let path):
            c = .init(unixSocketPath: path, username: o.user, password: o.password, database: o.database)
        }
        c.options.connectTimeout = .milliseconds(Int64(o.connectTimeoutMs))
        // The server cancels a statement of ours that runs longer (a lock
        // held by someone else, say) rather than holding a caller's thread.
        c.options.additionalStartupParameters = [("statement_timeout", String(o.statementTimeoutMs)),
                                                 ("application_name", o.applicationName)]
        return c
    }

    // MARK: leases

    /// A connection for the caller alone, until `release`: an idle one, a new
    /// one (fewer than pool_size open), or the first one given back within
    /// connect_timeout. `reused` when it had served before (it may have been
    /// closed by the server since, unnoticed: PostgresStore then tries once
    /// more on a new one).
    func lease() throws(Failure) -> (connection: PostgresConnection, reused: Bool) {
        enum Next { case use(PostgresConnection), connect(Int), wait, closed }
        let deadline = MonotonicInstant.now().adding(milliseconds: options.connectTimeoutMs)
        while true {
            let next = state.withLock { s -> Next in
                if s.closed { return .closed }
                while let c = s.idle.popLast() {
                    if !c.isClosed { return .use(c) }
                    s.open -= 1  // closed while idle (the server restarted, say)
                    Self.closeNow(c)
                }
                guard s.open < options.poolSize else { return .wait }
                s.open += 1
                s.nextID += 1
                return .connect(s.nextID)
            }
            switch next {
            case .use(let c): return (c, true)
            case .closed: throw Failure(message: "the store is closed", broken: true)
            case .connect(let id):
                do throws(Failure) {
                    return (try connect(id: id), false)
                } catch {
                    state.withLockAndNotify { $0.open -= 1 }
                    throw error
                }
            case .wait:
                let free = state.wait(until: deadline) { $0.closed || !$0.idle.isEmpty || $0.open < options.poolSize }
                if !free {
                    // Busy, not broken: the server answers, this process asks too much of it at once.
                    throw Failure(message: "all \(options.poolSize) connections (pool_size) stayed busy for "
                        + "\(options.connectTimeoutMs) ms", broken: false)
                }
            }
        }
    }

    /// Gives a connection back; one that is broken (or closed) is closed and
    /// its place freed.
    func release(_ c: PostgresConnection, broken: Bool) {
        let drop = state.withLockAndNotify { s -> Bool in
            if s.closed || broken || c.isClosed {
                s.open -= 1
                return true
            }
            s.idle.append(c)
            return false
        }
        if drop { Self.closeNow(c) }
    }

    /// Closes every idle connection (after a broken one: they share its fate,
    /// and the next lease opens a fresh one).
    func dropIdle() {
        let idle = state.withLockAndNotify { s -> [PostgresConnection] in
            defer { s.idle = [] }
            s.open -= s.idle.count
            return s.idle
        }
        for c in idle { Self.closeNow(c) }
    }

    /// Closes the pool: idle connections now, lent ones as they come back,
    /// then the event loop. Not on the pool's own loop (nothing of ours runs there).
    func close() {
        let first = state.withLockAndNotify { s -> Bool in
            defer { s.closed = true }
            return !s.closed
        }
        guard first else { return }
        dropIdle()
        EngineEventLoops.shutDown(group)
    }

    /// Closes a connection without waiting (the future-returning close, not the async one).
    private static func closeNow(_ c: PostgresConnection) {
        let _: EventLoopFuture<Void> = c.close()
    }

    /// A connection outside the pool (not counted in pool_size, never lent):
    /// the fleet's LISTEN connection (PostgresListener). The caller closes it.
    func connectDedicated() throws(Failure) -> PostgresConnection {
        if state.withLock({ $0.closed }) { throw Failure(message: "the store is closed", broken: true) }
        return try connect(id: 0)
    }

    /// Closes a connection of `connectDedicated` without waiting.
    func closeDedicated(_ c: PostgresConnection) { Self.closeNow(c) }

    private func connect(id: Int) throws(Failure) -> PostgresConnection {
        let configuration: PostgresConnection.Configuration
        switch self.configuration {
        case .success(let c): configuration = c
        case .failure(let e): throw Failure(message: e.message, broken: true)
        }
        let future = PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger)
        // The connect timeout covers TCP; the margin covers TLS and log-in.
        let c = try wait(future, ms: options.connectTimeoutMs + 1000, what: "connecting")
        return c
    }

    // MARK: statements

    /// Runs one statement on `c` and returns its rows.
    func query(_ c: PostgresConnection, _ q: PostgresQuery) throws(Failure) -> PostgresQueryResult {
        try wait(c.query(q, logger: logger), ms: options.statementTimeoutMs + 2000, what: "waiting for an answer")
    }

    /// Blocks the calling thread (never one of the pool's loop: see the type's
    /// comment) until `future` completes or `ms` pass.
    private func wait<T: Sendable>(_ future: EventLoopFuture<T>, ms: Int, what: String) throws(Failure) -> T {
        let outcome = LockedState<Result<T, any Error>?>(nil)
        future.whenComplete { r in outcome.withLockAndNotify { $0 = r } }
        let done = outcome.wait(until: MonotonicInstant.now().adding(milliseconds: ms)) { $0 != nil }
        guard done, let result = outcome.withLock({ $0 }) else {
            throw Failure(message: "\(options.display): no answer after \(ms) ms \(what)", broken: true)
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): throw Self.failure(error, options.display)
        }
    }

    /// A PostgresNIO error in words (PSQLError's own description hides the
    /// server's message on purpose; ours is the store's, for operators), and
    /// whether the connection or the server is the cause.
    static func failure(_ error: any Error, _ display: String) -> Failure {
        guard let e = error as? PSQLError else {
            return Failure(message: "\(display): \(error)", broken: true)
        }
        if let info = e.serverInfo {
            let state = info[.sqlState] ?? "?"
            let text = "\(display): \(info[.message] ?? "error") (SQLSTATE \(state))"
            // Connection trouble (08), resources (53: disk full, too many
            // connections), operator intervention (57: shutdown, but not
            // 57014, a cancelled statement), system errors (58), internal (XX),
            // and authentication (28): the store is not usable now.
            let broken = ["08", "53", "57", "58", "XX", "28"].contains { state.hasPrefix($0) } && state != "57014"
            // 57P01: the server ended this session (shutdown, pg_terminate_backend).
            return Failure(message: text, broken: broken, closed: state == "57P01")
        }
        var text = "\(display): \(e.code)"
        if let underlying = e.underlying { text += ": \(underlying)" }
        let closedCodes: [PSQLError.Code] = [.serverClosedConnection, .clientClosedConnection, .uncleanShutdown]
        let closed = closedCodes.contains(e.code)
        return Failure(message: text, broken: true, closed: closed)
    }
}
