import MCPCore
import MCPRuntime
internal import NIOCore
internal import PostgresNIO

/// `postgres://…`: the store of a fleet, in one PostgreSQL database that
/// every node of the fleet names (PostgresOptions has the URL). The same
/// contract as SQLiteStore: every write is one statement in its own
/// transaction, committed when its call returns (with the server's
/// `synchronous_commit` at its default, `on`, that is in the server's WAL on
/// disk), so the engine shows a client nothing the store could still lose.
///
/// The same retention: a session record expires `ttlMs` after its last
/// save and its events go with it; each session keeps at most
/// `maxEventsPerSession` events (oldest first out; a replay that would have a
/// hole answers nil); a task expires at its TTL. Expired rows are pruned when
/// the store first connects and every `pruneEvery` writes of this process.
///
/// The schema (tables prefixed `mcp_`, so the database may hold others) is
/// created and migrated here (PostgresSchema), its version in
/// mcp_schema_version; a database of a newer version is refused.
///
/// A server that cannot be reached, or refuses, makes the store fail fast
/// with the error for `retryMs`; then the next use (a request, or readiness
/// through `check`) tries again, so service resumes by itself. While it is
/// healthy, `check` asks the server at most once per `retryMs` (SELECT 1), so
/// that readiness notices an outage even when no request does.
///
/// It is also a FleetStore (PostgresStore+Fleet.swift): nodes on many
/// machines sharing the database serve any request of any session, and are
/// told of each other's writes through LISTEN/NOTIFY (PostgresListener).
public final class PostgresStore: StateStore {
    let pool: PostgresPool
    var options: PostgresOptions { pool.options }
    private let health = LockedState(Health())
    /// This process in the fleet (FleetStore.nodeID).
    public let nodeID = SessionID.random()
    /// The connection that LISTENs for the fleet, once `watch` started it.
    let listener: PostgresListener

    private struct Health {
        /// The last error, and when the store last tried the server after it.
        var failure: (error: StoreError, atMs: Int64)?
        var lastOKMs: Int64 = 0
        var schemaChecked = false
        var probing = false
        var writes = 0
        var closed = false
        /// The last failure of the fleet's periodic work (`run(background:)`).
        var backgroundFailure: (error: StoreError, atMs: Int64)?
    }

    init(options: PostgresOptions) {
        let pool = PostgresPool(options: options)
        self.pool = pool
        listener = PostgresListener(pool: pool)
        _ = try? check()
    }

    /// A store for `url` (postgres://…); bad URLs throw, an unreachable server
    /// does not (it is tried again at the next use).
    public convenience init(url: String, maxEventsPerSession: Int = 1024) throws(StoreError) {
        var options = try PostgresOptions(url: url)
        options.maxEventsPerSession = max(1, maxEventsPerSession)
        self.init(options: options)
    }

    public var kind: String { "postgres" }
    public var isDurable: Bool { true }

    public func check() throws(StoreError) {
        enum Step { case pass, probe, fail(StoreError) }
        let now = Timestamp.nowMs()
        let retry = Int64(options.retryMs)
        let step = health.withLock { h -> Step in
            if h.closed { return .fail(StoreError("the store is closed")) }
            if let f = h.failure {
                if now - f.atMs < retry { return .fail(f.error) }
                // This caller tries; the others fail fast until it knows.
                h.failure?.atMs = now
                return .probe
            }
            if !h.schemaChecked || (now - h.lastOKMs >= retry && !h.probing) {
                if h.probing { return .pass }
                h.probing = true
                return .probe
            }
            return .pass
        }
        switch step {
        case .pass: return
        case .fail(let e): throw e
        case .probe:
            defer { health.withLock { $0.probing = false } }
            try run(probing: true) { c throws(PostgresPool.Failure) in
                let checked = health.withLock { $0.schemaChecked }
                if !checked {
                    try PostgresSchema.migrate(pool, c)
                    try PostgresSchema.prune(pool, c)
                    health.withLock { $0.schemaChecked = true }
                } else {
                    _ = try pool.query(c, "SELECT 1")
                }
            }
        }
    }

    public func close() {
        health.withLock { $0.closed = true }
        listener.stop()
        pool.close()
    }

    // MARK: events

    public func append(session: String, event: StoredEvent) throws(StoreError) {
        let keep = Int64(options.maxEventsPerSession - 1)  // plus the one inserted
        var data = ByteBuffer()
        data.writeBytes(event.data)
        let stream = Int64(bitPattern: event.id.stream)
        let seq = Int64(bitPattern: event.id.seq)
        // One statement: the event, then the session's oldest events beyond
        // its bound (any stream). The DELETE does not see the row the INSERT
        // adds (one snapshot), hence keep = bound - 1.
        try write { c throws(PostgresPool.Failure) in
            _ = try pool.query(c, """
                WITH ins AS (INSERT INTO mcp_events(session, stream, seq, data) VALUES (\(session), \(stream), \(seq), \(data))
                             ON CONFLICT (session, stream, seq) DO UPDATE SET data = EXCLUDED.data)
                DELETE FROM mcp_events WHERE session = \(session) AND id <= (
                  SELECT id FROM mcp_events WHERE session = \(session) ORDER BY id DESC LIMIT 1 OFFSET \(keep))
                """)
        }
    }

    public func events(session: String, stream: UInt64, after seq: UInt64) throws(StoreError) -> [StoredEvent]? {
        let rows = try run { c throws(PostgresPool.Failure) in
            try pool.query(c, """
                SELECT seq, data FROM mcp_events WHERE session = \(session) AND stream = \(Int64(bitPattern: stream))
                  AND seq >= \(Int64(bitPattern: seq)) ORDER BY seq
                """)
        }
        var found: [StoredEvent] = []
        for row in rows {
            guard let (s, data) = try? row.decode((Int64, ByteBuffer).self) else {
                throw StoreError("\(options.display): unreadable row in mcp_events")
            }
            found.append(StoredEvent(id: EventID(stream: stream, seq: UInt64(bitPattern: s)),
                                     data: data.getBytes(at: data.readerIndex, length: data.readableBytes) ?? []))
        }
        // No event at or after `seq`: the stream is unknown or its events up
        // to `seq` are gone. Events of a stream are numbered without gaps and
        // dropped oldest first, so the first one after `seq` missing is a hole.
        guard !found.isEmpty else { return nil }
        if found[0].id.seq == seq { found.removeFirst() }
        if let first = found.first, first.id.seq != seq &+ 1 { return nil }
        return found
    }

    public func removeSession(_ session: String) {
        try? write { c throws(PostgresPool.Failure) in
            _ = try pool.query(c, """
                WITH e AS (DELETE FROM mcp_events WHERE session = \(session)),
                     st AS (DELETE FROM mcp_streams WHERE session = \(session)),
                     n AS (DELETE FROM mcp_counters WHERE session = \(session))
                DELETE FROM mcp_sessions WHERE id = \(session)
                """)
        }
    }

    public func lastSeqs(session: String) throws(StoreError) -> [UInt64: UInt64] {
        let rows = try run { c throws(PostgresPool.Failure) in
            try pool.query(c, "SELECT stream, max(seq) FROM mcp_events WHERE session = \(session) GROUP BY stream")
        }
        var heads: [UInt64: UInt64] = [:]
        for row in rows {
            guard let (stream, seq) = try? row.decode((Int64, Int64).self) else { continue }
            heads[UInt64(bitPattern: stream)] = UInt64(bitPattern: seq)
        }
        return heads
    }

    // MARK: sessions

    public func saveSession(_ record: SessionRecord, ttlMs: Int) throws(StoreError) {
        let expires = Timestamp.nowMs() + Int64(ttlMs)
        let text = JSONSerializer.string(record.json)
        try write { c throws(PostgresPool.Failure) in
            _ = try pool.query(c, """
                INSERT INTO mcp_sessions(id, record, expires_at) VALUES (\(record.id), \(text), \(expires))
                ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at
                """)
        }
    }

    public func loadSession(_ id: String) throws(StoreError) -> SessionRecord? {
        let now = Timestamp.nowMs()
        let rows = try run { c throws(PostgresPool.Failure) in
            try pool.query(c, "SELECT record FROM mcp_sessions WHERE id = \(id) AND expires_at > \(now)")
        }
        guard let row = rows.first, let text = try? row.decode(String.self),
              let json = try? JSONParser.parse(text)
        else { return nil }
        return SessionRecord(id: id, json: json)
    }

    // MARK: tasks

    public func saveTask(_ task: StoredTask) throws(StoreError) {
        let body = JSONSerializer.string(task.body)
        // `node`: which process runs it, so a surviving one marks it failed
        // if that process dies (reapExpired).
        try write { c throws(PostgresPool.Failure) in
            _ = try pool.query(c, """
                INSERT INTO mcp_tasks(id, owner, body, expires_at, node)
                  VALUES (\(task.id), \(task.ownerSessionID), \(body), \(task.expiresAtMs), \(nodeID))
                ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, body = EXCLUDED.body, expires_at = EXCLUDED.expires_at,
                                               node = EXCLUDED.node
                """)
        }
    }

    public func loadTask(_ id: String) throws(StoreError) -> StoredTask? {
        let now = Timestamp.nowMs()
        let rows = try run { c throws(PostgresPool.Failure) in
            try pool.query(c, "SELECT owner, body, expires_at FROM mcp_tasks WHERE id = \(id) AND expires_at > \(now)")
        }
        guard let row = rows.first, let (owner, body, expires) = try? row.decode((String?, String, Int64).self),
              let json = try? JSONParser.parse(body)
        else { return nil }
        return StoredTask(id: id, ownerSessionID: owner, expiresAtMs: expires, body: json)
    }

    public func removeTask(_ id: String) {
        try? write { c throws(PostgresPool.Failure) in _ = try pool.query(c, "DELETE FROM mcp_tasks WHERE id = \(id)") }
    }

    // MARK: running statements

    /// A write; every `pruneEvery` writes also drops what expired (after the
    /// write, on the same connection, in a statement of its own).
    @discardableResult
    func write<R>(background: Bool = false,
                  _ body: (PostgresConnection) throws(PostgresPool.Failure) -> R) throws(StoreError) -> R
    {
        let prune = health.withLock { h -> Bool in
            h.writes += 1
            return h.writes % max(1, options.pruneEvery) == 0
        }
        return try run(background: background) { c throws(PostgresPool.Failure) -> R in
            let r = try body(c)
            if prune { try PostgresSchema.prune(pool, c) }
            return r
        }
    }

    /// Runs `body` on a leased connection once the store is known usable
    /// (check, unless this is check's own probe). A broken connection or
    /// server makes the store fail fast for retryMs and closes the idle
    /// connections; an error of the statement alone is only thrown.
    func run<R>(probing: Bool = false, background: Bool = false,
                _ body: (PostgresConnection) throws(PostgresPool.Failure) -> R) throws(StoreError) -> R
    {
        if background { return try runInBackground(body) }
        if !probing { try check() }
        do throws(PostgresPool.Failure) {
            let r = try attempt(body, again: true)
            let recovered = health.withLock { h -> Bool in
                defer {
                    h.lastOKMs = Timestamp.nowMs()
                    h.failure = nil
                }
                return h.failure != nil
            }
            if recovered { EngineLog.info("store", "postgres store is back", ["store": .string(options.display)]) }
            return r
        } catch {
            let e = StoreError(error.message)
            if error.broken {
                pool.dropIdle()
                let first = health.withLock { h -> Bool in
                    defer {
                        h.failure = (e, Timestamp.nowMs())
                        h.schemaChecked = false  // a newer node may have migrated it meanwhile
                    }
                    return h.failure == nil
                }
                if first {
                    EngineLog.warning("store", "postgres store failed", ["store": .string(options.display),
                                                                          "error": .string(e.message)])
                }
            }
            throw e
        }
    }

    /// The fleet's periodic work (FleetRelay: poll, lease, reaping), every
    /// fleet_poll_ms whether or not requests come: it does not wait on a
    /// store known to be down (requests' failure, or its own, within
    /// retryMs), and its own failure does not make requests fail fast (a
    /// PostgreSQL restart between two polls must cost no request an error;
    /// a request finds the store down by itself, or readiness does).
    private func runInBackground<R>(_ body: (PostgresConnection) throws(PostgresPool.Failure) -> R) throws(StoreError) -> R {
        let now = Timestamp.nowMs()
        let retry = Int64(options.retryMs)
        // Not connected since the start or since a request found it down:
        // the usual way back (at most one probe per retryMs, the schema checked).
        if !health.withLock({ $0.schemaChecked }) { try check() }
        let kept = health.withLock { h -> StoreError? in
            if h.closed { return StoreError("the store is closed") }
            if let f = h.failure, now - f.atMs < retry { return f.error }
            if let b = h.backgroundFailure, now - b.atMs < retry { return b.error }
            return nil
        }
        if let kept { throw kept }
        do throws(PostgresPool.Failure) {
            let r = try attempt(body, again: true)
            health.withLock { $0.backgroundFailure = nil }
            return r
        } catch {
            let e = StoreError(error.message)
            if error.broken {
                pool.dropIdle()
                health.withLock { $0.backgroundFailure = (e, now) }
            }
            throw e
        }
    }

    /// `body` on a leased connection. A statement that found its (idle,
    /// reused) connection closed by the server meanwhile (it restarted, or
    /// ended idle sessions) gets one more try (`again`) on a new one, so a
    /// restart of PostgreSQL costs no request an error; safe to repeat, as
    /// every write here is an upsert or a delete.
    private func attempt<R>(_ body: (PostgresConnection) throws(PostgresPool.Failure) -> R,
                            again: Bool) throws(PostgresPool.Failure) -> R
    {
        let (c, reused) = try pool.lease()
        do throws(PostgresPool.Failure) {
            let r = try body(c)
            pool.release(c, broken: false)
            return r
        } catch {
            pool.release(c, broken: error.broken)
            guard error.closed, reused, again else { throw error }
            pool.dropIdle()
        }
        return try attempt(body, again: false)
    }
}
