import Foundation
import MCPCore
import MCPRuntime
import Testing
@testable import MCPTransport

/// `postgres://` as a FleetStore, against the private server of
/// PostgresStoreTests: two stores on one database stand for two nodes. The
/// same cases as SQLiteFleetTests, then what PostgreSQL adds: allocation
/// from many threads of two nodes at once, notifications that bring each
/// change once (a poll after them finds nothing new), a body too long for a
/// notification, a lost LISTEN connection, and a version 1 database migrated.
@Suite struct PostgresFleetTests {
    private func store(_ url: String) throws -> PostgresStore {
        var o = try PostgresOptions(url: url)
        o.retryMs = 0
        return PostgresStore(options: o)
    }

    private func database() throws -> (server: PostgresStoreTests.Server, url: String, name: String) {
        let server = try PostgresStoreTests.Server.shared.get()
        let url = try server.database()
        return (server, url, String(url.split(separator: "/").last?.split(separator: "?").first ?? ""))
    }

    /// Waits (up to 5 s) for `notified` to bring something.
    private func notified(_ s: PostgresStore, after cursor: FleetCursor,
                          until done: (FleetChanges) -> Bool) throws -> FleetChanges
    {
        var all = FleetChanges(cursor: cursor)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let more = try s.notified(after: all.cursor)
            all.cursor = more.cursor
            all.streams += more.streams
            all.messages += more.messages
            if done(all) { return all }
            usleep(5000)
        }
        return all
    }

    @Test func twoNodesNeverShareAStreamOrEventNumber() throws {
        let url = try database().url
        let a = try store(url), b = try store(url)
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
        let replay = try #require(try a.events(session: "s", stream: 0, after: 0))
        #expect(replay.map { String(decoding: $0.data, as: UTF8.self) } == (0..<10).map { "n\($0)" })
        a.close()
        b.close()
    }

    @Test func concurrentAllocationsFromTwoNodesNeverCollide() throws {
        let url = try database().url
        let nodes = [try store(url), try store(url)]
        let got = LockedState<(streams: [UInt64], events: [UInt64], errors: [String])>(([], [], []))
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for _ in 0..<10 {
                do throws(StoreError) {
                    let n = try nodes[worker % 2].openStream(session: "s", requests: [])
                    let e = try nodes[worker % 2].appendStandalone(session: "s", data: [1], once: nil)
                    got.withLock {
                        $0.streams.append(n)
                        if let e { $0.events.append(e) }
                    }
                } catch {
                    got.withLock { $0.errors.append(error.message) }
                }
            }
        }
        let r = got.withLock { $0 }
        #expect(r.errors == [])
        #expect(r.streams.sorted() == Array(1...80))
        #expect(r.events.sorted() == Array(1...80))
        // Every standalone event stored under its number: a replay has no hole.
        #expect(try nodes[0].events(session: "s", stream: 0, after: 0)?.count == 80)
        for n in nodes { n.close() }
    }

    @Test func theChannelShowsWhatTheOtherNodeWrote() throws {
        let url = try database().url
        let a = try store(url), b = try store(url)
        var cursor = try a.poll(after: nil).cursor
        #expect(try a.poll(after: cursor).streams.isEmpty)
        let n = try b.openStream(session: "s", requests: [.int(7)])
        try b.append(session: "s", event: StoredEvent(id: EventID(stream: n, seq: 1), data: [1]), final: false)
        try b.publish(FleetMessage(kind: .resourceUpdated, session: "", body: Array("test://r".utf8), node: b.nodeID))
        let changes = try a.poll(after: cursor)
        #expect(changes.streams == [FleetStreamKey(session: "s", stream: n)])
        #expect(changes.messages.map(\.kind) == [.resourceUpdated])
        #expect(changes.messages.first?.node == b.nodeID && changes.messages.first?.body == Array("test://r".utf8))
        cursor = changes.cursor
        // Read once: the next poll finds nothing more.
        let again = try a.poll(after: cursor)
        #expect(again.streams.isEmpty && again.messages.isEmpty)
        cursor = again.cursor
        #expect(try a.isStreamLive(session: "s", stream: n))
        try b.append(session: "s", event: StoredEvent(id: EventID(stream: n, seq: 2), data: [2]), final: true)
        #expect(try a.poll(after: cursor).streams == [FleetStreamKey(session: "s", stream: n)])
        #expect(try a.isStreamLive(session: "s", stream: n) == false)
        a.close()
        b.close()
    }

    @Test func notificationsBringEachChangeOnceBeforeAnyPoll() throws {
        let url = try database().url
        let a = try store(url), b = try store(url)
        let woken = LockedState(0)
        a.watch { woken.withLockAndNotify { $0 += 1 } }
        let start = try a.poll(after: nil).cursor
        let n = try b.openStream(session: "s", requests: [.int(1)])
        try b.append(session: "s", event: StoredEvent(id: EventID(stream: n, seq: 1), data: [1]), final: false)
        try b.publish(FleetMessage(kind: .relayed, session: "s", body: Array(#"{"jsonrpc":"2.0","id":3,"result":{}}"#.utf8),
                                   node: b.nodeID))
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 20_000)  // over the 8000-byte notification limit
        try b.publish(FleetMessage(kind: .resourceUpdated, session: "", body: big, node: b.nodeID))
        let got = try notified(a, after: start) { $0.messages.count == 2 }
        #expect(woken.withLock { $0 } >= 1)
        #expect(got.streams == [FleetStreamKey(session: "s", stream: n)])
        #expect(got.messages.map(\.kind) == [.relayed, .resourceUpdated])
        #expect(got.messages.first?.body == Array(#"{"jsonrpc":"2.0","id":3,"result":{}}"#.utf8))
        #expect(got.messages.first?.session == "s" && got.messages.first?.node == b.nodeID)
        #expect(got.messages.last?.body == big)  // read from the table by its key
        // The poll, the reference, reports none of them again.
        let poll = try a.poll(after: got.cursor)
        #expect(poll.streams.isEmpty && poll.messages.isEmpty)
        // And what a poll reported first, its notification (arriving later) does not repeat.
        try b.publish(FleetMessage(kind: .resourceUpdated, session: "", body: Array("test://late".utf8), node: b.nodeID))
        let polled = try a.poll(after: poll.cursor)
        #expect(polled.messages.map(\.body) == [Array("test://late".utf8)])
        usleep(300_000)
        #expect(try a.notified(after: polled.cursor).messages.isEmpty)
        a.close()
        b.close()
    }

    @Test func aLostListenConnectionIsReplacedAndNothingIsMissed() throws {
        let (server, url, name) = try database()
        let a = try store(url), b = try store(url)
        a.watch {}
        var cursor = try a.poll(after: nil).cursor
        // The server ends the LISTEN session (as a restart or a failover would).
        #expect(try server.ask("sql \(name) SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            + "WHERE datname = '\(name)' AND query LIKE 'LISTEN%'") == "OK 1")
        usleep(100_000)
        // Written while nobody listened: the poll finds it (and listens again first).
        try b.publish(FleetMessage(kind: .resourceUpdated, session: "", body: Array("test://gap".utf8), node: b.nodeID))
        let gap = try a.poll(after: cursor)
        #expect(gap.messages.map(\.body) == [Array("test://gap".utf8)])
        cursor = gap.cursor
        #expect(try server.ask("sql \(name) SELECT count(*) FROM pg_stat_activity WHERE datname = '\(name)' "
            + "AND query LIKE 'LISTEN%'") == "OK 1")
        try b.publish(FleetMessage(kind: .resourceUpdated, session: "", body: Array("test://after".utf8), node: b.nodeID))
        let after = try notified(a, after: cursor) { !$0.messages.isEmpty }
        #expect(after.messages.map(\.body) == [Array("test://after".utf8)])
        a.close()
        b.close()
    }

    @Test func aBroadcastIsKeptOncePerSession() throws {
        let url = try database().url
        let a = try store(url), b = try store(url)
        #expect(try a.appendStandalone(session: "s", data: [1], once: "k1") == 1)
        #expect(try b.appendStandalone(session: "s", data: [1], once: "k1") == nil)
        #expect(try b.appendStandalone(session: "u", data: [1], once: "k1") == 1)
        #expect(try b.appendStandalone(session: "s", data: [2], once: "k2") == 2)
        #expect(try a.events(session: "s", stream: 0, after: 0)?.map(\.data) == [[1], [2]])
        a.close()
        b.close()
    }

    @Test func aSurvivorEndsTheStreamsAndTasksOfADeadNode() throws {
        let url = try database().url
        let dead = try store(url), survivor = try store(url)
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
        #expect(failed.body.objectValue?["taskId"] == "t1")
        // A node that leaves is reaped at once, and a live one never.
        try dead.renewLease(ttlMs: 60_000)
        #expect(try survivor.reapExpired(answer: answer, taskError: error) == 0)
        dead.leave()
        #expect(try survivor.reapExpired(answer: answer, taskError: error) == 1)
        dead.close()
        survivor.close()
    }

    @Test func aVersion1DatabaseIsMigrated() throws {
        let (server, url, name) = try database()
        // The version 1 schema, as the previous release created it, owned by the store's role.
        let v1 = [
            "CREATE TABLE mcp_sessions(id text PRIMARY KEY, record text NOT NULL, expires_at bigint NOT NULL)",
            "CREATE TABLE mcp_events(id bigserial PRIMARY KEY, session text NOT NULL, stream bigint NOT NULL, "
                + "seq bigint NOT NULL, data bytea NOT NULL, UNIQUE (session, stream, seq))",
            "CREATE TABLE mcp_tasks(id text PRIMARY KEY, owner text, body text NOT NULL, expires_at bigint NOT NULL)",
            "CREATE TABLE mcp_schema_version(version integer NOT NULL)",
            "INSERT INTO mcp_schema_version VALUES (1)",
            "INSERT INTO mcp_events(session, stream, seq, data) VALUES ('s', 0, 1, '\\x01'), ('s', 0, 2, '\\x02'), "
                + "('s', 3, 0, ''), ('s', 3, 1, '\\x03')",
            "ALTER TABLE mcp_sessions OWNER TO mcp", "ALTER TABLE mcp_events OWNER TO mcp",
            "ALTER TABLE mcp_tasks OWNER TO mcp", "ALTER TABLE mcp_schema_version OWNER TO mcp",
        ].joined(separator: "; ")
        #expect(try server.ask("sql \(name) \(v1)").hasPrefix("OK"))
        let s = try store(url)
        try s.check()
        #expect(try server.ask("sql \(name) SELECT version FROM mcp_schema_version") == "OK 2")
        #expect(try s.events(session: "s", stream: 3, after: 0)?.map(\.data) == [[3]])
        // Numbering goes on after what the old database held.
        #expect(try s.openStream(session: "s", requests: []) == 4)
        #expect(try s.appendStandalone(session: "s", data: [4], once: nil) == 3)
        s.close()
    }
}
