import MCPRuntime

/// A clock moved by hand: scheduled work runs, in deadline order, on the
/// thread that calls `advance` once the clock passes its deadline.
final class ManualTimers: TimerService {
    private struct State {
        var nowMs = 0
        var nextID: UInt64 = 0
        var work: [UInt64: (deadlineMs: Int, body: @Sendable () -> Void)] = [:]
    }

    private let base = MonotonicInstant.now()
    private let state = LockedState(State())

    func now() -> MonotonicInstant { base.adding(milliseconds: state.withLock { $0.nowMs }) }

    @discardableResult
    func schedule(after milliseconds: Int, _ body: @escaping @Sendable () -> Void) -> TimerToken {
        state.withLock { s in
            s.nextID += 1
            s.work[s.nextID] = (s.nowMs + max(0, milliseconds), body)
            return TimerToken(id: s.nextID)
        }
    }

    @discardableResult
    func cancel(_ token: TimerToken) -> Bool {
        state.withLock { $0.work.removeValue(forKey: token.id) != nil }
    }

    /// Scheduled and not yet run or cancelled.
    var pending: Int { state.withLock { $0.work.count } }

    /// Moves the clock forward, running each piece of work that falls due at
    /// its own deadline (work it schedules runs too if due within the span).
    func advance(by milliseconds: Int) {
        let target = state.withLock { $0.nowMs + milliseconds }
        while true {
            let due = state.withLock { s -> (@Sendable () -> Void)? in
                guard let (id, w) = s.work.filter({ $0.value.deadlineMs <= target })
                    .min(by: { ($0.value.deadlineMs, $0.key) < ($1.value.deadlineMs, $1.key) })
                else {
                    s.nowMs = target
                    return nil
                }
                s.work[id] = nil
                s.nowMs = w.deadlineMs
                return w.body
            }
            guard let due else { return }
            due()
        }
    }
}
