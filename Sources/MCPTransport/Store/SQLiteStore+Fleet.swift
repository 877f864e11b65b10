import MCPCore
import MCPRuntime

/// `sqlite:` as a FleetStore: several processes on one machine sharing the
/// file. Every allocation happens inside one `BEGIN IMMEDIATE` transaction,
/// which SQLite serialises across processes, so two processes serving one
/// session never hand out the same stream number or standalone event number.
///
/// The channel between processes is the events table itself, polled: a
/// process relaying a stream another one writes asks for the events added
/// since its cursor (an AUTOINCREMENT id, which only grows). SQLite has no
/// notification between processes (no LISTEN/NOTIFY), so a short poll is the
/// honest mechanism; it costs almost nothing when idle because each poll
/// first reads `PRAGMA data_version`, which changes only when another
/// connection committed, and reads the table only then (or after a write of
/// this process).
extension SQLiteStore: FleetStore {
    public func openStream(session: String, requests: [JSONValue]) throws(StoreError) -> UInt64 {
        var number: Int64 = 0
        try write { db throws(StoreError) in
            // After every number any process used, including streams whose
            // events are gone and streams of a file from before version 2.
            try db.run("""
                SELECT max(m) FROM (SELECT max(stream) AS m FROM streams WHERE session = ?1
                                    UNION ALL SELECT max(stream) FROM events WHERE session = ?1)
                """, [.text(session)]) { row in number = row.int(0) }
            number += 1
            try db.run("INSERT OR REPLACE INTO streams(session, stream, node, requests, last_seq, finished) VALUES (?, ?, ?, ?, 0, 0)",
                       [.text(session), .int(number), .text(nodeID), .text(JSONSerializer.string(.array(requests)))])
            try insert(db, session: session, event: StoredEvent(id: EventID(stream: UInt64(number), seq: 0), data: []))
        }
        return UInt64(number)
    }

    public func append(session: String, event: StoredEvent, final: Bool) throws(StoreError) {
        try write { db throws(StoreError) in
            try insert(db, session: session, event: event)
            if final {
                try db.run("UPDATE streams SET finished = 1 WHERE session = ? AND stream = ?",
                           [.text(session), .int(Int64(bitPattern: event.id.stream))])
            }
        }
    }

    public func finishStream(session: String, stream: UInt64) {
        try? write { db throws(StoreError) in
            try db.run("UPDATE streams SET finished = 1 WHERE session = ? AND stream = ?",
                       [.text(session), .int(Int64(bitPattern: stream))])
        }
    }

    public func appendStandalone(session: String, data: [UInt8], once: String?) throws(StoreError) -> UInt64? {
        var seq: Int64 = 0
        var first = true
        try write { db throws(StoreError) in
            if let once {
                first = false
                try db.run("INSERT INTO once_keys(session, key, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                           [.text(session), .text(once), .int(Timestamp.nowMs())]) { _ in first = true }
                if !first { return }
            }
            // The counter row starts after the stored events (a session of a
            // file from before version 2, or one whose row was pruned).
            try db.run("""
                INSERT OR IGNORE INTO streams(session, stream, node, requests, last_seq, finished)
                  VALUES (?1, 0, NULL, '[]', (SELECT coalesce(max(seq), 0) FROM events WHERE session = ?1 AND stream = 0), 0)
                """, [.text(session)])
            try db.run("UPDATE streams SET last_seq = last_seq + 1 WHERE session = ? AND stream = 0 RETURNING last_seq",
                       [.text(session)]) { row in seq = row.int(0) }
            try insert(db, session: session, event: StoredEvent(id: EventID(stream: 0, seq: UInt64(seq)), data: data))
        }
        return first ? UInt64(seq) : nil
    }

    public func isStreamLive(session: String, stream: UInt64) throws(StoreError) -> Bool {
        try withDatabase { db throws(StoreError) -> Bool in
            var live = false
            try db.run("SELECT finished FROM streams WHERE session = ? AND stream = ?",
                       [.text(session), .int(Int64(bitPattern: stream))]) { row in live = row.int(0) == 0 }
            return live
        }
    }

    public func publish(_ message: FleetMessage) throws(StoreError) {
        try write { db throws(StoreError) in
            try db.run("INSERT INTO messages(kind, session, node, body, created_at) VALUES (?, ?, ?, ?, ?)",
                       [.text(message.kind.rawValue), .text(message.session), .text(nodeID), .blob(message.body),
                        .int(Timestamp.nowMs())])
        }
    }

    public func poll(after cursor: FleetCursor?) throws(StoreError) -> FleetChanges {
        // Whether to read at all: someone else committed, or we wrote.
        let wrote = state.withLock { s -> Bool in
            defer { s.wroteSince = false }
            return s.wroteSince
        }
        return try withDatabase { db throws(StoreError) -> FleetChanges in
            let version = try db.integer("PRAGMA data_version")
            let changed = seenDataVersion.withLock { seen -> Bool in
                defer { seen = version }
                return seen != version
            }
            guard var next = cursor else {
                return FleetChanges(cursor: FleetCursor(events: try db.integer("SELECT coalesce(max(id), 0) FROM events"),
                                                        messages: try db.integer("SELECT coalesce(max(id), 0) FROM messages")))
            }
            guard changed || wrote else { return FleetChanges(cursor: next) }
            var keys: [FleetStreamKey] = []
            var seen = Set<FleetStreamKey>()
            try db.run("SELECT id, session, stream FROM events WHERE id > ? ORDER BY id", [.int(next.events)]) { row in
                next.events = row.int(0)
                let key = FleetStreamKey(session: row.text(1) ?? "", stream: UInt64(bitPattern: row.int(2)))
                if seen.insert(key).inserted { keys.append(key) }
            }
            var messages: [FleetMessage] = []
            try db.run("SELECT id, kind, session, node, body FROM messages WHERE id > ? ORDER BY id",
                       [.int(next.messages)]) { row in
                next.messages = row.int(0)
                guard let kind = row.text(1).flatMap(FleetMessage.Kind.init(rawValue:)) else { return }
                messages.append(FleetMessage(kind: kind, session: row.text(2) ?? "", body: row.blob(4),
                                             node: row.text(3) ?? "", id: row.int(0)))
            }
            return FleetChanges(cursor: next, streams: keys, messages: messages)
        }
    }

    public func renewLease(ttlMs: Int) throws(StoreError) {
        try write { db throws(StoreError) in
            try db.run("INSERT OR REPLACE INTO nodes(id, expires_at) VALUES (?, ?)",
                       [.text(nodeID), .int(Timestamp.nowMs() + Int64(ttlMs))])
        }
    }

    public func leave() {
        // Expired at once rather than deleted: streams it leaves unfinished
        // are still found (and ended) by the next reaper.
        try? write { db throws(StoreError) in
            try db.run("UPDATE nodes SET expires_at = 0 WHERE id = ?", [.text(nodeID)])
        }
    }

    public func reapExpired(answer: (JSONValue) -> [UInt8], taskError: JSONRPCError) throws(StoreError) -> Int {
        let now = Timestamp.nowMs()
        // A read first: the write lock is taken only when there is work.
        let due = try withDatabase { db throws(StoreError) -> Bool in
            var any = false
            try db.run("SELECT 1 FROM nodes WHERE expires_at <= ? AND id != ? LIMIT 1", [.int(now), .text(nodeID)]) { _ in
                any = true
            }
            return any
        }
        guard due else { return 0 }
        var reaped = 0
        let error = JSONSerializer.string(taskError.json)
        try write { db throws(StoreError) in
            var dead: [String] = []
            try db.run("SELECT id FROM nodes WHERE expires_at <= ? AND id != ?", [.int(now), .text(nodeID)]) { row in
                if let id = row.text(0) { dead.append(id) }
            }
            for node in dead {
                var open: [(session: String, stream: Int64, requests: String)] = []
                try db.run("SELECT session, stream, requests FROM streams WHERE node = ? AND finished = 0", [.text(node)]) { row in
                    open.append((row.text(0) ?? "", row.int(1), row.text(2) ?? "[]"))
                }
                for s in open {
                    var seq: Int64 = 0
                    try db.run("SELECT coalesce(max(seq), 0) FROM events WHERE session = ? AND stream = ?",
                               [.text(s.session), .int(s.stream)]) { row in seq = row.int(0) }
                    let ids = (try? JSONParser.parse(s.requests))?.arrayValue ?? []
                    for id in ids {
                        seq += 1
                        try insert(db, session: s.session, event: StoredEvent(
                            id: EventID(stream: UInt64(s.stream), seq: UInt64(seq)), data: answer(id)))
                    }
                    try db.run("UPDATE streams SET finished = 1 WHERE session = ? AND stream = ?",
                               [.text(s.session), .int(s.stream)])
                }
                try db.run("""
                    UPDATE tasks SET body = json_set(body, '$.status', 'failed', '$.statusMessage', ?1,
                                                     '$.lastUpdatedAt', ?2, '$.error', json(?3))
                      WHERE node = ?4 AND json_extract(body, '$.status') IN ('working', 'input_required')
                    """, [.text(taskError.message), .text(Timestamp.now()), .text(error), .text(node)])
                try db.run("DELETE FROM nodes WHERE id = ?", [.text(node)])
                EngineLog.warning("store", "reaped a node whose lease expired",
                                  ["node": .string(node), "streams": .int(open.count)])
                reaped += 1
            }
        }
        return reaped
    }
}
