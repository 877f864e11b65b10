import MCPCore
import MCPRuntime

/// `sqlite:PATH`: the durable store on one machine, in one SQLite file in WAL
/// mode (several processes may share it; SQLite's file locks serialise their
/// writes, `busy_timeout` waits for them). Every write is committed before
/// its call returns, with `synchronous=FULL` by default (on disk, fsynced:
/// survives a power cut) or `?synchronous=normal` (survives a process crash,
/// not a power cut; much cheaper).
///
/// Retention is bounded: a session record expires `ttlMs` after its last
/// save (SessionStoreSlot), its events go with it, each session keeps at most
/// `maxEventsPerSession` events (oldest first out; a replay that would have a
/// hole answers nil), and a task expires at its TTL. Expired rows are pruned
/// when the store opens and every `pruneEvery` writes.
///
/// The schema is created and migrated here, its version in `PRAGMA
/// user_version`; a file of a newer version is refused (never guessed at).
///
/// A store that cannot open or write (missing directory, read-only file, full
/// disk) throws StoreError; it closes its connection and opens it again at
/// the next use after `retryMs`, so service resumes by itself.
///
/// It is also a FleetStore (SQLiteStore+Fleet.swift): several processes on
/// one machine sharing the file serve any request of any session.
public final class SQLiteStore: StateStore {
    public struct Options: Sendable {
        public var path: String
        public var fullSync = true
        public var maxEventsPerSession = 1024
        public var busyTimeoutMs = 5000
        public var retryMs = 1000
        public var pruneEvery = 1000
        public init(path: String) { self.path = path }
    }

    /// The schema this code writes; older files are migrated up to it.
    public static let schemaVersion: Int64 = 2

    let options: Options
    let state: LockedState<State>
    /// This process in the fleet (FleetStore.nodeID).
    public let nodeID = SessionID.random()

    struct State {
        var db: SQLiteDatabase?
        var failure: (error: StoreError, atMs: Int64)?
        var writes = 0
        var closed = false
        /// Whether this connection wrote since the last look for changes
        /// (its own commits do not change `PRAGMA data_version`).
        var wroteSince = true
    }
    /// `PRAGMA data_version` at the last look for changes (FleetStore.poll);
    /// its own lock, as it is read while `state`'s is held.
    let seenDataVersion = LockedState<Int64>(-1)

    /// Opens the store now if it can; a failure is kept and tried again at
    /// the next use (check), so a server may start while its store is away.
    public init(options: Options) {
        self.options = options
        state = LockedState(State())
        _ = try? check()
    }

    public var kind: String { "sqlite" }
    public var isDurable: Bool { true }

    public func check() throws(StoreError) {
        try withDatabase { _ throws(StoreError) in }
    }

    public func close() {
        state.withLock { s in
            s.db = nil
            s.closed = true
        }
    }

    // MARK: events

    public func append(session: String, event: StoredEvent) throws(StoreError) {
        try write { db throws(StoreError) in try insert(db, session: session, event: event) }
    }

    /// Keeps one event and drops the oldest events of the session beyond its
    /// bound (any stream). Inside a write.
    func insert(_ db: SQLiteDatabase, session: String, event: StoredEvent) throws(StoreError) {
        try db.run("INSERT OR REPLACE INTO events(session, stream, seq, data) VALUES (?, ?, ?, ?)",
                   [.text(session), .int(Int64(bitPattern: event.id.stream)), .int(Int64(bitPattern: event.id.seq)),
                    .blob(event.data)])
        try db.run("""
            DELETE FROM events WHERE session = ?1 AND rowid <= (
              SELECT rowid FROM events WHERE session = ?1 ORDER BY rowid DESC LIMIT 1 OFFSET ?2)
            """, [.text(session), .int(Int64(options.maxEventsPerSession))])
    }

    public func events(session: String, stream: UInt64, after seq: UInt64) throws(StoreError) -> [StoredEvent]? {
        try withDatabase { db throws(StoreError) -> [StoredEvent]? in
            var last: Int64?
            try db.run("SELECT max(seq) FROM events WHERE session = ? AND stream = ?",
                       [.text(session), .int(Int64(bitPattern: stream))]) { row in
                if row.text(0) != nil { last = row.int(0) }
            }
            guard let last, UInt64(bitPattern: last) >= seq else { return nil }
            var found: [StoredEvent] = []
            try db.run("SELECT seq, data FROM events WHERE session = ? AND stream = ? AND seq > ? ORDER BY seq",
                       [.text(session), .int(Int64(bitPattern: stream)), .int(Int64(bitPattern: seq))]) { row in
                found.append(StoredEvent(id: EventID(stream: stream, seq: UInt64(bitPattern: row.int(0))),
                                         data: row.blob(1)))
            }
            // Events of a stream are numbered without gaps and dropped oldest
            // first: the first one after `seq` missing means a hole.
            if let first = found.first, first.id.seq != seq + 1 { return nil }
            return found
        }
    }

    public func removeSession(_ session: String) {
        try? write { db throws(StoreError) in
            try db.run("DELETE FROM events WHERE session = ?", [.text(session)])
            try db.run("DELETE FROM streams WHERE session = ?", [.text(session)])
            try db.run("DELETE FROM sessions WHERE id = ?", [.text(session)])
        }
    }

    public func lastSeqs(session: String) throws(StoreError) -> [UInt64: UInt64] {
        try withDatabase { db throws(StoreError) -> [UInt64: UInt64] in
            var heads: [UInt64: UInt64] = [:]
            try db.run("SELECT stream, max(seq) FROM events WHERE session = ? GROUP BY stream", [.text(session)]) { row in
                heads[UInt64(bitPattern: row.int(0))] = UInt64(bitPattern: row.int(1))
            }
            return heads
        }
    }

    // MARK: sessions

    public func saveSession(_ record: SessionRecord, ttlMs: Int) throws(StoreError) {
        let expires = Timestamp.nowMs() + Int64(ttlMs)
        try write { db throws(StoreError) in
            try db.run("INSERT OR REPLACE INTO sessions(id, record, expires_at) VALUES (?, ?, ?)",
                       [.text(record.id), .text(JSONSerializer.string(record.json)), .int(expires)])
        }
    }

    public func loadSession(_ id: String) throws(StoreError) -> SessionRecord? {
        let now = Timestamp.nowMs()
        return try withDatabase { db throws(StoreError) -> SessionRecord? in
            var text: String?
            try db.run("SELECT record FROM sessions WHERE id = ? AND expires_at > ?", [.text(id), .int(now)]) { row in
                text = row.text(0)
            }
            guard let text, let json = try? JSONParser.parse(text) else { return nil }
            return SessionRecord(id: id, json: json)
        }
    }

    // MARK: tasks

    public func saveTask(_ task: StoredTask) throws(StoreError) {
        try write { db throws(StoreError) in
            // `node`: which process runs it, so a surviving one marks it
            // failed if that process dies (reapExpired).
            try db.run("INSERT OR REPLACE INTO tasks(id, owner, body, expires_at, node) VALUES (?, ?, ?, ?, ?)",
                       [.text(task.id), task.ownerSessionID.map { SQLiteDatabase.Value.text($0) } ?? .null,
                        .text(JSONSerializer.string(task.body)), .int(task.expiresAtMs), .text(nodeID)])
        }
    }

    public func loadTask(_ id: String) throws(StoreError) -> StoredTask? {
        let now = Timestamp.nowMs()
        return try withDatabase { db throws(StoreError) -> StoredTask? in
            var found: StoredTask?
            try db.run("SELECT owner, body, expires_at FROM tasks WHERE id = ? AND expires_at > ?",
                       [.text(id), .int(now)]) { row in
                guard let body = row.text(1), let json = try? JSONParser.parse(body) else { return }
                found = StoredTask(id: id, ownerSessionID: row.text(0), expiresAtMs: row.int(2), body: json)
            }
            return found
        }
    }

    public func removeTask(_ id: String) {
        try? write { db throws(StoreError) in try db.run("DELETE FROM tasks WHERE id = ?", [.text(id)]) }
    }

    // MARK: connection

    /// Runs `body` with the open database (opening it if due); any error
    /// closes the connection and is kept, so the next use after retryMs
    /// opens afresh rather than reusing a connection in an unknown state.
    func withDatabase<R>(_ body: (SQLiteDatabase) throws(StoreError) -> R) throws(StoreError) -> R {
        let outcome = state.withLock { s -> Result<R, StoreError> in
            if s.closed { return .failure(StoreError("the store is closed")) }
            let now = Timestamp.nowMs()
            if s.db == nil {
                if let f = s.failure, now - f.atMs < Int64(options.retryMs) { return .failure(f.error) }
                do throws(StoreError) {
                    s.db = try open()
                    s.failure = nil
                } catch {
                    s.failure = (error, now)
                    return .failure(error)
                }
            }
            guard let db = s.db else { return .failure(StoreError("no connection")) }
            do throws(StoreError) {
                return .success(try body(db))
            } catch {
                s.db = nil
                s.failure = (error, now)
                EngineLog.warning("store", "sqlite store failed", ["path": .string(options.path), "error": .string(error.message)])
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    /// A write in its own transaction (committed, hence durable, on return);
    /// every `pruneEvery` writes also drops what expired.
    func write(_ body: (SQLiteDatabase) throws(StoreError) -> Void) throws(StoreError) {
        let prune = state.withLock { s -> Bool in
            s.writes += 1
            s.wroteSince = true
            return s.writes % max(1, options.pruneEvery) == 0
        }
        try withDatabase { db throws(StoreError) in
            try db.exec("BEGIN IMMEDIATE")
            do throws(StoreError) {
                try body(db)
                if prune { try Self.pruneExpired(db) }
                try db.exec("COMMIT")
            } catch {
                try? db.exec("ROLLBACK")
                throw error
            }
        }
    }

    private func open() throws(StoreError) -> SQLiteDatabase {
        let db = try SQLiteDatabase(path: options.path, busyTimeoutMs: options.busyTimeoutMs)
        var mode: String?
        try db.run("PRAGMA journal_mode = WAL", []) { row in mode = row.text(0) }
        guard mode?.lowercased() == "wal" else {
            throw StoreError("\(options.path): cannot use WAL mode (journal_mode is \(mode ?? "unknown"))")
        }
        try db.exec("PRAGMA synchronous = \(options.fullSync ? "FULL" : "NORMAL")")
        try migrate(db)
        // Opening also proves the file writable: a store that can read but
        // not write must fail readiness now, not at the first event.
        try db.exec("BEGIN IMMEDIATE")
        try Self.pruneExpired(db)
        try db.exec("COMMIT")
        return db
    }

    /// Creates the schema (version 0: a new file) or migrates it up to
    /// schemaVersion, in one transaction; refuses a newer file.
    private func migrate(_ db: SQLiteDatabase) throws(StoreError) {
        let version = try db.integer("PRAGMA user_version")
        if version == Self.schemaVersion { return }
        guard version < Self.schemaVersion else {
            throw StoreError("\(options.path) has store schema version \(version); this library knows up to \(Self.schemaVersion)")
        }
        try db.exec("BEGIN IMMEDIATE")
        do throws(StoreError) {
            if version < 1 {
                try db.exec("""
                    CREATE TABLE sessions(id TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at INTEGER NOT NULL);
                    CREATE INDEX sessions_expiry ON sessions(expires_at);
                    CREATE TABLE events(session TEXT NOT NULL, stream INTEGER NOT NULL, seq INTEGER NOT NULL,
                                        data BLOB NOT NULL);
                    CREATE UNIQUE INDEX events_key ON events(session, stream, seq);
                    CREATE INDEX events_session ON events(session);
                    CREATE TABLE tasks(id TEXT PRIMARY KEY, owner TEXT, body TEXT NOT NULL, expires_at INTEGER NOT NULL);
                    CREATE INDEX tasks_expiry ON tasks(expires_at);
                    """)
            }
            if version < 2 {
                // Version 2, the fleet (SQLiteStore+Fleet.swift): events get an
                // AUTOINCREMENT id (a cursor over new events that never goes
                // back, even when the newest rows are deleted), streams record
                // their owner node, numbers and end, nodes their leases, tasks
                // the node running them.
                try db.exec("""
                    CREATE TABLE events_v2(id INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL,
                                           stream INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL);
                    INSERT INTO events_v2(session, stream, seq, data)
                      SELECT session, stream, seq, data FROM events ORDER BY rowid;
                    DROP TABLE events;
                    ALTER TABLE events_v2 RENAME TO events;
                    CREATE UNIQUE INDEX events_key ON events(session, stream, seq);
                    CREATE INDEX events_session ON events(session);
                    CREATE TABLE streams(session TEXT NOT NULL, stream INTEGER NOT NULL, node TEXT,
                                         requests TEXT NOT NULL DEFAULT '[]', last_seq INTEGER NOT NULL DEFAULT 0,
                                         finished INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(session, stream));
                    CREATE INDEX streams_open ON streams(node) WHERE finished = 0;
                    CREATE TABLE nodes(id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
                    CREATE TABLE messages(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, session TEXT NOT NULL,
                                          node TEXT NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL);
                    CREATE INDEX messages_age ON messages(created_at);
                    CREATE TABLE once_keys(session TEXT NOT NULL, key TEXT NOT NULL, created_at INTEGER NOT NULL,
                                           PRIMARY KEY(session, key));
                    CREATE INDEX once_keys_age ON once_keys(created_at);
                    ALTER TABLE tasks ADD COLUMN node TEXT;
                    CREATE INDEX tasks_node ON tasks(node);
                    """)
            }
            // Later versions add their steps here: `if version < 3 { ... }`.
            try db.exec("PRAGMA user_version = \(Self.schemaVersion)")
            try db.exec("COMMIT")
        } catch {
            try? db.exec("ROLLBACK")
            throw error
        }
    }

    private static func pruneExpired(_ db: SQLiteDatabase) throws(StoreError) {
        let now = Timestamp.nowMs()
        try db.run("DELETE FROM events WHERE session IN (SELECT id FROM sessions WHERE expires_at <= ?)", [.int(now)])
        try db.run("DELETE FROM streams WHERE session IN (SELECT id FROM sessions WHERE expires_at <= ?)", [.int(now)])
        try db.run("DELETE FROM sessions WHERE expires_at <= ?", [.int(now)])
        // Every process reads a message within a poll interval of its
        // publication; a minute is ample (a process stalled longer has lost
        // its lease anyway).
        try db.run("DELETE FROM messages WHERE created_at <= ?", [.int(now - 60_000)])
        try db.run("DELETE FROM once_keys WHERE created_at <= ?", [.int(now - 60_000)])
        // Finished streams whose events are all gone, but the newest of each
        // session (it keeps the numbering going).
        try db.exec("""
            DELETE FROM streams WHERE finished = 1 AND stream != 0
              AND NOT EXISTS (SELECT 1 FROM events e WHERE e.session = streams.session AND e.stream = streams.stream)
              AND stream < (SELECT max(stream) FROM streams s2 WHERE s2.session = streams.session)
            """)
        try db.run("DELETE FROM tasks WHERE expires_at <= ?", [.int(now)])
    }
}
