import MCPCore
import MCPRuntime
internal import PostgresNIO

/// The tables of the PostgreSQL store, created and migrated by the library;
/// the version is the one row of mcp_schema_version. The same tables as
/// SQLiteStore's (times in milliseconds since 1970, JSON as text), with an
/// `id` column giving events their arrival order (SQLite's rowid).
enum PostgresSchema {
    /// The schema this code writes; older databases are migrated up to it.
    static let version: Int32 = 2

    /// Serialises migrations when several nodes start at once
    /// (pg_advisory_xact_lock; the key is "libmcp" in ASCII).
    private static let lockKey: Int64 = 0x6C69_626D_6370

    /// The statements of each version step, run in one transaction.
    private static let steps: [Int32: [PostgresQuery]] = [
        1: [
            "CREATE TABLE mcp_sessions(id text PRIMARY KEY, record text NOT NULL, expires_at bigint NOT NULL)",
            "CREATE INDEX mcp_sessions_expiry ON mcp_sessions(expires_at)",
            """
            CREATE TABLE mcp_events(id bigserial PRIMARY KEY, session text NOT NULL, stream bigint NOT NULL,
                                    seq bigint NOT NULL, data bytea NOT NULL, UNIQUE (session, stream, seq))
            """,
            "CREATE INDEX mcp_events_session ON mcp_events(session, id)",
            "CREATE TABLE mcp_tasks(id text PRIMARY KEY, owner text, body text NOT NULL, expires_at bigint NOT NULL)",
            "CREATE INDEX mcp_tasks_expiry ON mcp_tasks(expires_at)",
        ],
        // Version 2, the fleet (PostgresStore+Fleet.swift). `tx`: the
        // transaction that wrote a row (txid_current: 64 bits, with epoch),
        // for a poll that misses no row however transactions interleave;
        // streams record their owner node and end, counters the last stream
        // and standalone event numbers of each session, nodes their leases
        // (on the database's clock), tasks the node running them.
        2: [
            "ALTER TABLE mcp_events ADD COLUMN tx bigint NOT NULL DEFAULT txid_current()",
            "CREATE INDEX mcp_events_tx ON mcp_events(tx)",
            """
            CREATE TABLE mcp_streams(session text NOT NULL, stream bigint NOT NULL, node text NOT NULL,
                                     requests text NOT NULL, finished boolean NOT NULL DEFAULT false,
                                     PRIMARY KEY (session, stream))
            """,
            "CREATE INDEX mcp_streams_open ON mcp_streams(node) WHERE NOT finished",
            "CREATE TABLE mcp_counters(session text PRIMARY KEY, streams bigint NOT NULL, standalone bigint NOT NULL)",
            "CREATE TABLE mcp_nodes(id text PRIMARY KEY, expires_at bigint NOT NULL)",
            """
            CREATE TABLE mcp_messages(id bigserial PRIMARY KEY, tx bigint NOT NULL DEFAULT txid_current(),
                                      kind text NOT NULL, session text NOT NULL, node text NOT NULL,
                                      body bytea NOT NULL, created_at bigint NOT NULL)
            """,
            "CREATE INDEX mcp_messages_tx ON mcp_messages(tx)",
            "CREATE INDEX mcp_messages_age ON mcp_messages(created_at)",
            """
            CREATE TABLE mcp_once_keys(session text NOT NULL, key text NOT NULL, created_at bigint NOT NULL,
                                       PRIMARY KEY (session, key))
            """,
            "CREATE INDEX mcp_once_keys_age ON mcp_once_keys(created_at)",
            "ALTER TABLE mcp_tasks ADD COLUMN node text",
            "CREATE INDEX mcp_tasks_node ON mcp_tasks(node)",
        ],
        // Later versions add their steps here: `3: [...]`.
    ]

    /// Creates the schema or migrates it up to `version`; refuses a newer
    /// one. A database already at `version` costs two reads and needs no
    /// privilege beyond using the tables.
    static func migrate(_ pool: PostgresPool, _ c: PostgresConnection) throws(PostgresPool.Failure) {
        warnIfNotDurable(pool, c)
        if try current(pool, c) == version { return }
        _ = try pool.query(c, "BEGIN")
        do throws(PostgresPool.Failure) {
            _ = try pool.query(c, "SELECT pg_advisory_xact_lock(\(lockKey))")
            _ = try pool.query(c, "CREATE TABLE IF NOT EXISTS mcp_schema_version(version integer NOT NULL)")
            // Again, under the lock: another node may have migrated (or be newer).
            let found = try current(pool, c)
            var step = found + 1
            while step <= version {
                for statement in steps[step] ?? [] { _ = try pool.query(c, statement) }
                step += 1
            }
            _ = try pool.query(c, "DELETE FROM mcp_schema_version")
            _ = try pool.query(c, "INSERT INTO mcp_schema_version(version) VALUES (\(version))")
            _ = try pool.query(c, "COMMIT")
        } catch {
            _ = try? pool.query(c, "ROLLBACK")
            throw error
        }
        EngineLog.info("store", "postgres store schema migrated", ["store": .string(pool.options.display),
                                                                    "version": .int(Int(version))])
    }

    /// The stored version; 0 for a database without the table. A newer one
    /// is refused here already, before any lock is taken.
    private static func current(_ pool: PostgresPool, _ c: PostgresConnection) throws(PostgresPool.Failure) -> Int32 {
        // Named in a query only once it exists (a missing table fails at parse time).
        let exists = try pool.query(c, "SELECT to_regclass('mcp_schema_version') IS NOT NULL")
        guard let e = exists.first, let known = try? e.decode(Bool.self) else {
            throw PostgresPool.Failure(message: "\(pool.options.display): cannot read the catalog", broken: true)
        }
        guard known else { return 0 }
        let rows = try pool.query(c, "SELECT coalesce(max(version), 0) FROM mcp_schema_version")
        guard let row = rows.first, let v = try? row.decode(Int32.self) else {
            throw PostgresPool.Failure(message: "\(pool.options.display): unreadable mcp_schema_version", broken: true)
        }
        if v > version {
            throw PostgresPool.Failure(message: "\(pool.options.display) has store schema version \(v); "
                + "this library knows up to \(version)", broken: true)
        }
        return v
    }

    /// The store promises that a write is durable when its call returns; with
    /// synchronous_commit=off the server answers before its WAL is on disk.
    private static func warnIfNotDurable(_ pool: PostgresPool, _ c: PostgresConnection) {
        guard let rows = try? pool.query(c, "SHOW synchronous_commit"), let row = rows.first,
              let value = try? row.decode(String.self), value == "off"
        else { return }
        EngineLog.warning("store", "postgres synchronous_commit is off: a server crash may lose the last writes "
            + "clients were shown", ["store": .string(pool.options.display)])
    }

    /// Drops what expired (one statement): sessions with their events,
    /// streams and counters; tasks; messages and broadcast keys older than a
    /// minute (every node reads a message within a poll interval, and one
    /// stalled longer has lost its lease anyway); finished streams whose
    /// events are all gone (the counters keep the numbering going).
    static func prune(_ pool: PostgresPool, _ c: PostgresConnection) throws(PostgresPool.Failure) {
        let now = Timestamp.nowMs()
        let old = now - 60_000
        _ = try pool.query(c, """
            WITH s AS (DELETE FROM mcp_sessions WHERE expires_at <= \(now) RETURNING id),
                 e AS (DELETE FROM mcp_events WHERE session IN (SELECT id FROM s)),
                 st AS (DELETE FROM mcp_streams WHERE session IN (SELECT id FROM s)
                          OR (finished AND NOT EXISTS (SELECT 1 FROM mcp_events x WHERE x.session = mcp_streams.session
                                                                                   AND x.stream = mcp_streams.stream))),
                 n AS (DELETE FROM mcp_counters WHERE session IN (SELECT id FROM s)),
                 m AS (DELETE FROM mcp_messages WHERE created_at <= \(old)),
                 o AS (DELETE FROM mcp_once_keys WHERE created_at <= \(old)),
                 t AS (DELETE FROM mcp_tasks WHERE expires_at <= \(now))
            SELECT count(*) FROM s
            """)
    }
}
