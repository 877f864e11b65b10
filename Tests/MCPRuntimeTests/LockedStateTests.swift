import Glibc
import Testing
@testable import MCPRuntime

/// LockedState's waiting: a waiter parks only after it has seen the state
/// unchanged, and a notify made between its look and its park is not lost.
@Suite struct LockedStateTests {
    private func deadline(_ ms: Int) -> MonotonicInstant { MonotonicInstant.now().adding(milliseconds: ms) }

    private func spawn(_ body: @escaping @Sendable () -> Void) -> pthread_t {
        final class Box: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
        var t = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        pthread_create(&t, nil, { arg in
            let b = Unmanaged<AnyObject>.fromOpaque(arg!).takeRetainedValue() as! Box
            b.body()
            return nil
        }, box)
        return t
    }

    @Test func aPredicateThatHoldsReturnsAtOnce() {
        let s = LockedState(3)
        #expect(s.wait(until: nil) { $0 == 3 })
        #expect(s.withLock { $0 } == 3)
    }

    @Test func aDeadlineEndsTheWaitWithFalse() {
        let s = LockedState(0)
        let t0 = MonotonicInstant.now()
        #expect(!s.wait(until: deadline(30)) { $0 == 1 })
        #expect(MonotonicInstant.now().nanoseconds &- t0.nanoseconds >= 25_000_000)
    }

    @Test func aNotifyFromAnotherThreadWakesTheWaiter() {
        let s = LockedState(0)
        let t = spawn {
            usleep(20_000)
            s.withLockAndNotify { $0 = 1 }
        }
        #expect(s.wait(until: deadline(5000)) { $0 == 1 })
        pthread_join(t, nil)
    }

    /// Many waiters and many notifies racing: every waiter sees the count it
    /// waits for (a lost wake-up would leave one asleep until its deadline).
    @Test func noWakeUpIsLostUnderRaces() {
        let s = LockedState(0)
        let rounds = 2000
        let waiters = (0..<4).map { _ in
            spawn {
                for i in 1...rounds { _ = s.wait(until: nil) { $0 >= i } }
            }
        }
        let notifier = spawn {
            for _ in 1...rounds { s.withLockAndNotify { $0 += 1 } }
        }
        pthread_join(notifier, nil)
        for w in waiters { pthread_join(w, nil) }
        #expect(s.withLock { $0 } == rounds)
    }
}
