import MCPCore

/// A store that tells the server's metrics how many events it keeps and how
/// many it hands back for replay; everything else goes straight to the store
/// it wraps.
struct ObservedStore: StateStore {
    let base: any StateStore
    let observer: any ServerObserver

    var kind: String { base.kind }
    var isDurable: Bool { base.isDurable }
    func check() throws(StoreError) { try base.check() }

    func append(session: String, event: StoredEvent) throws(StoreError) {
        try base.append(session: session, event: event)
        observer.eventsStored(1)
    }

    func events(session: String, stream: UInt64, after seq: UInt64) throws(StoreError) -> [StoredEvent]? {
        let found = try base.events(session: session, stream: stream, after: seq)
        // Priming events (empty data) are kept but never replayed.
        if let found { observer.eventsReplayed(found.reduce(0) { $0 + ($1.data.isEmpty ? 0 : 1) }) }
        return found
    }

    func removeSession(_ session: String) { base.removeSession(session) }
    func saveSession(_ record: SessionRecord, ttlMs: Int) throws(StoreError) { try base.saveSession(record, ttlMs: ttlMs) }
    func loadSession(_ id: String) throws(StoreError) -> SessionRecord? { try base.loadSession(id) }
    func lastSeqs(session: String) throws(StoreError) -> [UInt64: UInt64] { try base.lastSeqs(session: session) }
    func saveTask(_ task: StoredTask) throws(StoreError) { try base.saveTask(task) }
    func loadTask(_ id: String) throws(StoreError) -> StoredTask? { try base.loadTask(id) }
    func removeTask(_ id: String) { base.removeTask(id) }
    func close() { base.close() }
}
