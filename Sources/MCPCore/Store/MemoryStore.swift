/// `memory:`, the default store: the events of resumable streams in this
/// process's memory (InMemoryEventStore), and nothing else. Sessions and tasks
/// already live in the engine's own tables (SessionTable, TaskStore); keeping
/// a second copy here would only double their memory, and would survive
/// nothing the first does not.
public final class MemoryStore: StateStore {
    public let log: InMemoryEventStore

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

    public func removeSession(_ session: String) { log.removeSession(session) }
    public func saveSession(_ record: SessionRecord, ttlMs: Int) throws(StoreError) {}
    public func loadSession(_ id: String) throws(StoreError) -> SessionRecord? { nil }
    public func lastSeqs(session: String) throws(StoreError) -> [UInt64: UInt64] { [:] }
    public func saveTask(_ task: StoredTask) throws(StoreError) {}
    public func loadTask(_ id: String) throws(StoreError) -> StoredTask? { nil }
    public func removeTask(_ id: String) {}
    public func close() {}
}
