import Glibc
import MCPCore
import Testing
@testable import MCPTransport

/// `sqlite:` as a FleetStore: two stores on one file stand for two processes.
/// Numbers allocated by both never collide, the channel shows each what the
/// other wrote, a broadcast is kept once per session, a dead node's streams
/// and tasks are ended by the survivor, and a version 1 file is migrated.
@Suite struct SQLiteFleetTests {
    private func store(_ path: String) -> SQLiteStore {
        var o = SQLiteStore.Options(path: path)
        o.fullSync = false
        o.retryMs = 0
        return SQLiteStore(options: o)
    }

    @Test func twoNodesNeverShareAStreamOrEventNumber() throws {
        let dir = try SQLiteStoreTests.TempDir()
        let a = store(dir.path + "/f.db"), b = store(dir.path + "/f.db")
        #expect(a.nodeID != b.nodeID)
        var streams: [UInt64] = []
        var standalone: [UInt64] = []
        for i in 0..<10 {
            let node = i % 2 == 0 ? a : b
            streams.append(try node.openStream(session: "s", requests: [.int(Int64(i))]))
            standalone.append(try #require(try node.appendStandalone(session: "s", data: Array("n\(i)".utf8), once: nil)))
        }
        #expect(streams == Array(1...10))
        #expect(standalone == Array(1...10))
        // The standalone stream replays in number order, whoever stored each event.
        let replay = try #require(try a.events(session: "s", stream: 0, after: 0))
        #expect(replay.map { String(decoding: $0.data, as: UTF8.self) } == (0..<10).map { "n\($0)" })
    }

    @Test func theChannelShowsWhatTheOtherNodeWrote() throws {
        let dir = try SQLiteStoreTests.TempDir()
        let a = store(dir.path + "/f.db"), b = store(dir.path + "/f.db")
        var cursor = try a.poll(after: nil).cursor
        // Idle: nothing, and nothing read but the data version.
        #expect(try a.poll(after: cursor).streams.isEmpty)
        let n = try b.openStream(session: "s", requests: [.int(7)])
        try b.append(session: "s", event: StoredEvent(id: EventID(stream: n, seq: 1), data: [1]), final: false)
        try b.publish(FleetMessage(kind: .resourceUpdated, session: "", body: Array("test://r".utf8), node: b.nodeID))
        let changes = try a.poll(after: cursor)
        #expect(changes.streams == [FleetStreamKey(session: "s", stream: n)])
        #expect(changes.messages.map(\.kind) == [.resourceUpdated])
        #expect(changes.messages.first?.node == b.nodeID && changes.messages.first?.body == Array("test://r".utf8))
        cursor = changes.cursor
        #expect(try a.isStreamLive(session: "s", stream: n))
        try b.append(session: "s", event: StoredEvent(id: EventID(stream: n, seq: 2), data: [2]), final: true)
        #expect(try a.poll(after: cursor).streams == [FleetStreamKey(session: "s", stream: n)])
        #expect(try a.isStreamLive(session: "s", stream: n) == false)
    }

    @Test func aBroadcastIsKeptOncePerSession() throws {
        let dir = try SQLiteStoreTests.TempDir()
        let a = store(dir.path + "/f.db"), b = store(dir.path + "/f.db")
        #expect(try a.appendStandalone(session: "s", data: [1], once: "k1") == 1)
        #expect(try b.appendStandalone(session: "s", data: [1], once: "k1") == nil)
        #expect(try b.appendStandalone(session: "u", data: [1], once: "k1") == 1)
        #expect(try b.appendStandalone(session: "s", data: [2], once: "k2") == 2)
        #expect(try a.events(session: "s", stream: 0, after: 0)?.map(\.data) == [[1], [2]])
    }

    @Test func aSurvivorEndsTheStreamsAndTasksOfADeadNode() throws {
        let dir = try SQLiteStoreTests.TempDir()
        let dead = store(dir.path + "/f.db"), survivor = store(dir.path + "/f.db")
        try dead.renewLease(ttlMs: 100)
        try survivor.renewLease(ttlMs: 60_000)
        let n = try dead.openStream(session: "s", requests: [.int(41), .string("x")])
        try dead.append(session: "s", event: StoredEvent(id: EventID(stream: n, seq: 1), data: [9]), final: false)
        let running = StoredTask(id: "t1", ownerSessionID: "s", expiresAtMs: Timestamp.nowMs() + 60_000,
                                 body: ["taskId": "t1", "status": "working", "createdAt": "2026-01-01T00:00:00.000Z",
                                        "lastUpdatedAt": "2026-01-01T00:00:00.000Z", "ttl": 60_000, "pollInterval": 500])
        try dead.saveTask(running)
        let error = JSONRPCError(code: ErrorCode.internalError, message: "node lost")
        let answer = { (id: JSONValue) -> [UInt8] in Message.errorResponse(id: RequestID(id), error: error).serialized() }
        // Not yet expired: nothing to do.
        #expect(try survivor.reapExpired(answer: answer, taskError: error) == 0)
        usleep(150_000)
        #expect(try survivor.reapExpired(answer: answer, taskError: error) == 1)
        #expect(try survivor.reapExpired(answer: answer, taskError: error) == 0)
        let tail = try #require(try survivor.events(session: "s", stream: n, after: 1))
        #expect(tail.map(\.id.seq) == [2, 3])
        let answers = try tail.map { try Message(json: JSONParser.parse($0.data)) }
        #expect(answers == [.errorResponse(id: .int(41), error: error), .errorResponse(id: .string("x"), error: error)])
        #expect(try survivor.isStreamLive(session: "s", stream: n) == false)
        let failed = try #require(try survivor.loadTask("t1"))
        #expect(failed.body.objectValue?["status"] == "failed")
        #expect(failed.body.objectValue?["error"]?.objectValue?["message"] == "node lost")
    }

    @Test func aVersion1FileIsMigrated() throws {
        let dir = try SQLiteStoreTests.TempDir()
        let path = dir.path + "/old.db"
        do {
            let db = try SQLiteDatabase(path: path, busyTimeoutMs: 100)
            try db.exec("""
                PRAGMA journal_mode = WAL;
                CREATE TABLE sessions(id TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at INTEGER NOT NULL);
                CREATE TABLE events(session TEXT NOT NULL, stream INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL);
                CREATE UNIQUE INDEX events_key ON events(session, stream, seq);
                CREATE INDEX events_session ON events(session);
                CREATE TABLE tasks(id TEXT PRIMARY KEY, owner TEXT, body TEXT NOT NULL, expires_at INTEGER NOT NULL);
                INSERT INTO events VALUES ('s', 0, 1, x'01'), ('s', 0, 2, x'02'), ('s', 3, 0, x''), ('s', 3, 1, x'03');
                PRAGMA user_version = 1;
                """)
        }
        let s = store(path)
        try s.check()
        #expect(try s.events(session: "s", stream: 3, after: 0)?.map(\.data) == [[3]])
        // Numbering goes on after what the old file held.
        #expect(try s.openStream(session: "s", requests: []) == 4)
        #expect(try s.appendStandalone(session: "s", data: [4], once: nil) == 3)
    }
}
