import Glibc
import DequeModule

/// Delivers items in order, one batch at a time, without a thread of its own:
/// whoever pushes while nobody is delivering becomes the deliverer and drains
/// the queue; others only append. Writes from many threads thus coalesce into
/// few system calls, never overlap, and keep their order. A push from inside
/// the delivery handler (re-entry) appends and returns, so it cannot deadlock.
///
/// @unchecked Sendable: `items`, `delivering`, `deliverer` are only touched with
/// `cond` locked; `deliver` is called by one thread at a time.
public final class CombiningQueue<Item>: @unchecked Sendable {
    private let cond = ConditionLock()
    private var items = Deque<Item>()
    private var delivering = false
    private var deliverer: pthread_t?
    /// The thread inside `holding`: its pushes wait for the end of the hold.
    private var holder: pthread_t?
    private let maxPending: Int
    private let deliver: ([Item]) -> Void

    /// `maxPending`: when that many items wait, pushers other than the
    /// deliverer block until the deliverer catches up (backpressure).
    public init(maxPending: Int = .max, deliver: @escaping ([Item]) -> Void) {
        self.maxPending = maxPending
        self.deliver = deliver
    }

    public func push(_ item: Item) {
        cond.lock()
        if delivering, let d = deliverer, pthread_equal(d, pthread_self()) != 0 {
            items.append(item)
            cond.unlock()
            return
        }
        if let h = holder, pthread_equal(h, pthread_self()) != 0, items.count < maxPending {
            items.append(item)
            cond.unlock()
            return
        }
        while delivering && items.count >= maxPending { _ = cond.wait(until: nil) }
        items.append(item)
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
