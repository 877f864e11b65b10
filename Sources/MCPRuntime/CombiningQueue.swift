import Glibc
import DequeModule

/// Delivers items in order, one batch at a time, without a thread of its own:
/// whoever pushes while nobody is delivering becomes the deliverer and drains
/// the queue; others only append. Writes from many threads thus coalesce into
/// few system calls, never overlap, and keep their order. A push from inside
/// the delivery handler (re-entry) appends and returns, so it cannot deadlock.
///
/// @unchecked Sendable: `items`, `pendingCost`, `delivering`, `deliverer`,
/// `holder` are only touched with `cond` locked; `deliver` is called by one
/// thread at a time.
public final class CombiningQueue<Item>: @unchecked Sendable {
    private let cond = ConditionLock()
    private var items = Deque<Item>()
    /// The summed `cost` of `items`.
    private var pendingCost = 0
    private var delivering = false
    private var deliverer: pthread_t?
    /// The thread inside `holding`: its pushes wait for the end of the hold.
    private var holder: pthread_t?
    private let maxPending: Int
    private let maxPendingCost: Int
    private let cost: (Item) -> Int
    private let deliver: ([Item]) -> Void

    /// `maxPending`, `maxPendingCost`: when that many items, or items of that
    /// summed `cost` (bytes, say), wait, pushers other than the deliverer
    /// block until the deliverer catches up (backpressure).
    public init(maxPending: Int = .max, maxPendingCost: Int = .max, cost: @escaping (Item) -> Int = { _ in 0 },
                deliver: @escaping ([Item]) -> Void)
    {
        self.maxPending = maxPending
        self.maxPendingCost = maxPendingCost
        self.cost = cost
        self.deliver = deliver
    }

    /// Pushers must wait: the deliverer is busy and the queue is at a bound.
    private var isFull: Bool { delivering && (items.count >= maxPending || pendingCost >= maxPendingCost) }

    /// Blocks while a push would block (the deliverer is stuck behind a full
    /// queue), or until the deadline; true when a push would not block. A
    /// producer of work calls it before taking more, so that work whose
    /// answers cannot be delivered does not pile up elsewhere.
    public func waitUntilNotFull(until deadline: MonotonicInstant?) -> Bool {
        cond.lock()
        defer { cond.unlock() }
        while isFull {
            if let deadline, MonotonicInstant.now() >= deadline { return false }
            _ = cond.wait(until: deadline)
        }
        return true
    }

    public func push(_ item: Item) {
        cond.lock()
        let c = cost(item)
        if delivering, let d = deliverer, pthread_equal(d, pthread_self()) != 0 {
            items.append(item)
            pendingCost += c
            cond.unlock()
            return
        }
        if let h = holder, pthread_equal(h, pthread_self()) != 0, items.count < maxPending,
           pendingCost < maxPendingCost
        {
            items.append(item)
            pendingCost += c
            cond.unlock()
            return
        }
        while isFull { _ = cond.wait(until: nil) }
        items.append(item)
        pendingCost += c
        if delivering {
            cond.unlock()
            return
        }
        deliverAllLocked()
    }

    /// Runs `body`; what this thread pushes meanwhile is delivered together
    /// when it returns (one write for many answers to one read). Pushes from
    /// other threads are not held: one that delivers takes the held items too,
    /// in order. Not reentrant.
    public func holding(_ body: () -> Void) {
        cond.lock()
        holder = pthread_self()
        cond.unlock()
        body()
        cond.lock()
        holder = nil
        if delivering || items.isEmpty {
            cond.unlock()
            return
        }
        deliverAllLocked()
    }

    /// Called with `cond` locked and nobody delivering; returns unlocked.
    private func deliverAllLocked() {
        delivering = true
        deliverer = pthread_self()
        while !items.isEmpty {
            let batch = Array(items)
            items.removeAll(keepingCapacity: true)
            pendingCost = 0
            cond.broadcast()
            cond.unlock()
            deliver(batch)
            cond.lock()
        }
        delivering = false
        deliverer = nil
        cond.broadcast()
        cond.unlock()
    }

    /// Blocks until everything pushed so far has been delivered.
    public func waitUntilDelivered() {
        cond.lock()
        while delivering || !items.isEmpty { _ = cond.wait(until: nil) }
        cond.unlock()
    }
}
