import Glibc
import HeapModule

/// Runs work after a delay: request timeouts, task expiry. One thread sleeps
/// until the earliest deadline and hands due work to an executor, so slow work
/// never delays the next deadline. The thread exits when nothing is scheduled,
/// and at once on `shutdown`: a host runtime (Python at exit) waits for the
/// engine's threads to end before it stops, so none may outlive its owner.
///
/// @unchecked Sendable: `heap`, `work`, `nextID`, `running`, `stopped` are only
/// touched with `cond` locked.
public final class Scheduler: TimerService, @unchecked Sendable {

    private struct Entry: Comparable {
        var deadline: MonotonicInstant
        var id: UInt64
        static func < (a: Entry, b: Entry) -> Bool { (a.deadline, a.id) < (b.deadline, b.id) }
        static func == (a: Entry, b: Entry) -> Bool { a.id == b.id }
    }

    private let cond = ConditionLock()
    private var heap = Heap<Entry>()
    private var work: [UInt64: @Sendable () -> Void] = [:]
    private var nextID: UInt64 = 0
    private var running = false
    private var stopped = false
    private let executor: HandlerExecutor

    public init(executor: HandlerExecutor) {
        self.executor = executor
    }

    public func now() -> MonotonicInstant { MonotonicInstant.now() }

    /// Schedules `work` after `milliseconds`; cancel with the token.
    @discardableResult
    public func schedule(after milliseconds: Int, _ body: @escaping @Sendable () -> Void) -> TimerToken {
        let deadline = MonotonicInstant.now().adding(milliseconds: milliseconds)
        cond.lock()
        nextID += 1
        let id = nextID
        if stopped {
            cond.unlock()
            return TimerToken(id: id)
        }
        heap.insert(Entry(deadline: deadline, id: id))
        work[id] = body
        let start = !running
        running = true
        cond.signal()
        cond.unlock()
        if start { WorkerPool.detach { [self] in self.run() } }
        return TimerToken(id: id)
    }

    /// Cancels scheduled work; false if it already ran or was cancelled.
    @discardableResult
    public func cancel(_ token: TimerToken) -> Bool {
        cond.withLock {
            guard work.removeValue(forKey: token.id) != nil else { return false }
            // The thread sleeps until the earliest deadline: when that one is
            // gone, wake it so it does not wait (and live) for nothing.
            if heap.min?.id == token.id { cond.signal() }
            return true
        }
    }

    /// Drops everything scheduled and lets the thread end now; later
    /// `schedule` calls run nothing. For the owner's free.
    public func shutdown() {
        cond.withLock {
            stopped = true
            work.removeAll()
            heap = Heap()
            cond.signal()
        }
    }

    private func run() {
        cond.lock()
        while true {
            while let top = heap.min, work[top.id] == nil { _ = heap.removeMin() }
            guard let top = heap.min else {
                if stopped { break }
                // Linger briefly for more work, then let the thread go.
                if cond.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { continue }
                if heap.isEmpty { break }
                continue
            }
            let now = MonotonicInstant.now()
            if top.deadline > now {
                _ = cond.wait(until: top.deadline)
                continue
            }
            var due: [@Sendable () -> Void] = []
            while let t = heap.min, t.deadline <= now {
                _ = heap.removeMin()
                if let w = work.removeValue(forKey: t.id) { due.append(w) }
            }
            cond.unlock()
            for w in due { executor.execute(w) }
            cond.lock()
        }
        running = false
        cond.unlock()
    }
}
