import Testing
@testable import MCPRuntime

@Suite struct CombiningQueueTests {
    @Test func deliversEverythingInOrderPerProducerWithoutOverlap() {
        let active = LockedState(0)
        let seen = LockedState<[Int: [Int]]>([:])
        let q = CombiningQueue<(Int, Int)>(maxPending: 16) { batch in
            #expect(active.withLock { $0 += 1; return $0 } == 1, "deliveries never overlap")
            seen.withLock { s in for (p, i) in batch { s[p, default: []].append(i) } }
            active.withLock { $0 -= 1 }
        }
        let pool = WorkerPool(maxThreads: 4)
        let finished = LockedState(0)
        for p in 0..<4 {
            pool.execute {
                for i in 0..<500 { q.push((p, i)) }
                finished.withLockAndNotify { $0 += 1 }
            }
        }
        #expect(finished.wait(until: MonotonicInstant.now().adding(milliseconds: 10_000)) { $0 == 4 })
        q.waitUntilDelivered()
        let s = seen.withLock { $0 }
        for p in 0..<4 { #expect(s[p] == Array(0..<500)) }
    }

    @Test func reentrantPushDoesNotDeadlock() {
        let out = LockedState<[Int]>([])
        let box = LockedState<CombiningQueue<Int>?>(nil)
        let q = CombiningQueue<Int> { batch in
            for i in batch {
                out.withLock { $0.append(i) }
                if i == 1 { box.withLock { $0 }?.push(2) }
            }
        }
        box.withLock { $0 = q }
        q.push(1)
        q.waitUntilDelivered()
        #expect(out.withLock { $0 } == [1, 2])
        box.withLock { $0 = nil }
    }

    @Test func heldPushesLeaveTogetherAndOthersAreNotHeld() {
        let batches = LockedState<[[Int]]>([])
        let q = CombiningQueue<Int>(maxPending: 100) { batch in batches.withLock { $0.append(batch) } }
        let pool = WorkerPool(maxThreads: 2)
        let otherDone = LockedState(false)
        q.holding {
            q.push(1)
            q.push(2)
            // Another thread's push is not held: it delivers at once, taking
            // the held items before its own, in order.
            pool.execute {
                q.push(3)
                otherDone.withLockAndNotify { $0 = true }
            }
            #expect(otherDone.wait(until: MonotonicInstant.now().adding(milliseconds: 10_000)) { $0 })
            #expect(batches.withLock { $0 } == [[1, 2, 3]])
            q.push(4)
            q.push(5)
            #expect(batches.withLock { $0.count } == 1, "held until the end of the hold")
        }
        q.waitUntilDelivered()
        #expect(batches.withLock { $0 } == [[1, 2, 3], [4, 5]])
        // After the hold, pushes deliver at once again.
        q.push(6)
        #expect(batches.withLock { $0.last } == [6])
    }
}
