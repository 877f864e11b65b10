import MCPRuntime

/// A StateStore over a RecordStore (a host's store: mcp_server_set_store).
/// The engine keeps its own schema in the keys and values, so the host
/// stores opaque bytes:
///
///   session/<id>                      {"expiresAt": ms, "record": SessionRecord.json}
///   task/<id>                         {"owner": id or null, "expiresAt": ms, "body": ...}
///   event/<session>/<stream>/<seq>    8 bytes: the append order (big-endian), then the data
///
/// stream and seq are 16 lowercase hex digits, so a session's keys sort by
/// stream and seq, and a listing of `event/<session>/` or of one stream's
/// prefix reads what SQLiteStore's queries read. A listed key whose session
/// part is not exactly the one asked for (an id with a "/" in it) is skipped.
///
/// Retention as SQLiteStore's: a session record expires `ttlMs` after its
/// last save; each event expires `eventTTLMs` after it was appended (the
/// session's idle timeout: the host may drop it then; a store that keeps it
/// longer only keeps it longer); a task at its TTL. Each session keeps at
/// most `maxEventsPerSession` events, the oldest appended dropped first:
/// checked every eighth of that bound of appends, by one listing, so a
/// session holds at most 1.125 times the bound between checks.
///
/// Nothing is cached: every read goes to the store, so what the host holds
/// is what is served (a restarted process, another server on the same host
/// store after the first one stopped).
public final class RecordStateStore: StateStore {
    public let records: any RecordStore
    let maxEventsPerSession: Int
    let eventTTLMs: Int
    /// Per session: appends since its events were last counted (bounded:
    /// forgetting a count only delays the next check).
    private let appends = LockedState([String: Int]())
    /// The last append order given out: time-based, so it grows across
    /// restarts too, and strictly increasing within the process.
    private let order = LockedState<UInt64>(0)
    static let maxTrackedSessions = 65536

    public init(records: any RecordStore, maxEventsPerSession: Int, eventTTLMs: Int) {
        self.records = records
        self.maxEventsPerSession = max(1, maxEventsPerSession)
        self.eventTTLMs = max(1, eventTTLMs)
    }

    public var kind: String { records.kind }
    public var isDurable: Bool { true }
    public func check() throws(StoreError) { try records.check() }
    /// The host's store outlives a listener (mcp_server_free ends it).
    public func close() {}

    // MARK: keys

    static func sessionKey(_ id: String) -> [UInt8] { Array("session/".utf8) + Array(id.utf8) }
    static func taskKey(_ id: String) -> [UInt8] { Array("task/".utf8) + Array(id.utf8) }
    static func eventsPrefix(_ session: String) -> [UInt8] { Array("event/".utf8) + Array(session.utf8) + [0x2F] }
    static func streamPrefix(_ session: String, _ stream: UInt64) -> [UInt8] {
        eventsPrefix(session) + hex(stream) + [0x2F]
    }
    static func eventKey(_ session: String, _ id: EventID) -> [UInt8] { streamPrefix(session, id.stream) + hex(id.seq) }

    static func hex(_ n: UInt64) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return (0..<16).reversed().map { digits[Int((n >> (UInt64($0) * 4)) & 0xF)] }
    }

    static func unhex(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        guard bytes.count == 16 else { return nil }
        var n: UInt64 = 0
        for c in bytes {
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x61...0x66: d = c - 0x61 + 10
            default: return nil
            }
            n = n << 4 | UInt64(d)
        }
        return n
    }

    /// One stored event of a session's listing.
    struct Parsed {
        var id: EventID
        /// When it was appended (RecordStateStore.nextOrder).
        var order: UInt64
        var data: [UInt8]
    }

    /// nil for a key of another shape (another session's, a foreign row).
    static func parseEvent(_ key: [UInt8], _ value: [UInt8], prefix: [UInt8]) -> Parsed? {
        guard key.count == prefix.count + 33, key.starts(with: prefix), key[prefix.count + 16] == 0x2F,
              let stream = unhex(key[prefix.count..<prefix.count + 16]),
              let seq = unhex(key[(prefix.count + 17)...]), value.count >= 8
        else { return nil }
        let order = value[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Parsed(id: EventID(stream: stream, seq: seq), order: order, data: Array(value[8...]))
    }

    private func nextOrder() -> UInt64 {
        let now = UInt64(max(0, Timestamp.nowMs())) << 16
        return order.withLock { last in
            last = max(last + 1, now)
            return last
        }
    }

    // MARK: events

    public func append(session: String, event: StoredEvent) throws(StoreError) {
        let o = nextOrder()
        var value = (0..<8).reversed().map { UInt8(truncatingIfNeeded: o >> (UInt64($0) * 8)) }
        value += event.data
        try records.put(Self.eventKey(session, event.id), value, expiresAtMs: Timestamp.nowMs() + Int64(eventTTLMs))
        let every = max(1, maxEventsPerSession / 8)
        let due = appends.withLock { a -> Bool in
            if a.count >= Self.maxTrackedSessions, a[session] == nil { a.removeAll() }
            a[session, default: 0] += 1
            guard (a[session] ?? 0) >= every else { return false }
            a[session] = 0
            return true
        }
        if due { try trim(session) }
    }

    /// Drops the oldest appended events of a session beyond its bound.
    private func trim(_ session: String) throws(StoreError) {
        let prefix = Self.eventsPrefix(session)
        var found: [(key: [UInt8], order: UInt64)] = []
        for row in try records.list(prefix: prefix) {
            if let e = Self.parseEvent(row.key, row.value, prefix: prefix) { found.append((key: row.key, order: e.order)) }
        }
        guard found.count > maxEventsPerSession else { return }
        found.sort { $0.order < $1.order }
        for old in found.prefix(found.count - maxEventsPerSession) { try records.remove(old.key) }
    }

    public func events(session: String, stream: UInt64, after seq: UInt64) throws(StoreError) -> [StoredEvent]? {
        let prefix = Self.eventsPrefix(session)
        var found: [StoredEvent] = []
        var last: UInt64?
        for row in try records.list(prefix: Self.streamPrefix(session, stream)) {
            guard let e = Self.parseEvent(row.key, row.value, prefix: prefix), e.id.stream == stream else { continue }
            last = max(last ?? 0, e.id.seq)
            if e.id.seq > seq { found.append(StoredEvent(id: e.id, data: e.data)) }
        }
        guard let last, last >= seq else { return nil }
        found.sort { $0.id.seq < $1.id.seq }
        // Numbered without gaps and dropped oldest first: a missing first
        // one (or any gap) means a hole, and a client never gets one.
        for (i, e) in found.enumerated() where e.id.seq != seq + 1 + UInt64(i) { return nil }
        return found
    }

    public func removeSession(_ session: String) {
        appends.withLock { _ = $0.removeValue(forKey: session) }
        let prefix = Self.eventsPrefix(session)
        if let rows = try? records.list(prefix: prefix) {
            for row in rows where Self.parseEvent(row.key, row.value, prefix: prefix) != nil {
                try? records.remove(row.key)
            }
        }
        try? records.remove(Self.sessionKey(session))
    }

    public func lastSeqs(session: String) throws(StoreError) -> [UInt64: UInt64] {
        let prefix = Self.eventsPrefix(session)
        var heads: [UInt64: UInt64] = [:]
        for row in try records.list(prefix: prefix) {
            guard let id = Self.parseEvent(row.key, row.value, prefix: prefix)?.id else { continue }
            heads[id.stream] = max(heads[id.stream] ?? 0, id.seq)
        }
        return heads
    }

    // MARK: sessions

    public func saveSession(_ record: SessionRecord, ttlMs: Int) throws(StoreError) {
        let expires = Timestamp.nowMs() + Int64(ttlMs)
        let value: JSONValue = .object(["expiresAt": .int(expires), "record": record.json])
        try records.put(Self.sessionKey(record.id), JSONSerializer.bytes(value), expiresAtMs: expires)
    }

    public func loadSession(_ id: String) throws(StoreError) -> SessionRecord? {
        guard let bytes = try records.get(Self.sessionKey(id)), let json = try? JSONParser.parse(bytes),
              let expires = json.objectValue?["expiresAt"]?.intValue, expires > Timestamp.nowMs(),
              let record = json.objectValue?["record"]
        else { return nil }
        return SessionRecord(id: id, json: record)
    }

    // MARK: tasks

    public func saveTask(_ task: StoredTask) throws(StoreError) {
        let value: JSONValue = .object(["owner": task.ownerSessionID.map { .string($0) } ?? .null,
                                        "expiresAt": .int(task.expiresAtMs), "body": task.body])
        try records.put(Self.taskKey(task.id), JSONSerializer.bytes(value), expiresAtMs: task.expiresAtMs)
    }

    public func loadTask(_ id: String) throws(StoreError) -> StoredTask? {
        guard let bytes = try records.get(Self.taskKey(id)), let o = (try? JSONParser.parse(bytes))?.objectValue,
              let expires = o["expiresAt"]?.intValue, expires > Timestamp.nowMs(), let body = o["body"]
        else { return nil }
        return StoredTask(id: id, ownerSessionID: o["owner"]?.stringValue, expiresAtMs: expires, body: body)
    }

    public func removeTask(_ id: String) { try? records.remove(Self.taskKey(id)) }
}
