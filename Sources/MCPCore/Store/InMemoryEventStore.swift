import DequeModule

import MCPRuntime

/// The default event store: the last `maxEventsPerSession` events of each
/// session, at most `maxBytesPerSession` of data (the newest event is always
/// kept), in memory. When a session is over a bound the oldest event of any of
/// its streams goes first; a stream that lost events it still needs for
/// a replay answers nil rather than a replay with a hole.
public final class InMemoryEventStore: EventStore {
    private let maxEventsPerSession: Int
    private let maxBytesPerSession: Int
    private let sessions = LockedState([String: SessionLog]())

    private struct StreamLog {
        var events = Deque<StoredEvent>()
        /// The highest seq dropped so far (a replay after an earlier seq is incomplete).
        var droppedThrough: UInt64?
        var lastSeq: UInt64 = 0
    }

    private struct SessionLog {
        var order = Deque<EventID>()  // arrival order, for eviction
        var streams: [UInt64: StreamLog] = [:]
        var bytes = 0
    }

    public init(maxEventsPerSession: Int, maxBytesPerSession: Int = 16 << 20) {
        self.maxEventsPerSession = max(1, maxEventsPerSession)
        self.maxBytesPerSession = max(1, maxBytesPerSession)
    }

    public func append(session: String, event: StoredEvent) {
        let limit = maxEventsPerSession
        let byteLimit = maxBytesPerSession
        sessions.withLock { all in
            var log = all.removeValue(forKey: session) ?? SessionLog()
            log.streams[event.id.stream, default: StreamLog()].events.append(event)
            log.streams[event.id.stream]?.lastSeq = event.id.seq
            log.order.append(event.id)
            log.bytes += event.data.count
            while log.order.count > limit || (log.bytes > byteLimit && log.order.count > 1),
                  let old = log.order.popFirst()
            {
                // Taken out of the table, not copied from it: a copy would share
                // the deque's storage, and popFirst would then copy the whole
                // stream for every event evicted (seconds for a long call).
                guard var s = log.streams.removeValue(forKey: old.stream) else { continue }
                if let dropped = s.events.popFirst() { log.bytes -= dropped.data.count }
                s.droppedThrough = old.seq
                // A stream with nothing left is forgotten, so finished streams
                // do not pile up in a long session.
                if !s.events.isEmpty { log.streams[old.stream] = s }
            }
            all[session] = log
        }
    }

    public func events(session: String, stream: UInt64, after seq: UInt64) -> [StoredEvent]? {
        sessions.withLock { all -> [StoredEvent]? in
            guard let s = all[session]?.streams[stream], seq <= s.lastSeq else { return nil }
            if let dropped = s.droppedThrough, dropped > seq { return nil }
            return s.events.filter { $0.id.seq > seq }
        }
    }

    public func removeSession(_ session: String) {
        sessions.withLock { _ = $0.removeValue(forKey: session) }
    }

    /// How many events are kept for a session (for tests and diagnostics).
    public func count(session: String) -> Int {
        sessions.withLock { $0[session]?.order.count ?? 0 }
    }
}
