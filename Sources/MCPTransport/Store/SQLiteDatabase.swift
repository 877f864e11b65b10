internal import VaporCSQLite
import MCPCore

/// One SQLite connection and its prepared statements: the few calls of the C
/// API the store needs, each failure turned into a StoreError with SQLite's
/// own message. Not thread-safe: SQLiteStore uses it under its lock only.
///
/// Why SQLite comes from vapor/sqlite-nio (its vendored amalgamation, module
/// VaporCSQLite) and not from Debian's libsqlite3 through a system-library
/// target: libmcp.so must stay self-contained (the wheel test asserts that
/// auditwheel grafts nothing in, and hosts need no extra package), and
/// sqlite-nio renames every symbol (`sqlite_nio_sqlite3_*`), so a host that
/// links its own SQLite gets no clash. Its Swift API (SQLiteNIO) is not
/// used: it answers on its own thread pool with futures, while the store must
/// write synchronously, on the caller's thread, before an event goes out.
/// The cost: SQLite is compiled with the package (about a minute of the first
/// build here) and adds about 1.5 MB to libmcp.so.
final class SQLiteDatabase {
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]

    /// Opens (creating if needed) the database file at `path`.
    init(path: String, busyTimeoutMs: Int) throws(StoreError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite_nio_sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { _ = sqlite_nio_sqlite3_close_v2(db) }
            throw StoreError("cannot open \(path): \(message)")
        }
        handle = db
        _ = sqlite_nio_sqlite3_busy_timeout(db, Int32(clamping: busyTimeoutMs))
    }

    deinit {
        for s in statements.values { _ = sqlite_nio_sqlite3_finalize(s) }
        _ = sqlite_nio_sqlite3_close_v2(handle)
    }

    private var message: String { String(cString: sqlite_nio_sqlite3_errmsg(handle)) }

    /// Runs SQL without parameters or results (pragmas, schema, BEGIN/COMMIT).
    func exec(_ sql: String) throws(StoreError) {
        let rc = sqlite_nio_sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw StoreError("\(message) (in \(sql.prefix(60)))") }
    }

    /// The first column of the first row of `sql`, as an integer (pragmas).
    func integer(_ sql: String) throws(StoreError) -> Int64 {
        var value: Int64 = 0
        try run(sql, []) { row in value = row.int(0) }
        return value
    }

    /// A value bound to a statement's parameter.
    enum Value {
        case text(String)
        case int(Int64)
        case blob([UInt8])
        case null
    }

    /// One result row, valid only inside the callback.
    struct Row {
        let statement: OpaquePointer
        func int(_ column: Int32) -> Int64 { sqlite_nio_sqlite3_column_int64(statement, column) }
        func text(_ column: Int32) -> String? {
            guard let p = sqlite_nio_sqlite3_column_text(statement, column) else { return nil }
            return String(cString: p)
        }
        func blob(_ column: Int32) -> [UInt8] {
            let n = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            guard n > 0, let p = sqlite_nio_sqlite3_column_blob(statement, column) else { return [] }
            return Array(UnsafeRawBufferPointer(start: p, count: n))
        }
    }

    /// Runs a (cached) prepared statement with `values`, calling `row` for each result row.
    func run(_ sql: String, _ values: [Value], row: (Row) throws(StoreError) -> Void = { _ in }) throws(StoreError) {
        let statement = try prepared(sql)
        defer {
            _ = sqlite_nio_sqlite3_reset(statement)
            _ = sqlite_nio_sqlite3_clear_bindings(statement)
        }
        // SQLITE_TRANSIENT: SQLite copies the bytes before bind returns.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (i, v) in values.enumerated() {
            let n = Int32(i + 1)
            let rc: Int32
            switch v {
            case .text(let s): rc = sqlite_nio_sqlite3_bind_text(statement, n, s, -1, transient)
            case .int(let x): rc = sqlite_nio_sqlite3_bind_int64(statement, n, x)
            case .blob(let b):
                rc = b.withUnsafeBytes { p in
                    // A zero-length blob still needs a non-NULL pointer (NULL binds SQL NULL).
                    sqlite_nio_sqlite3_bind_blob(statement, n, p.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
                                                 Int32(p.count), transient)
                }
            case .null: rc = sqlite_nio_sqlite3_bind_null(statement, n)
            }
            guard rc == SQLITE_OK else { throw StoreError(message) }
        }
        while true {
            let rc = sqlite_nio_sqlite3_step(statement)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw StoreError(message) }
            try row(Row(statement: statement))
        }
    }

    private func prepared(_ sql: String) throws(StoreError) -> OpaquePointer {
        if let s = statements[sql] { return s }
        var statement: OpaquePointer?
        guard sqlite_nio_sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw StoreError("\(message) (in \(sql.prefix(60)))")
        }
        statements[sql] = statement
        return statement
    }
}
