import Glibc
import HeapModule

/// Runs work after a delay: request timeouts, task expiry. One thread sleeps
/// until the earliest deadline and hands due work to an executor, so slow work
/// never delays the next deadline. The thread exits when nothing is scheduled,
/// and at once on `shutdown`: a host runtime (Python at exit) waits for the
/// engine's threads to end before it stops, so none may outlive its owner.
///
/// Most timers are request timeouts cancelled by the answer a millisecond
/// later, thousands a second with many requests in flight: neither arming
/// nor cancelling one wakes the thread unless it must (a deadline earlier
/// than the one it sleeps for). Waking it for each was two futex round trips
/// a call and made this lock the most contended one of a client with 8 calls
/// in flight (its thread, preempted while holding it, stalled every caller).
///
/// @unchecked Sendable: `heap`, `work`, `nextID`, `running`, `stopped`,
/// `sleepsUntil` and `wakeups` are only touched with `cond` locked.
public final class Scheduler: TimerService, @unchecked Sendable {

    private struct Entry: Comparable {
        var deadline: MonotonicInstant
        var id: UInt64
        static func < (a: Entry, b: Entry) -> Bool { (a.deadline, a.id) < (b.deadline, b.id) }
        static func == (a: Entry, b: Entry) -> Bool { a.id == b.id }
    }

    private let cond = ConditionLock()
    /// Deadlines; a cancelled one stays until it reaches the front or the heap
    /// is compacted (`work` says which are live).
    private var heap = Heap<Entry>()
    private var work: [UInt64: @Sendable () -> Void] = [:]
    private var nextID: UInt64 = 0
    private var running = false
    private var stopped = false
    /// When the thread, waiting, wakes by itself; nil while it is not waiting
    /// (it looks at the heap before it next waits, so nothing need wake it).
    private var sleepsUntil: MonotonicInstant?
    /// Times the thread woke up (for tests).
    private var wakeups = 0
    /// How long the thread stays with nothing to run before it ends; also the
    /// longest it sleeps, so that it ends soon after everything is cancelled
    /// (a cancel never wakes it).
    private let lingerMs: Int
    private let executor: HandlerExecutor

    public init(executor: HandlerExecutor) {
        self.executor = executor
        lingerMs = 2000
    }

    init(executor: HandlerExecutor, lingerMs: Int) {
        self.executor = executor
        self.lingerMs = lingerMs
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
        if let wake = sleepsUntil, deadline < wake { cond.signal() }
        cond.unlock()
        if start { WorkerPool.detach { [self] in self.run() } }
        return TimerToken(id: id)
    }

    /// Cancels scheduled work; false if it already ran or was cancelled.
    @discardableResult
    public func cancel(_ token: TimerToken) -> Bool {
        cond.withLock {
            guard work.removeValue(forKey: token.id) != nil else { return false }
            // Cancelled entries go now, not when the thread next wakes: at
            // the front as they come, the rest once they outnumber the live
            // ones (timers behind a long one), so the heap stays bounded.
            dropCancelledFront()
            if heap.count > 2 * work.count + 64 { heap = Heap(heap.unordered.filter { work[$0.id] != nil }) }
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

    /// Deadlines in the heap, cancelled ones included, and the thread's
    /// wake-ups so far (for tests).
    var figures: (heap: Int, wakeups: Int, running: Bool) { cond.withLock { (heap.count, wakeups, running) } }

    private func dropCancelledFront() {
        while let top = heap.min, work[top.id] == nil { _ = heap.removeMin() }
    }

    private func sleep(until deadline: MonotonicInstant) {
        sleepsUntil = deadline
        _ = cond.wait(until: deadline)
        sleepsUntil = nil
        wakeups += 1
    }

    private func run() {
        cond.lock()
        var idleSince: MonotonicInstant?
        while true {
            dropCancelledFront()
            let now = MonotonicInstant.now()
            guard let top = heap.min else {
                if stopped { break }
                // Linger briefly for more work, then let the thread go.
                let since = idleSince ?? now
                idleSince = since
                let end = since.adding(milliseconds: lingerMs)
                if now >= end { break }
                sleep(until: end)
                continue
            }
            idleSince = nil
            if top.deadline > now {
                sleep(until: min(top.deadline, now.adding(milliseconds: lingerMs)))
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
