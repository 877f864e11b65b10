internal import NIOConcurrencyHelpers
internal import NIOCore

/// The open connections of a listener (HTTP and WebSocket), so a graceful stop
/// can ask each to finish and then see when all are gone.
final class ConnectionRegistry: Sendable {
    struct Key: Hashable, Sendable { let id: UInt64 }

    private struct Entry {
        let eventLoop: EventLoop
        let quiesce: @Sendable () -> Void
        let close: @Sendable () -> Void
    }

    private struct State {
        var next: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
        var quiescing = false
    }

    private let state = NIOLockedValueBox(State())

    /// Registers a connection; `quiesce` and `close` run on its event loop.
    /// A connection that arrives during a stop is asked to quiesce at once.
    func add(eventLoop: EventLoop, quiesce: @escaping @Sendable () -> Void,
             close: @escaping @Sendable () -> Void) -> Key
    {
        let (key, late) = state.withLockedValue { s -> (Key, Bool) in
            s.next += 1
            s.entries[s.next] = Entry(eventLoop: eventLoop, quiesce: quiesce, close: close)
            return (Key(id: s.next), s.quiescing)
        }
        if late { eventLoop.execute(quiesce) }
        return key
    }

    func remove(_ key: Key) {
        state.withLockedValue { _ = $0.entries.removeValue(forKey: key.id) }
    }

    var count: Int { state.withLockedValue { $0.entries.count } }

    func quiesceAll() {
        let all = state.withLockedValue { s -> [Entry] in
            s.quiescing = true
            return Array(s.entries.values)
        }
        for e in all { e.eventLoop.execute(e.quiesce) }
    }

    func closeAll() {
        let all = state.withLockedValue { Array($0.entries.values) }
        for e in all { e.eventLoop.execute(e.close) }
    }
}
