import Testing
@testable import MCPRuntime

@Suite struct WorkerPoolTests {
    @Test func blockedWorkDoesNotStarveOtherWork() {
        let pool = WorkerPool(maxThreads: 8)
        let gate = LockedState(false)
        let done = LockedState(0)
        for _ in 0..<4 {
            pool.execute {
                _ = gate.wait(until: MonotonicInstant.now().adding(milliseconds: 5000)) { $0 }
                done.withLockAndNotify { $0 += 1 }
            }
        }
        let quick = LockedState(false)
        pool.execute {
            #expect(WorkerPool.isWorkerThread)
            quick.withLockAndNotify { $0 = true }
        }
        #expect(quick.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0 })
        gate.withLockAndNotify { $0 = true }
        #expect(done.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0 == 4 })
        #expect(!WorkerPool.isWorkerThread)
        pool.shutdown()
    }
}
