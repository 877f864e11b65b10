import MCPRuntime
import Testing
@testable import MCPCore

/// RecordStateStore over a dictionary RecordStore: what SQLiteStoreTests
/// asks of SQLite (sessions, events with exact replay and holes, tasks,
/// expiry, the per-session bound), asked of the host-store schema.
@Suite struct RecordStateStoreTests {
    final class Records: RecordStore, @unchecked Sendable {
        // @unchecked: the store calls touch `rows` and `failure` under `lock`; the
        // test reads and sets them only between calls.
        private let lock = LockedState(())
        var rows: [[UInt8]: (value: [UInt8], expires: Int64)] = [:]
        var failure: String?
        var kind: String { "test" }

        /// Runs `body` under the lock, or fails as the test set.
        private func locked<R>(_ body: () -> R) throws(StoreError) -> R {
            let r = lock.withLock { _ -> Result<R, StoreError> in
                if let failure { return .failure(StoreError(failure)) }
                return .success(body())
            }
            return try r.get()
        }

        func get(_ key: [UInt8]) throws(StoreError) -> [UInt8]? { try locked { rows[key]?.value } }
        func put(_ key: [UInt8], _ value: [UInt8], expiresAtMs: Int64) throws(StoreError) {
            try locked { rows[key] = (value, expiresAtMs) }
        }
        func remove(_ key: [UInt8]) throws(StoreError) { try locked { rows[key] = nil } }
        func list(prefix: [UInt8]) throws(StoreError) -> [(key: [UInt8], value: [UInt8])] {
            try locked { rows.filter { $0.key.starts(with: prefix) }.map { (key: $0.key, value: $0.value.value) }.shuffled() }
        }
        func check() throws(StoreError) {
            if let failure { throw StoreError(failure) }
        }
        var eventCount: Int { rows.keys.filter { $0.starts(with: Array("event/".utf8)) }.count }
    }

    private func event(_ stream: UInt64, _ seq: UInt64, _ text: String = "x") -> StoredEvent {
        StoredEvent(id: EventID(stream: stream, seq: seq), data: Array(text.utf8))
    }

    @Test func keepsSessionsEventsAndTasks() throws {
        let records = Records()
        let a = RecordStateStore(records: records, maxEventsPerSession: 100, eventTTLMs: 60_000)
        let record = SessionRecord(id: "s1", protocolVersion: "2025-11-25", clientCapabilities: ["roots": [:]],
                                   clientInfo: ["name": "c", "version": "1"], logLevel: "debug",
                                   subscriptions: ["test://a"], owner: nil)
        try a.saveSession(record, ttlMs: 60_000)
        for seq in 0..<4 { try a.append(session: "s1", event: event(1, UInt64(seq), "a\(seq)")) }
        try a.append(session: "s1", event: event(0, 1, "g1"))
        // A session whose id extends s1's with "/": its events are not s1's.
        try a.append(session: "s1/0000000000000001", event: event(1, 9, "other"))
        let task = StoredTask(id: "t1", ownerSessionID: "s1", expiresAtMs: Timestamp.nowMs() + 60_000,
                              body: ["status": "completed", "result": ["content": []]])
        try a.saveTask(task)

        // Nothing is cached: a second adapter over the same records sees it all.
        let b = RecordStateStore(records: records, maxEventsPerSession: 100, eventTTLMs: 60_000)
        #expect(try b.loadSession("s1") == record)
        #expect(try b.loadSession("nope") == nil)
        #expect(try b.events(session: "s1", stream: 1, after: 1)?.map { String(decoding: $0.data, as: UTF8.self) } == ["a2", "a3"])
        #expect(try b.events(session: "s1", stream: 1, after: 3) == [])
        #expect(try b.events(session: "s1", stream: 1, after: 9) == nil)
        #expect(try b.events(session: "s1", stream: 7, after: 0) == nil)
        #expect(try b.lastSeqs(session: "s1") == [0: 1, 1: 3])
        #expect(try b.loadTask("t1") == task)
        b.removeSession("s1")
        #expect(try b.loadSession("s1") == nil)
        #expect(try b.events(session: "s1", stream: 1, after: 0) == nil)
        #expect(try b.lastSeqs(session: "s1/0000000000000001") == [1: 9])
        b.removeTask("t1")
        #expect(try b.loadTask("t1") == nil)
    }

    @Test func expiredRecordsAreNotServed() throws {
        let records = Records()
        let s = RecordStateStore(records: records, maxEventsPerSession: 10, eventTTLMs: 1000)
        let record = SessionRecord(id: "old", protocolVersion: "2025-11-25", clientCapabilities: [:],
                                   clientInfo: [:], logLevel: "info", subscriptions: [], owner: nil)
        try s.saveSession(record, ttlMs: -1)
        #expect(try s.loadSession("old") == nil)
        try s.saveTask(StoredTask(id: "t", ownerSessionID: nil, expiresAtMs: Timestamp.nowMs() - 1, body: [:]))
        #expect(try s.loadTask("t") == nil)
        try s.append(session: "x", event: event(1, 1))
        let expires = records.rows.values.map(\.expires).max() ?? 0
        #expect(expires > Timestamp.nowMs() && expires <= Timestamp.nowMs() + 1000)
    }

    @Test func boundsEventsPerSessionOldestFirstAndAnswersNilForAHole() throws {
        let records = Records()
        let s = RecordStateStore(records: records, maxEventsPerSession: 16, eventTTLMs: 60_000)
        // Interleaved streams: the oldest appended go first, whatever their stream.
        for seq in 1...40 {
            try s.append(session: "s", event: event(0, UInt64(seq)))
            try s.append(session: "s", event: event(1, UInt64(seq)))
        }
        #expect(records.eventCount <= 16 + 16 / 8)
        #expect(records.eventCount >= 16)
        let heads = try s.lastSeqs(session: "s")
        #expect(heads == [0: 40, 1: 40])
        #expect(try s.events(session: "s", stream: 1, after: 1) == nil)  // a hole: dropped
        let tail = try #require(try s.events(session: "s", stream: 1, after: 35))
        #expect(tail.map(\.id.seq) == [36, 37, 38, 39, 40])
    }

    @Test func failuresAreStoreErrors() throws {
        let records = Records()
        let s = RecordStateStore(records: records, maxEventsPerSession: 10, eventTTLMs: 1000)
        records.failure = "down"
        #expect(throws: StoreError.self) { try s.append(session: "s", event: event(1, 1)) }
        #expect(throws: StoreError.self) { try s.loadSession("s") }
        #expect(throws: StoreError.self) { try s.check() }
        do {
            _ = try s.loadTask("t")
            Issue.record("no error")
        } catch {
            #expect(error.rpcError.message == "State store unavailable: down")
        }
        records.failure = nil
        try s.check()
    }
}
