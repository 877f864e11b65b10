import Glibc
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

    /// Starts the pool's threads and lets them fall asleep (past their spin).
    private func sleepingPool() -> WorkerPool {
        let pool = WorkerPool(maxThreads: 8)
        let ran = LockedState(0)
        for _ in 0..<2 { pool.execute { ran.withLockAndNotify { $0 += 1 } } }
        #expect(ran.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0 == 2 })
        #expect(pool.waitUntilIdle(timeoutMs: 2000))
        usleep(50_000)
        return pool
    }

    @Test func workHandedOverInABatchWakesASleeperWhenTheBatchCloses() {
        let pool = sleepingPool()
        #expect(HandOffBatch.open())
        #expect(!HandOffBatch.open())  // already open: the first opener closes it
        let ran = LockedState(false)
        pool.execute { ran.withLockAndNotify { $0 = true } }
        // Queued, but no sleeper was woken for it yet.
        #expect(!ran.wait(until: MonotonicInstant.now().adding(milliseconds: 100)) { $0 })
        #expect(pool.load.queued == 1)
        HandOffBatch.close()
        #expect(ran.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0 })
        // Closed: the next hand-off wakes a sleeper at once.
        #expect(pool.waitUntilIdle(timeoutMs: 2000))
        usleep(50_000)
        let again = LockedState(false)
        pool.execute { again.withLockAndNotify { $0 = true } }
        #expect(again.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0 })
        pool.shutdown()
    }

    @Test func aBlockingCallInABatchDoesNotHoldTheRest() {
        let pool = sleepingPool()
        let second = LockedState(false)
        let first = LockedState(false)
        #expect(HandOffBatch.open())
        // The first call waits for the second: only another thread, woken by
        // the one that took the first, can run it.
        pool.execute {
            _ = second.wait(until: MonotonicInstant.now().adding(milliseconds: 5000)) { $0 }
            first.withLockAndNotify { $0 = true }
        }
        pool.execute { second.withLockAndNotify { $0 = true } }
        HandOffBatch.close()
        #expect(first.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0 })
        pool.shutdown()
    }
}
