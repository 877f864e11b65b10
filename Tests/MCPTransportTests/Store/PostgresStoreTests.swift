import Foundation
import MCPCore
import Testing
@testable import MCPTransport

/// The `postgres://` URL on its own, then the PostgreSQL store against a
/// real server: a private one that tests/interop/pg_support.py starts (initdb
/// into a temporary directory, a free loopback port) and stops when this
/// process ends; each test gets a database of its own.
@Suite struct PostgresStoreTests {
    // MARK: the URL

    @Test func parsesALibpqStyleURL() throws {
        let o = try PostgresOptions(url: "postgres://mcp:p%40ss%3Aw+rd@db.example:6432/state?sslmode=verify-full&pool_size=3"
            + "&connect_timeout=2&statement_timeout=750&application_name=node%201")
        #expect(o.user == "mcp" && o.password == "p@ss:w+rd" && o.database == "state")
        #expect(o.endpoint == .tcp(host: "db.example", port: 6432))
        #expect(o.tls == .verifyFull && o.poolSize == 3 && o.connectTimeoutMs == 2000 && o.statementTimeoutMs == 750)
        #expect(o.applicationName == "node 1")
        #expect(o.display == "mcp@db.example:6432/state")

        let d = try PostgresOptions(url: "postgresql://app@[::1]")
        #expect(d.endpoint == .tcp(host: "::1", port: 5432) && d.database == "app" && d.password == nil)
        #expect(d.tls == .prefer && d.poolSize == 8 && d.connectTimeoutMs == 5000 && d.statementTimeoutMs == 5000)
        #expect(d.display == "app@[::1]:5432/app")

        let unix = try PostgresOptions(url: "postgres://app@/db?host=/run/pg")
        #expect(unix.endpoint == .unix(path: "/run/pg/.s.PGSQL.5432"))
        let debian = try PostgresOptions(url: "postgres://app@:5433/db")
        #expect(debian.endpoint == .unix(path: "/var/run/postgresql/.s.PGSQL.5433"))
    }

    @Test func refusesABadURLWithoutRepeatingThePassword() {
        for (url, expected) in [
            ("postgres://localhost/db", "needs a user"),
            ("postgres://u:secret@h:0/db", "not a number from 1 to 65535"),
            ("postgres://u:secret@h/db?pool_size=abc", "pool_size=abc: expected a whole number from 1 to 1000"),
            ("postgres://u:secret@h/db?connect_timeout=0", "connect_timeout=0"),
            ("postgres://u:secret@h/db?sslmode=allow", "sslmode=allow"),
            ("postgres://u:secret@h/db?port=1", "unknown parameter \"port\""),
            ("postgres://u:sec%zzret@h/db", "malformed %-escape"),
            ("postgres://u:secret@[::1]x/db", "unexpected"),
        ] {
            do throws(StoreError) {
                _ = try PostgresOptions(url: url)
                Issue.record("accepted \(url)")
            } catch {
                #expect(error.message.contains(expected), "\(url): \(error.message)")
                #expect(!error.message.contains("secret"))
            }
        }
        #expect(PostgresOptions.redacted("postgres://u:p@ss@h:1/db?x=1") == "postgres://u:***@h:1/db?x=1")
        #expect(PostgresOptions.redacted("postgres://u@h/db") == "postgres://u@h/db")
        #expect(PostgresOptions.redacted("sqlite:/tmp/a:b@c") == "sqlite:/tmp/a:b@c")
    }

    // MARK: against a server

    /// tests/interop/pg_support.py run as a child (its `serve` line protocol).
    final class Server: @unchecked Sendable {  // every use of the pipes holds `lock`
        static let shared = Result { try Server() }
        private let process = Process()
        private let input = Pipe()
        private let output = Pipe()
        private let lock = NSLock()
        private var buffered = Data()

        init() throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../../tests/interop/pg_support.py").standardized
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path]
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            let first = try line()
            guard first == "READY" else { throw StoreError("pg_support.py did not start PostgreSQL: \(first)") }
        }

        private func line() throws -> String {
            while true {
                if let nl = buffered.firstIndex(of: 0x0A) {
                    let text = String(decoding: buffered[buffered.startIndex..<nl], as: UTF8.self)
                    buffered = Data(buffered[buffered.index(after: nl)...])
                    return text
                }
                let more = output.fileHandleForReading.availableData
                if more.isEmpty { throw StoreError("pg_support.py ended (is Debian's postgresql installed?)") }
                buffered.append(more)
            }
        }

        func ask(_ command: String) throws -> String {
            lock.lock()
            defer { lock.unlock() }
            input.fileHandleForWriting.write(Data((command + "\n").utf8))
            return try line()
        }

        /// The URL of a new database.
        func database() throws -> String {
            let answer = try ask("new")
            guard answer.hasPrefix("URL ") else { throw StoreError(answer) }
            return String(answer.dropFirst(4))
        }
    }

    private func store(_ url: String, maxEvents: Int = 100) throws -> PostgresStore {
        var o = try PostgresOptions(url: url)
        o.maxEventsPerSession = maxEvents
        o.retryMs = 0
        return PostgresStore(options: o)
    }

    private func event(_ stream: UInt64, _ seq: UInt64, _ text: String = "x") -> StoredEvent {
        StoredEvent(id: EventID(stream: stream, seq: seq), data: Array(text.utf8))
    }

    @Test func twoStoresOnOneDatabaseSeeEachOthersWrites() throws {
        let url = try Server.shared.get().database()
        let a = try store(url)
        try a.check()
        let record = SessionRecord(id: "s1", protocolVersion: "2025-11-25", clientCapabilities: ["roots": [:]],
                                   clientInfo: ["name": "c", "version": "1"], logLevel: "debug",
                                   subscriptions: ["test://a"], owner: ["sub": "alice"])
        try a.saveSession(record, ttlMs: 60_000)
        for seq in 0..<4 { try a.append(session: "s1", event: event(1, UInt64(seq), "a\(seq)")) }
        try a.append(session: "s1", event: StoredEvent(id: EventID(stream: 0, seq: 1), data: []))  // priming
        let task = StoredTask(id: "t1", ownerSessionID: "s1", expiresAtMs: Timestamp.nowMs() + 60_000,
                              body: ["status": "completed", "result": ["content": []]])
        try a.saveTask(task)
        let modern = StoredTask(id: "t2", ownerSessionID: nil, expiresAtMs: Timestamp.nowMs() + 60_000, body: ["status": "working"])
        try a.saveTask(modern)

        let b = try store(url)  // another node of the fleet
        #expect(try b.loadSession("s1") == record)
        #expect(try b.loadSession("nope") == nil)
        #expect(try b.events(session: "s1", stream: 1, after: 1)?.map { String(decoding: $0.data, as: UTF8.self) } == ["a2", "a3"])
        #expect(try b.events(session: "s1", stream: 1, after: 3) == [])
        #expect(try b.events(session: "s1", stream: 1, after: 9) == nil)  // never sent: not ours
        #expect(try b.events(session: "s1", stream: 7, after: 0) == nil)
        #expect(try b.events(session: "s1", stream: 0, after: 1) == [])
        #expect(try b.lastSeqs(session: "s1") == [0: 1, 1: 3])
        #expect(try b.loadTask("t1") == task)
        #expect(try b.loadTask("t2") == modern)
        var done = modern
        done.body = ["status": "completed"]
        try a.saveTask(done)  // replaced, as a task that finished
        #expect(try b.loadTask("t2") == done)
        b.removeSession("s1")
        #expect(try a.loadSession("s1") == nil)
        #expect(try a.events(session: "s1", stream: 1, after: 0) == nil)
        b.removeTask("t1")
        #expect(try a.loadTask("t1") == nil)
        a.close()
        b.close()
        #expect(throws: StoreError.self) { try a.check() }
    }

    @Test func boundsEventsPerSessionAndAnswersNilForAHole() throws {
        let s = try store(try Server.shared.get().database(), maxEvents: 3)
        for seq in 0..<5 { try s.append(session: "s", event: event(1, UInt64(seq))) }
        try s.append(session: "other", event: event(1, 0))
        // Events 0 and 1 were dropped: a replay after 0 would miss 1.
        #expect(try s.events(session: "s", stream: 1, after: 0) == nil)
        #expect(try s.events(session: "s", stream: 1, after: 1)?.map(\.id.seq) == [2, 3, 4])
        #expect(try s.events(session: "other", stream: 1, after: 0) == [])
        // The bound is per session, over all its streams: oldest first.
        try s.append(session: "s", event: event(2, 0))
        #expect(try s.lastSeqs(session: "s") == [1: 4, 2: 0])
        #expect(try s.events(session: "s", stream: 1, after: 1) == nil)
        #expect(try s.events(session: "s", stream: 1, after: 2)?.map(\.id.seq) == [3, 4])
        s.close()
    }

    @Test func expiredRecordsAndTasksAreNotLoadedAndArePruned() throws {
        let server = try Server.shared.get()
        let url = try server.database()
        var o = try PostgresOptions(url: url)
        o.pruneEvery = 3
        let s = PostgresStore(options: o)
        try s.saveSession(SessionRecord(id: "old", protocolVersion: "2025-06-18", clientCapabilities: [:],
                                        clientInfo: [:], logLevel: "info", subscriptions: [], owner: nil), ttlMs: 1)
        try s.append(session: "old", event: event(1, 0))
        usleep(5000)  // the session expired
        #expect(try s.loadSession("old") == nil)
        try s.saveTask(StoredTask(id: "gone", ownerSessionID: nil, expiresAtMs: Timestamp.nowMs() - 1, body: [:]))
        #expect(try s.loadTask("gone") == nil)
        // The third write pruned them all (rows, not only hidden).
        let db = String(url.split(separator: "/").last?.split(separator: "?").first ?? "")
        #expect(try server.ask("sql \(db) SELECT (SELECT count(*) FROM mcp_sessions) + (SELECT count(*) FROM mcp_events)"
            + " + (SELECT count(*) FROM mcp_tasks)") == "OK 0")
        #expect(try server.ask("sql \(db) SELECT version FROM mcp_schema_version") == "OK \(PostgresSchema.version)")
        s.close()
    }

    @Test func anUnreachableServerFailsFastAndNamesTheStore() throws {
        // A port nothing listens on (the private server's port + 1 is not ours; bind one and close it).
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &len) } }
        close(probe)
        let port = Int(UInt16(bigEndian: addr.sin_port))
        var o = try PostgresOptions(url: "postgres://mcp:secret@127.0.0.1:\(port)/mcp?connect_timeout=2")
        o.retryMs = 60_000
        let s = PostgresStore(options: o)  // tried once here: refused
        let start = Date()
        for _ in 0..<100 {
            do throws(StoreError) {
                try s.append(session: "s", event: event(1, 0))
                Issue.record("an append succeeded without a server")
            } catch {
                #expect(error.message.hasPrefix("mcp@127.0.0.1:\(port)/mcp: ") && !error.message.contains("secret"),
                        "\(error.message)")
            }
        }
        // Within retryMs every call fails at once with the kept error, none waits for a connection.
        #expect(Date().timeIntervalSince(start) < 1)
        s.close()
    }
}
