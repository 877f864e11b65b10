internal import NIOConcurrencyHelpers
internal import NIOCore

/// The live sessions of a listener by Mcp-Session-Id, with the session cap.
/// A slot is reserved while an initialize is being answered, so concurrent
/// initializes cannot overshoot the cap.
final class SessionTable: Sendable {
    private let maxSessions: Int
    private let state = NIOLockedValueBox(State())

    private struct State {
        var sessions: [String: HTTPSession] = [:]
        var reserved = 0
    }

    init(maxSessions: Int) {
        self.maxSessions = max(1, maxSessions)
    }

    /// Takes a slot for a session about to be created; false when full.
    func reserve() -> Bool {
        state.withLockedValue { s in
            guard s.sessions.count + s.reserved < maxSessions else { return false }
            s.reserved += 1
            return true
        }
    }

    /// Fills a reserved slot (`session` nil: gives the slot back).
    func commit(_ session: HTTPSession?) {
        state.withLockedValue { s in
            s.reserved -= 1
            if let session { s.sessions[session.id] = session }
        }
    }

    /// Adds a session restored from the store, unless another request
    /// restored it first (that one is returned) or the table is full (nil).
    func adopt(_ session: HTTPSession) -> HTTPSession? {
        state.withLockedValue { s -> HTTPSession? in
            if let existing = s.sessions[session.id] { return existing }
            guard s.sessions.count + s.reserved < maxSessions else { return nil }
            s.sessions[session.id] = session
            return session
        }
    }

    func get(_ id: String) -> HTTPSession? {
        state.withLockedValue { $0.sessions[id] }
    }

    func remove(_ id: String) -> HTTPSession? {
        state.withLockedValue { $0.sessions.removeValue(forKey: id) }
    }

    var count: Int { state.withLockedValue { $0.sessions.count } }

    /// Every live session (a snapshot).
    var all: [HTTPSession] { state.withLockedValue { Array($0.sessions.values) } }

    /// Removes and returns the sessions idle for `timeout` (never one with a
    /// request or stream open, or a call in flight).
    func removeIdle(timeout: TimeAmount) -> [HTTPSession] {
        let now = NIODeadline.now()
        return state.withLockedValue { s -> [HTTPSession] in
            let idle = s.sessions.values.filter { $0.isIdle(now: now, timeout: timeout) }
            for x in idle { s.sessions[x.id] = nil }
            return idle
        }
    }

    func removeAll() -> [HTTPSession] {
        state.withLockedValue { s -> [HTTPSession] in
            let all = Array(s.sessions.values)
            s.sessions = [:]
            return all
        }
    }
}
