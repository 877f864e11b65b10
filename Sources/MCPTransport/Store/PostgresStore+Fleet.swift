import MCPCore
import MCPRuntime
internal import NIOCore
internal import PostgresNIO

/// `postgres://` as a FleetStore: nodes on many machines sharing one
/// database. The same semantics as SQLiteStore+Fleet, with PostgreSQL's own
/// means where they are better:
///
/// - Numbers are allocated atomically across nodes by an upsert on the
///   session's row of mcp_counters (`ON CONFLICT … DO UPDATE SET n = n + 1
///   RETURNING n`): the row lock orders concurrent allocations, without a
///   table lock or a retry.
/// - Every write other nodes must learn of calls pg_notify in the same
///   statement (PostgresListener): the notification goes out at commit and
///   only then, so no node is told of a row it cannot read; a message body
///   too long for a notification (over ~7 KB once escaped; PostgreSQL's limit
///   is 8000 bytes) stays in mcp_messages and the notification carries its key.
/// - `poll` remains the reference, every fleet_poll_ms: transactions commit
///   out of id order here, so it reads the rows of every transaction at or
///   above the horizon of its last read (txid_snapshot_xmin: every
///   transaction below it had ended) and skips those already reported
///   (FleetCursor.seen…). It misses nothing, whether notifications were
///   lost or the LISTEN connection was down; after a read that succeeded it
///   reconnects that connection if it was lost.
/// - Leases are judged on the database's clock (now()), so nodes whose
///   clocks disagree still agree on who is dead; of several survivors, one
///   reaps a node (FOR UPDATE SKIP LOCKED).
extension PostgresStore: FleetStore {
    /// Milliseconds since 1970 on the database's clock.
    private static let dbNowMs = "(extract(epoch FROM now()) * 1000)::bigint"
    /// The notification of an event row `e` (RETURNING id, tx, session, stream).
    private static let notifyEvent = """
        pg_notify('mcp_fleet', json_build_object('k', 'e', 'id', e.id, 'tx', e.tx, 's', e.session, 'n', e.stream)::text)
        """
    /// The notification payload limit is 8000 bytes; what is left after the
    /// other fields for a message body, escaped as a JSON string.
    private static let maxInlineBody = 7000

    public func openStream(session: String, requests: [JSONValue]) throws(StoreError) -> UInt64 {
        let req = JSONSerializer.string(.array(requests))
        let rows = try write { c throws(PostgresPool.Failure) in
            // The counter row starts after the stored events (a session of a
            // database from before version 2, or one whose row was pruned).
            try pool.query(c, """
                WITH n AS (INSERT INTO mcp_counters(session, streams, standalone)
                             VALUES (\(session), (SELECT coalesce(max(stream), 0) + 1 FROM mcp_events WHERE session = \(session)),
                                     (SELECT coalesce(max(seq), 0) FROM mcp_events WHERE session = \(session) AND stream = 0))
                             ON CONFLICT (session) DO UPDATE SET streams = mcp_counters.streams + 1 RETURNING streams),
                     s AS (INSERT INTO mcp_streams(session, stream, node, requests)
                             SELECT \(session), streams, \(nodeID), \(req) FROM n
                             ON CONFLICT (session, stream) DO UPDATE SET node = EXCLUDED.node, requests = EXCLUDED.requests,
                                                                         finished = false),
                     e AS (INSERT INTO mcp_events(session, stream, seq, data) SELECT \(session), streams, 0, ''::bytea FROM n
                             ON CONFLICT (session, stream, seq) DO UPDATE SET data = EXCLUDED.data, tx = EXCLUDED.tx
                             RETURNING id, tx, session, stream)
                SELECT e.stream, \(unescaped: Self.notifyEvent) FROM e
                """)
        }
        guard let row = rows.first, let n = try? row.decode(Int64.self) else {  // the first column
            throw StoreError("\(options.display): no stream number allocated")
        }
        return UInt64(bitPattern: n)
    }

    public func append(session: String, event: StoredEvent, final: Bool) throws(StoreError) {
        let keep = Int64(options.maxEventsPerSession - 1)  // plus the one inserted
        var data = ByteBuffer()
        data.writeBytes(event.data)
        let stream = Int64(bitPattern: event.id.stream)
        let seq = Int64(bitPattern: event.id.seq)
        try write { c throws(PostgresPool.Failure) in
            _ = try pool.query(c, """
                WITH e AS (INSERT INTO mcp_events(session, stream, seq, data) VALUES (\(session), \(stream), \(seq), \(data))
                             ON CONFLICT (session, stream, seq) DO UPDATE SET data = EXCLUDED.data, tx = EXCLUDED.tx
                             RETURNING id, tx, session, stream),
                     f AS (UPDATE mcp_streams SET finished = true WHERE \(final) AND session = \(session) AND stream = \(stream)),
                     d AS (DELETE FROM mcp_events WHERE session = \(session) AND id <= (
                             SELECT id FROM mcp_events WHERE session = \(session) ORDER BY id DESC LIMIT 1 OFFSET \(keep)))
                SELECT \(unescaped: Self.notifyEvent) FROM e
                """)
        }
    }

    public func finishStream(session: String, stream: UInt64) {
        try? write { c throws(PostgresPool.Failure) in
            _ = try pool.query(c, """
                UPDATE mcp_streams SET finished = true WHERE session = \(session) AND stream = \(Int64(bitPattern: stream))
                """)
        }
    }

    public func appendStandalone(session: String, data: [UInt8], once: String?) throws(StoreError) -> UInt64? {
        let keep = Int64(options.maxEventsPerSession - 1)
        var buffer = ByteBuffer()
        buffer.writeBytes(data)
        let onceKey = once ?? ""
        let hasOnce = once != nil
        let now = Timestamp.nowMs()
        let rows = try write { c throws(PostgresPool.Failure) in
            // One statement: the broadcast key (a conflict means another node
            // passed this broadcast on already: nothing more happens), the
            // number, the event, the session's bound.
            try pool.query(c, """
                WITH o AS (INSERT INTO mcp_once_keys(session, key, created_at) SELECT \(session), \(onceKey), \(now) WHERE \(hasOnce)
                             ON CONFLICT DO NOTHING RETURNING 1),
                     n AS (INSERT INTO mcp_counters(session, streams, standalone)
                             SELECT \(session), (SELECT coalesce(max(stream), 0) FROM mcp_events WHERE session = \(session)),
                                    (SELECT coalesce(max(seq), 0) + 1 FROM mcp_events WHERE session = \(session) AND stream = 0)
                             WHERE NOT \(hasOnce) OR EXISTS (SELECT 1 FROM o)
                             ON CONFLICT (session) DO UPDATE SET standalone = mcp_counters.standalone + 1 RETURNING standalone),
                     e AS (INSERT INTO mcp_events(session, stream, seq, data) SELECT \(session), 0, standalone, \(buffer) FROM n
                             ON CONFLICT (session, stream, seq) DO UPDATE SET data = EXCLUDED.data, tx = EXCLUDED.tx
                             RETURNING id, tx, session, stream, seq),
                     d AS (DELETE FROM mcp_events WHERE EXISTS (SELECT 1 FROM n) AND session = \(session) AND id <= (
                             SELECT id FROM mcp_events WHERE session = \(session) ORDER BY id DESC LIMIT 1 OFFSET \(keep)))
                SELECT e.seq, \(unescaped: Self.notifyEvent) FROM e
                """)
        }
        guard let row = rows.first else {
            if hasOnce { return nil }
            throw StoreError("\(options.display): no event number allocated")
        }
        guard let seq = try? row.decode(Int64.self) else {  // the first column
            throw StoreError("\(options.display): unreadable event number")
        }
        return UInt64(bitPattern: seq)
    }

    public func isStreamLive(session: String, stream: UInt64) throws(StoreError) -> Bool {
        let rows = try run { c throws(PostgresPool.Failure) in
            try pool.query(c, """
                SELECT NOT finished FROM mcp_streams WHERE session = \(session) AND stream = \(Int64(bitPattern: stream))
                """)
        }
        return rows.first.flatMap { try? $0.decode(Bool.self) } ?? false
    }

    public func publish(_ message: FleetMessage) throws(StoreError) {
        var body = ByteBuffer()
        body.writeBytes(message.body)
        let inline = inlineBody(message)
        let now = Timestamp.nowMs()
        try write { c throws(PostgresPool.Failure) in
            _ = try pool.query(c, """
                WITH m AS (INSERT INTO mcp_messages(kind, session, node, body, created_at)
                             VALUES (\(message.kind.rawValue), \(message.session), \(nodeID), \(body), \(now))
                             RETURNING id, tx, kind, session, node)
                SELECT pg_notify('mcp_fleet', json_build_object('k', 'm', 'id', m.id, 'tx', m.tx, 'kind', m.kind,
                                                                's', m.session, 'node', m.node, 'b', \(inline)::text)::text) FROM m
                """)
        }
    }

    /// The body as text for the notification, when it is UTF-8 (JSON and
    /// URIs are) and short enough; nil: the reader fetches it by id.
    private func inlineBody(_ m: FleetMessage) -> String? {
        let text = String(decoding: m.body, as: UTF8.self)
        guard Array(text.utf8) == m.body else { return nil }
        let escaped = JSONSerializer.string(.string(text)).utf8.count + JSONSerializer.string(.string(m.session)).utf8.count
        return escaped <= Self.maxInlineBody ? text : nil
    }

    public func poll(after cursor: FleetCursor?) throws(StoreError) -> FleetChanges {
        let initial = cursor == nil
        var next = cursor ?? FleetCursor(events: 0, messages: 0)
        let from: Int64? = cursor?.events
        let eventRows = try run(background: true) { c throws(PostgresPool.Failure) in
            try pool.query(c, """
                SELECT h.x, e.id, e.tx, e.session, e.stream
                  FROM (SELECT txid_snapshot_xmin(txid_current_snapshot()) AS x) h
                  LEFT JOIN mcp_events e ON e.tx >= coalesce(\(from), h.x)
                  ORDER BY e.id
                """)
        }
        var keys: [FleetStreamKey] = []
        var seenKeys = Set<FleetStreamKey>()
        var horizon = next.events
        for row in eventRows {
            guard let (x, id, tx, session, stream) = try? row.decode((Int64, Int64?, Int64?, String?, Int64?).self) else {
                throw StoreError("\(options.display): unreadable row in mcp_events")
            }
            horizon = x
            guard let id, let tx, let session, let stream, next.seenEvents[id] != tx else { continue }
            next.seenEvents[id] = tx
            let key = FleetStreamKey(session: session, stream: UInt64(bitPattern: stream))
            if !initial, seenKeys.insert(key).inserted { keys.append(key) }
        }
        next.events = horizon
        next.seenEvents = next.seenEvents.filter { $0.value >= horizon }

        let fromM: Int64? = cursor?.messages
        let messageRows = try run(background: true) { c throws(PostgresPool.Failure) in
            try pool.query(c, """
                SELECT h.x, m.id, m.tx, m.kind, m.session, m.node, m.body
                  FROM (SELECT txid_snapshot_xmin(txid_current_snapshot()) AS x) h
                  LEFT JOIN mcp_messages m ON m.tx >= coalesce(\(fromM), h.x)
                  ORDER BY m.id
                """)
        }
        var messages: [FleetMessage] = []
        horizon = next.messages
        for row in messageRows {
            guard let (x, id, tx, kind, session, node, body) =
                try? row.decode((Int64, Int64?, Int64?, String?, String?, String?, ByteBuffer?).self)
            else { throw StoreError("\(options.display): unreadable row in mcp_messages") }
            horizon = x
            guard let id, let tx, next.seenMessages[id] != tx else { continue }
            next.seenMessages[id] = tx
            guard !initial, let kind = kind.flatMap(FleetMessage.Kind.init(rawValue:)), let body else { continue }
            messages.append(FleetMessage(kind: kind, session: session ?? "",
                                         body: body.getBytes(at: body.readerIndex, length: body.readableBytes) ?? [],
                                         node: node ?? "", id: id))
        }
        next.messages = horizon
        next.seenMessages = next.seenMessages.filter { $0.value >= horizon }
        // Listening again if the connection was lost, now that the server
        // answered (an unreachable one would hold this loop for a connect
        // timeout): what commits before the new LISTEN, the next poll reads.
        listener.ensure()
        return FleetChanges(cursor: next, streams: keys, messages: messages)
    }

    public func watch(_ wake: (@Sendable () -> Void)?) {
        listener.watch(wake)
    }

    public func notified(after cursor: FleetCursor) throws(StoreError) -> FleetChanges {
        var next = cursor
        var keys: [FleetStreamKey] = []
        var seenKeys = Set<FleetStreamKey>()
        var messages: [FleetMessage] = []
        for note in listener.take() {
            switch note {
            case .event(let id, let tx, let key):
                // Below the horizon or seen: a poll reported it already.
                guard tx >= next.events, next.seenEvents[id] != tx else { continue }
                next.seenEvents[id] = tx
                if seenKeys.insert(key).inserted { keys.append(key) }
            case .message(let id, let tx, let kind, let session, let node, let inline):
                guard tx >= next.messages, next.seenMessages[id] != tx else { continue }
                // A body too long to ride along: read it (left for the next
                // poll if that fails; gone if pruned, a minute on).
                guard let body = inline ?? (try? messageBody(id)) else { continue }
                next.seenMessages[id] = tx
                messages.append(FleetMessage(kind: kind, session: session, body: body, node: node, id: id))
            }
        }
        return FleetChanges(cursor: next, streams: keys, messages: messages)
    }

    private func messageBody(_ id: Int64) throws(StoreError) -> [UInt8]? {
        let rows = try run(background: true) { c throws(PostgresPool.Failure) in
            try pool.query(c, "SELECT body FROM mcp_messages WHERE id = \(id)")
        }
        guard let row = rows.first, let body = try? row.decode(ByteBuffer.self) else { return nil }
        return body.getBytes(at: body.readerIndex, length: body.readableBytes) ?? []
    }

    public func renewLease(ttlMs: Int) throws(StoreError) {
        let ttl = Int64(ttlMs)
        try write(background: true) { c throws(PostgresPool.Failure) in
            _ = try pool.query(c, """
                INSERT INTO mcp_nodes(id, expires_at) VALUES (\(nodeID), \(unescaped: Self.dbNowMs) + \(ttl))
                ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at
                """)
        }
    }

    public func leave() {
        // Expired at once rather than deleted: streams it leaves unfinished
        // are still found (and ended) by the next reaper.
        try? write { c throws(PostgresPool.Failure) in
            _ = try pool.query(c, "UPDATE mcp_nodes SET expires_at = 0 WHERE id = \(nodeID)")
        }
    }

    public func reapExpired(answer: (JSONValue) -> [UInt8], taskError: JSONRPCError) throws(StoreError) -> Int {
        // A read first: the transaction is opened only when there is work.
        let due = try run(background: true) { c throws(PostgresPool.Failure) in
            try pool.query(c, """
                SELECT 1 FROM mcp_nodes WHERE expires_at <= \(unescaped: Self.dbNowMs) AND id <> \(nodeID) LIMIT 1
                """)
        }
        guard !due.isEmpty else { return 0 }
        let error = JSONSerializer.string(taskError.json)
        let now = Timestamp.now()
        let me = nodeID
        return try write(background: true) { c throws(PostgresPool.Failure) -> Int in
            _ = try pool.query(c, "BEGIN")
            do throws(PostgresPool.Failure) {
                let reaped = try reap(c, me: me, answer: answer, taskError: taskError, error: error, now: now)
                _ = try pool.query(c, "COMMIT")
                return reaped
            } catch {
                _ = try? pool.query(c, "ROLLBACK")
                throw error
            }
        }
    }

    /// Inside reapExpired's transaction. SKIP LOCKED: a node another
    /// survivor is reaping right now is left to it.
    private func reap(_ c: PostgresConnection, me: String, answer: (JSONValue) -> [UInt8], taskError: JSONRPCError,
                      error: String, now: String) throws(PostgresPool.Failure) -> Int
    {
        var dead: [String] = []
        for row in try pool.query(c, """
            SELECT id FROM mcp_nodes WHERE expires_at <= \(unescaped: Self.dbNowMs) AND id <> \(me) FOR UPDATE SKIP LOCKED
            """)
        {
            if let id = try? row.decode(String.self) { dead.append(id) }
        }
        for node in dead {
            var open: [(session: String, stream: Int64, requests: String)] = []
            for row in try pool.query(c, "SELECT session, stream, requests FROM mcp_streams WHERE node = \(node) AND NOT finished") {
                if let (session, stream, requests) = try? row.decode((String, Int64, String).self) {
                    open.append((session, stream, requests))
                }
            }
            for s in open {
                let head = try pool.query(c, """
                    SELECT coalesce(max(seq), 0) FROM mcp_events WHERE session = \(s.session) AND stream = \(s.stream)
                    """)
                var seq = head.first.flatMap { try? $0.decode(Int64.self) } ?? 0
                for id in (try? JSONParser.parse(s.requests))?.arrayValue ?? [] {
                    seq += 1
                    var data = ByteBuffer()
                    data.writeBytes(answer(id))
                    _ = try pool.query(c, """
                        WITH e AS (INSERT INTO mcp_events(session, stream, seq, data) VALUES (\(s.session), \(s.stream), \(seq), \(data))
                                     RETURNING id, tx, session, stream)
                        SELECT \(unescaped: Self.notifyEvent) FROM e
                        """)
                }
                _ = try pool.query(c, "UPDATE mcp_streams SET finished = true WHERE session = \(s.session) AND stream = \(s.stream)")
            }
            _ = try pool.query(c, """
                UPDATE mcp_tasks SET body = (body::jsonb || jsonb_build_object('status', 'failed', 'statusMessage', \(taskError.message),
                                                                                'lastUpdatedAt', \(now), 'error', \(error)::jsonb))::text
                  WHERE node = \(node) AND body::jsonb ->> 'status' IN ('working', 'input_required')
                """)
            _ = try pool.query(c, "DELETE FROM mcp_nodes WHERE id = \(node)")
            EngineLog.warning("store", "reaped a node whose lease expired", ["node": .string(node), "streams": .int(open.count)])
        }
        return dead.count
    }
}
