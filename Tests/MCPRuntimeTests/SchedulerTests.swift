import Testing
@testable import MCPRuntime

@Suite struct SchedulerTests {
    private func deadline(_ ms: Int) -> MonotonicInstant { MonotonicInstant.now().adding(milliseconds: ms) }

    @Test func runsDueWorkAndNotCancelledWork() {
        let s = Scheduler(executor: InlineExecutor())
        let ran = LockedState<[Int]>([])
        s.schedule(after: 30) { ran.withLockAndNotify { $0.append(1) } }
        let dropped = s.schedule(after: 30) { ran.withLockAndNotify { $0.append(2) } }
        #expect(s.cancel(dropped))
        #expect(!s.cancel(dropped))
        #expect(ran.wait(until: deadline(2000)) { $0 == [1] })
        s.shutdown()
    }

    /// A deadline earlier than the one the thread sleeps for wakes it: the
    /// short timer runs on time, not after the long one.
    @Test func anEarlierDeadlineWakesTheThread() {
        let s = Scheduler(executor: InlineExecutor())
        s.schedule(after: 60_000) {}
        // Let the thread start and fall asleep on the long deadline.
        _ = LockedState(false).wait(until: deadline(50)) { $0 }
        let t0 = MonotonicInstant.now()
        let ran = LockedState<MonotonicInstant?>(nil)
        s.schedule(after: 20) { ran.withLockAndNotify { $0 = MonotonicInstant.now() } }
        #expect(ran.wait(until: deadline(5000)) { $0 != nil })
        let late = (ran.withLock { $0 }?.nanoseconds ?? 0) &- t0.nanoseconds
        #expect(late < 1_500_000_000)
        s.shutdown()
    }

    /// Arming and cancelling request timeouts (a long deadline each, cancelled
    /// by the answer) neither wakes the thread each time nor piles up in the heap.
    @Test func cancelledTimeoutsNeitherWakeTheThreadNorPileUp() {
        let s = Scheduler(executor: InlineExecutor())
        // A call in flight throughout, whose deadline comes first: the
        // cancelled ones queue behind it.
        let keep = s.schedule(after: 20_000) {}
        _ = LockedState(false).wait(until: deadline(50)) { $0 }
        let before = s.figures.wakeups
        for _ in 0..<5000 {
            let t = s.schedule(after: 30_000) {}
            #expect(s.cancel(t))
        }
        let after = s.figures
        #expect(after.wakeups - before <= 2)
        #expect(after.heap <= 2 * 1 + 64 + 1)  // compacted, not 5001
        #expect(s.cancel(keep))
        #expect(s.figures.heap == 0)
        s.shutdown()
    }

    /// The thread ends once nothing is left to run, though no cancel wakes it.
    @Test func theThreadEndsWhenEverythingIsCancelled() {
        let s = Scheduler(executor: InlineExecutor(), lingerMs: 100)
        let t = s.schedule(after: 60_000) {}
        _ = LockedState(false).wait(until: deadline(30)) { $0 }
        #expect(s.figures.running)
        s.cancel(t)
        let end = deadline(3000)
        while s.figures.running, MonotonicInstant.now() < end {
            _ = LockedState(false).wait(until: deadline(20)) { $0 }
        }
        #expect(!s.figures.running)
        // And it starts again for new work.
        let ran = LockedState(false)
        s.schedule(after: 10) { ran.withLockAndNotify { $0 = true } }
        #expect(ran.wait(until: deadline(2000)) { $0 })
        s.shutdown()
    }
}
