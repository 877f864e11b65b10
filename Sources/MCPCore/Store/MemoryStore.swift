import MCPRuntime

/// `memory:`, the default store: the events of resumable streams in this
/// process's memory (InMemoryEventStore), and nothing else. Sessions and tasks
/// already live in the engine's own tables (SessionTable, TaskStore); keeping
/// a second copy here would only double their memory, and would survive
/// nothing the first does not.
public final class MemoryStore: StateStore {
    public let log: InMemoryEventStore
    let node = SessionID.random()
    /// Per session: the last stream number and standalone event number given out (FleetStore).
    let counters = LockedState([String: Counters]())

    struct Counters {
        var streams: UInt64 = 0
        var standalone: UInt64 = 0
    }

    public init(events: InMemoryEventStore) { log = events }

    public var kind: String { "memory" }
    public var isDurable: Bool { false }
    public func check() throws(StoreError) {}

    public func append(session: String, event: StoredEvent) throws(StoreError) {
        log.append(session: session, event: event)
    }

    public func events(session: String, stream: UInt64, after seq: UInt64) throws(StoreError) -> [StoredEvent]? {
        log.events(session: session, stream: stream, after: seq)
    }

    public func removeSession(_ session: String) {
        log.removeSession(session)
        counters.withLock { _ = $0.removeValue(forKey: session) }
    }
    public func saveSession(_ record: SessionRecord, ttlMs: Int) throws(StoreError) {}
    public func loadSession(_ id: String) throws(StoreError) -> SessionRecord? { nil }
    public func lastSeqs(session: String) throws(StoreError) -> [UInt64: UInt64] { [:] }
    public func saveTask(_ task: StoredTask) throws(StoreError) {}
    public func loadTask(_ id: String) throws(StoreError) -> StoredTask? { nil }
    public func removeTask(_ id: String) {}
    public func close() {}
}

/// `memory:` is one process, so trivially a fleet of one: numbers come from
/// counters here, every stream is written by this process (so none is ever
/// live "elsewhere"), there is no other process to hear from and no lease
/// to keep.
extension MemoryStore: FleetStore {
    public var nodeID: String { node }

    public func openStream(session: String, requests: [JSONValue]) throws(StoreError) -> UInt64 {
        let n = counters.withLock { c -> UInt64 in
            c[session, default: Counters()].streams += 1
            return c[session]?.streams ?? 1
        }
        log.append(session: session, event: StoredEvent(id: EventID(stream: n, seq: 0), data: []))
        return n
    }

    public func append(session: String, event: StoredEvent, final: Bool) throws(StoreError) {
        log.append(session: session, event: event)
    }

    public func finishStream(session: String, stream: UInt64) {}

    public func appendStandalone(session: String, data: [UInt8], once: String?) throws(StoreError) -> UInt64? {
        // Under the counters' lock, so events reach the log in number order.
        counters.withLock { c -> UInt64 in
            c[session, default: Counters()].standalone += 1
            let seq = c[session]?.standalone ?? 1
            log.append(session: session, event: StoredEvent(id: EventID(stream: 0, seq: seq), data: data))
            return seq
        }
    }

    public func isStreamLive(session: String, stream: UInt64) throws(StoreError) -> Bool { false }

    /// Nothing to publish to: this process tells its own sessions directly.
    public func publish(_ message: FleetMessage) throws(StoreError) {}

    public func poll(after cursor: FleetCursor?) throws(StoreError) -> FleetChanges {
        FleetChanges(cursor: FleetCursor(events: 0, messages: 0))
    }

    public func renewLease(ttlMs: Int) throws(StoreError) {}

    public func reapExpired(answer: (JSONValue) -> [UInt8], taskError: JSONRPCError) throws(StoreError) -> Int { 0 }

    public func leave() {}
}
