import Glibc
import MCPCore
import NIOCore
import NIOHTTP1
import Testing
@testable import MCPTransport

/// The SQLite store on its own (schema, retention, durability across a new
/// connection, failure and recovery), then behind the HTTP endpoint: a
/// session and its stream events served by a second engine after the first
/// one is gone, as after a restart.
@Suite struct SQLiteStoreTests {
    /// A fresh directory under /tmp, removed with its files at the end.
    final class TempDir {
        let path: String
        init() throws {
            var template = Array("/tmp/mcp-store-XXXXXX".utf8CString)
            guard let p = mkdtemp(&template) else { throw HTTPConnectionHandlerTests.Failure("mkdtemp failed") }
            path = String(cString: p)
        }
        deinit {
            chmod(path, 0o700)
            if let d = opendir(path) {
                while let e = readdir(d) {
                    let name = withUnsafePointer(to: e.pointee.d_name) {
                        $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                    }
                    if name != "." && name != ".." { unlink(path + "/" + name) }
                }
                closedir(d)
            }
            rmdir(path)
        }
    }

    private func store(_ path: String, maxEvents: Int = 100) -> SQLiteStore {
        var o = SQLiteStore.Options(path: path)
        o.maxEventsPerSession = maxEvents
        o.retryMs = 0
        return SQLiteStore(options: o)
    }

    private func event(_ stream: UInt64, _ seq: UInt64, _ text: String = "x") -> StoredEvent {
        StoredEvent(id: EventID(stream: stream, seq: seq), data: Array(text.utf8))
    }

    @Test func keepsSessionsEventsAndTasksAcrossConnections() throws {
        let dir = try TempDir()
        let path = dir.path + "/state.db"
        let a = store(path)
        try a.check()
        let record = SessionRecord(id: "s1", protocolVersion: "2025-11-25", clientCapabilities: ["roots": [:]],
                                   clientInfo: ["name": "c", "version": "1"], logLevel: "debug",
                                   subscriptions: ["test://a"], owner: nil)
        try a.saveSession(record, ttlMs: 60_000)
        for seq in 0..<4 { try a.append(session: "s1", event: event(1, UInt64(seq), "a\(seq)")) }
        try a.append(session: "s1", event: event(0, 1, "g1"))
        let task = StoredTask(id: "t1", ownerSessionID: "s1", expiresAtMs: Timestamp.nowMs() + 60_000,
                              body: ["status": "completed", "result": ["content": []]])
        try a.saveTask(task)
        a.close()  // as a process that ends: a new connection sees everything

        let b = store(path)
        #expect(try b.loadSession("s1") == record)
        #expect(try b.loadSession("nope") == nil)
        #expect(try b.events(session: "s1", stream: 1, after: 1)?.map { String(decoding: $0.data, as: UTF8.self) } == ["a2", "a3"])
        #expect(try b.events(session: "s1", stream: 1, after: 3) == [])
        #expect(try b.events(session: "s1", stream: 1, after: 9) == nil)  // never sent: not ours
        #expect(try b.events(session: "s1", stream: 7, after: 0) == nil)
        #expect(try b.lastSeqs(session: "s1") == [0: 1, 1: 3])
        #expect(try b.loadTask("t1") == task)
        b.removeSession("s1")
        #expect(try b.loadSession("s1") == nil)
        #expect(try b.events(session: "s1", stream: 1, after: 0) == nil)
        b.removeTask("t1")
        #expect(try b.loadTask("t1") == nil)
    }

    @Test func boundsEventsPerSessionAndAnswersNilForAHole() throws {
        let dir = try TempDir()
        let s = store(dir.path + "/state.db", maxEvents: 3)
        for seq in 0..<5 { try s.append(session: "s", event: event(1, UInt64(seq))) }
        // Events 0 and 1 were dropped: a replay after 0 would miss 1.
        #expect(try s.events(session: "s", stream: 1, after: 0) == nil)
        #expect(try s.events(session: "s", stream: 1, after: 1)?.map(\.id.seq) == [2, 3, 4])
    }

    @Test func expiredRecordsAndTasksAreNotLoaded() throws {
        let dir = try TempDir()
        let s = store(dir.path + "/state.db")
        try s.saveSession(SessionRecord(id: "old", protocolVersion: "2025-06-18", clientCapabilities: [:],
                                        clientInfo: [:], logLevel: "info", subscriptions: [], owner: nil), ttlMs: 1)
        try s.saveTask(StoredTask(id: "gone", ownerSessionID: nil, expiresAtMs: Timestamp.nowMs() - 1, body: [:]))
        usleep(5000)
        #expect(try s.loadSession("old") == nil)
        #expect(try s.loadTask("gone") == nil)
    }

    @Test func writesTheSchemaVersionAndRefusesANewerOne() throws {
        let dir = try TempDir()
        let path = dir.path + "/state.db"
        let s = store(path)
        try s.check()
        s.close()
        let db = try SQLiteDatabase(path: path, busyTimeoutMs: 100)
        #expect(try db.integer("PRAGMA user_version") == SQLiteStore.schemaVersion)
        var mode: String?
        try db.run("PRAGMA journal_mode", []) { row in mode = row.text(0) }
        #expect(mode == "wal")
        try db.exec("PRAGMA user_version = 99")
        let newer = store(path)
        #expect(throws: StoreError.self) { try newer.check() }
        do throws(StoreError) {
            try newer.check()
        } catch {
            #expect(error.message.contains("schema version 99"))
        }
    }

    @Test func anUnwritableStoreFailsAndRecoversByItself() throws {
        let dir = try TempDir()
        let sub = dir.path + "/later"
        let s = store(sub + "/state.db")  // the directory does not exist yet
        #expect(throws: StoreError.self) { try s.check() }
        #expect(throws: StoreError.self) { try s.append(session: "s", event: event(1, 0)) }
        mkdir(sub, 0o700)
        try s.check()
        try s.append(session: "s", event: event(1, 0))
        unlink(sub + "/state.db")
        unlink(sub + "/state.db-wal")
        unlink(sub + "/state.db-shm")
        rmdir(sub)
    }

    // MARK: behind the endpoint

    private static let initBody = [
        #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"#,
        #""clientInfo":{"name":"t","version":"1"}}}"#,
    ]

    /// Event ids in an SSE body, in order.
    private func ids(_ body: String) -> [String] {
        body.split(separator: "\n").filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
    }

    @Test func aSecondEngineServesTheSessionAndReplaysItsStream() throws {
        let dir = try TempDir()
        let path = dir.path + "/state.db"
        let first = try HTTPConnectionHandlerTests.Harness(store: store(path))
        let sid = try first.initialize()
        let (head, body) = try first.send(.POST, [("Mcp-Session-Id", sid)], chunks: [
            #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"progress","_meta":{"progressToken":7}}}"#,
        ])
        #expect(head.status == .ok)
        let sent = ids(body)
        #expect(sent.count == 3)  // priming, progress, answer

        // A new engine on the same file: nothing of the first one's memory.
        let second = try HTTPConnectionHandlerTests.Harness(store: store(path))
        let (pong, pongBody) = try second.send(.POST, [("Mcp-Session-Id", sid), ("MCP-Protocol-Version", "2025-11-25")],
                                               chunks: [#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#])
        #expect(pong.status == .ok)
        #expect(pongBody.contains(#""id":2,"result":{}"#))
        // The client saw the priming event only: it resumes after it and gets
        // exactly the two events it missed.
        let (resumed, replay) = try second.send(.GET, [("Mcp-Session-Id", sid), ("Accept", "text/event-stream"),
                                                      ("MCP-Protocol-Version", "2025-11-25"), ("Last-Event-ID", sent[0])])
        #expect(resumed.status == .ok)
        #expect(ids(replay) == Array(sent[1...]))
        #expect(replay.contains("notifications/progress") && replay.contains(#""id":1,"result""#))
        // The restored session numbers new streams after the stored ones.
        let (_, later) = try second.send(.POST, [("Mcp-Session-Id", sid)], chunks: [
            #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"again"}}}"#,
        ])
        let stream = { (id: String) in UInt64(id.split(separator: "-")[0]) ?? 0 }
        #expect(ids(later).allSatisfy { stream($0) > stream(sent[0]) })
        // DELETE ends it for good: a third engine does not know it.
        let (deleted, _) = try second.send(.DELETE, [("Mcp-Session-Id", sid)])
        #expect(deleted.status == .ok)
        let third = try HTTPConnectionHandlerTests.Harness(store: store(path))
        let (gone, _) = try third.send(.POST, [("Mcp-Session-Id", sid)], chunks: [#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#])
        #expect(gone.status == .notFound)
    }

    @Test func anUnavailableStoreAnswers503WithAJSONRPCError() throws {
        let dir = try TempDir()
        let h = try HTTPConnectionHandlerTests.Harness(store: store(dir.path + "/missing/state.db"))
        let (head, body) = try h.send(.POST, chunks: Self.initBody)
        #expect(head.status == .serviceUnavailable)
        #expect(head.headers.first(name: "Retry-After") == "1")
        #expect(body.contains(#""code":-32603"#) && body.contains("State store unavailable"))
        mkdir(dir.path + "/missing", 0o700)
        _ = try h.initialize()  // back by itself
        for f in ["state.db", "state.db-wal", "state.db-shm"] { unlink(dir.path + "/missing/" + f) }
        rmdir(dir.path + "/missing")
    }
}
