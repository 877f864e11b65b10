import MCPCore

/// An event store that tells the server's metrics how many events it keeps
/// and how many it hands back for replay; the rest is the store it wraps.
struct ObservedEventStore: EventStore {
    let base: any EventStore
    let observer: any ServerObserver

    func append(session: String, event: StoredEvent) {
        base.append(session: session, event: event)
        observer.eventsStored(1)
    }

    func events(session: String, stream: UInt64, after seq: UInt64) -> [StoredEvent]? {
        let found = base.events(session: session, stream: stream, after: seq)
        // Priming events (empty data) are kept but never replayed.
        if let found { observer.eventsReplayed(found.reduce(0) { $0 + ($1.data.isEmpty ? 0 : 1) }) }
        return found
    }

    func removeSession(_ session: String) { base.removeSession(session) }
}
