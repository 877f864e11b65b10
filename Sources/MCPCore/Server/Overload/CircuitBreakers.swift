import MCPRuntime

/// A circuit breaker per tool: after `failures` consecutive failures the
/// tool's calls are refused for `openMs` (fail fast instead of piling work on
/// a dependency that is down), then one call is let through as a probe: its
/// success closes the circuit, its failure opens it again.
final class CircuitBreakers: Sendable {
    private let failures: Int
    private let openMs: Int
    private let clock: any TimerService
    private let tools = LockedState([String: Breaker]())

    private struct Breaker {
        var consecutive = 0
        var openUntil: MonotonicInstant?
        var probing = false
    }

    init(failures: Int, openMs: Int, clock: any TimerService) {
        self.failures = failures
        self.openMs = openMs
        self.clock = clock
    }

    var enabled: Bool { failures > 0 }

    /// nil: the call may run; else the milliseconds until the next probe.
    func admit(_ tool: String) -> Int? {
        guard enabled else { return nil }
        let now = clock.now()
        return tools.withLock { t -> Int? in
            guard var b = t[tool], let until = b.openUntil else { return nil }
            if now < until { return max(1, Int((until.nanoseconds - now.nanoseconds) / 1_000_000)) }
            if b.probing { return openMs }  // one probe at a time
            b.probing = true
            t[tool] = b
            return nil
        }
    }

    /// The outcome of an admitted call.
    func record(_ tool: String, failed: Bool) {
        guard enabled else { return }
        let now = clock.now()
        tools.withLock { t in
            var b = t[tool] ?? Breaker()
            if failed {
                b.consecutive += 1
                if b.probing || b.consecutive >= failures { b.openUntil = now.adding(milliseconds: openMs) }
            } else {
                b = Breaker()
            }
            b.probing = false
            t[tool] = b.consecutive == 0 && b.openUntil == nil ? nil : b
        }
    }
}
