import Testing
@testable import MCPRuntime

@Suite struct OrderedExecutorTests {
    @Test func runsOneAtATimeInSubmissionOrderOnThePool() {
        let pool = WorkerPool(maxThreads: 8)
        let ordered = OrderedExecutor(base: pool)
        let seen = LockedState<[Int]>([])
        let active = LockedState(0)
        for i in 0..<2000 {
            ordered.execute {
                #expect(active.withLock { $0 += 1; return $0 } == 1, "never two at once")
                #expect(WorkerPool.isWorkerThread)
                seen.withLockAndNotify { $0.append(i) }
                active.withLock { $0 -= 1 }
            }
        }
        #expect(seen.wait(until: MonotonicInstant.now().adding(milliseconds: 10_000)) { $0.count == 2000 })
        #expect(seen.withLock { $0 } == Array(0..<2000))
    }

    @Test func aBlockedItemHoldsBackOnlyItsOwnQueue() {
        let pool = WorkerPool(maxThreads: 8)
        let a = OrderedExecutor(base: pool)
        let b = OrderedExecutor(base: pool)
        let release = LockedState(false)
        let done = LockedState<[String]>([])
        a.execute { _ = release.wait(until: MonotonicInstant.now().adding(milliseconds: 10_000)) { $0 } }
        a.execute { done.withLockAndNotify { $0.append("a") } }
        b.execute { done.withLockAndNotify { $0.append("b") } }
        #expect(done.wait(until: MonotonicInstant.now().adding(milliseconds: 10_000)) { $0 == ["b"] })
        release.withLockAndNotify { $0 = true }
        #expect(done.wait(until: MonotonicInstant.now().adding(milliseconds: 10_000)) { $0 == ["b", "a"] })
    }
}
