import Glibc
internal import NIOConcurrencyHelpers
internal import NIOCore
import Synchronization

/// The open connections of a listener (HTTP and WebSocket), so a graceful stop
/// can ask each to finish and then see when all are gone, and so the listener
/// stays reachable at its connection limit: a new connection past the limit
/// takes the place of the oldest one that is only waiting for or receiving a
/// request (idle keep-alive connections first, then the oldest of those that
/// have not yet sent a whole request), instead of being refused or
/// letting the process run out of descriptors. Connections with a response
/// open (calls, streams) and WebSocket sessions are never shed.
final class ConnectionRegistry: Sendable {
    /// A registration: its id and the cell its phase lives in, so a phase
    /// change (three per request) is one atomic store, not a lock and two
    /// dictionary lookups (~1.2K instructions each).
    struct Key: Sendable {
        let id: UInt64
        let cell: PhaseCell
    }

    /// A connection's phase, written by its event loop, read by whoever
    /// looks for a connection to shed.
    final class PhaseCell: Sendable {
        private let raw: Synchronization.Atomic<UInt8>
        init(_ phase: Phase) { raw = Synchronization.Atomic(phase.rawValue) }
        var phase: Phase {
            get { Phase(rawValue: raw.load(ordering: .relaxed)) ?? .busy }
            set { raw.store(newValue.rawValue, ordering: .relaxed) }
        }
    }

    /// What a connection is doing, for choosing whom to shed.
    enum Phase: UInt8, Sendable {
        /// Just accepted: no request head yet.
        case fresh
        /// Kept alive after a response; nothing of the next request, or only a partial head.
        case idle
        /// A request head arrived; its body is still coming.
        case receiving
        /// A response is open (or owed), or a WebSocket session: never shed.
        case busy
    }

    private struct Entry {
        let eventLoop: EventLoop
        let quiesce: @Sendable () -> Void
        let close: @Sendable () -> Void
        let cell: PhaseCell
    }

    private struct State {
        var next: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
        var quiescing = false
    }

    private let state = NIOLockedValueBox(State())
    let maxConnections: Int

    init(maxConnections: Int = .max) {
        self.maxConnections = max(1, maxConnections)
    }

    /// Registers a connection; `quiesce` and `close` run on its event loop.
    /// A connection that arrives during a stop is asked to quiesce at once.
    /// Past the limit the oldest idle (else receiving) connection is closed to
    /// make room; when every one is busy the new connection is refused (nil),
    /// unless `always` (a WebSocket taking over its own HTTP connection's place).
    func add(eventLoop: EventLoop, phase: Phase = .fresh, always: Bool = false,
             quiesce: @escaping @Sendable () -> Void, close: @escaping @Sendable () -> Void) -> Key?
    {
        let (key, late, victim) = state.withLockedValue { s -> (Key?, Bool, Entry?) in
            var victim: Entry?
            if s.entries.count >= maxConnections {
                if let k = Self.victim(in: s.entries) {
                    victim = s.entries.removeValue(forKey: k)
                } else if !always {
                    return (nil, false, nil)
                }
            }
            s.next += 1
            let cell = PhaseCell(phase)
            s.entries[s.next] = Entry(eventLoop: eventLoop, quiesce: quiesce, close: close, cell: cell)
            return (Key(id: s.next, cell: cell), s.quiescing, victim)
        }
        if let victim { victim.eventLoop.execute(victim.close) }
        if late, key != nil { eventLoop.execute(quiesce) }
        return key
    }

    /// Closes the oldest sheddable connection (the descriptor table is full:
    /// accept failed with EMFILE or ENFILE). False when none can be shed.
    @discardableResult
    func shedOne() -> Bool {
        let victim = state.withLockedValue { s -> Entry? in
            guard let k = Self.victim(in: s.entries) else { return nil }
            return s.entries.removeValue(forKey: k)
        }
        guard let victim else { return false }
        victim.eventLoop.execute(victim.close)
        return true
    }

    /// The oldest idle keep-alive connection, else the oldest one still
    /// without a whole request (a new client is the newest of these, so a
    /// crowd of stalled uploads makes way for it rather than the reverse).
    /// Keys grow with age. A linear scan: it runs only at the limit, once per
    /// new connection.
    private static func victim(in entries: [UInt64: Entry]) -> UInt64? {
        var idle: UInt64?
        var waiting: UInt64?
        for (k, e) in entries {
            switch e.cell.phase {
            case .idle: if k < (idle ?? .max) { idle = k }
            case .fresh, .receiving: if k < (waiting ?? .max) { waiting = k }
            case .busy: break
            }
        }
        return idle ?? waiting
    }

    func setPhase(_ key: Key, _ phase: Phase) {
        key.cell.phase = phase
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

    /// A listener's stop: every connection is asked to finish its response
    /// and close, waited for up to `timeoutMs`; the rest are then closed and
    /// waited for up to 2 s more. Blocks the caller (never an event loop).
    func drain(timeoutMs: Int) {
        quiesceAll()
        let deadline = NIODeadline.now() + .milliseconds(Int64(max(0, timeoutMs)))
        while count > 0, NIODeadline.now() < deadline { usleep(2000) }
        guard count > 0 else { return }
        closeAll()
        let hard = NIODeadline.now() + .seconds(2)
        while count > 0, NIODeadline.now() < hard { usleep(2000) }
    }
}
