import Testing
@testable import MCPRuntime

@Suite struct LogThrottleTests {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        private let ns = LockedState<UInt64>(1_000_000_000)
        func advance(ms: Int) { ns.withLock { $0 += UInt64(ms) * 1_000_000 } }
        var now: MonotonicInstant { MonotonicInstant(nanoseconds: ns.withLock { $0 }) }
    }

    @Test func oneRecordPerKeyPerIntervalWithTheCountOfTheRest() {
        let clock = ManualClock()
        let throttle = LogThrottle(intervalMs: 1000) { clock.now }
        #expect(throttle.admit("503") == 0, "the first record goes out")
        for _ in 0..<499 { #expect(throttle.admit("503") == nil) }
        #expect(throttle.admit("429") == 0, "another cause has its own window")
        clock.advance(ms: 999)
        #expect(throttle.admit("503") == nil)
        clock.advance(ms: 1)
        #expect(throttle.admit("503") == 500, "the next record says how many it stands for")
        clock.advance(ms: 5000)
        #expect(throttle.admit("503") == 0, "a quiet spell: nothing was suppressed")
        #expect(throttle.admit("429") == 0)
    }

    @Test func keysAreBounded() {
        let clock = ManualClock()
        let throttle = LogThrottle(intervalMs: 1000) { clock.now }
        for i in 0..<1000 {
            clock.advance(ms: 1)
            #expect(throttle.admit("k\(i)") == 0)
        }
        // The newest windows are still there; the oldest were forgotten.
        #expect(throttle.admit("k999") == nil)
        #expect(throttle.admit("k0") == 0)
    }
}
