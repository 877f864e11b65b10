import Glibc
import DequeModule

/// Items handed to one process-wide host hook (the log hook, the trace hook),
/// queued and delivered in order on a thread of their own, never on the
/// thread that produced them: that is often an I/O event loop, and host code
/// (a Python hook waiting for the GIL) must not stall it.
///
/// The queue is bounded; past it items are dropped and counted, and before
/// the next delivered item the hook gets `dropNotice(count)` when that gives
/// one. After emptying the queue the delivery thread naps a millisecond
/// before it waits to be woken: items pushed meanwhile need no wake-up (a
/// futex call and a context switch per item were most of the cost of a busy
/// hook), and are delivered together. It exits after five idle seconds and
/// starts again with the next item.
public final class HookQueue<Item: Sendable>: @unchecked Sendable {
    // @unchecked: every stored var is read and written with `cond` locked.
    public typealias Hook = @Sendable (Item) -> Void

    private let cond = ConditionLock()
    private var limit: Int
    private let dropNotice: @Sendable (Int) -> Item?
    private var queue = Deque<Item>()
    private var hook: Hook?
    private var delivering = false
    /// The delivery thread is in its short nap: pushes do not wake it.
    private var napping = false
    private var threadRunning = false
    private var dropped = 0
    private var deliveryThread: pthread_t?

    public init(limit: Int, dropNotice: @escaping @Sendable (Int) -> Item?) {
        self.limit = max(1, limit)
        self.dropNotice = dropNotice
    }

    /// Queues one item (dropped at once when no hook is set).
    public func push(_ item: Item) {
        cond.lock()
        guard hook != nil else { return cond.unlock() }
        if queue.count >= limit {
            dropped += 1
            return cond.unlock()
        }
        queue.append(item)
        let start = !threadRunning
        if start { threadRunning = true }
        if !napping { cond.signal() }
        cond.unlock()
        if start { WorkerPool.detach { [self] in run() } }
    }

    /// Replaces the hook (nil removes it and drops what is queued), and the
    /// queue's bound when `limit` is given. When it returns the previous hook
    /// is not running and will not run again, unless called from the hook
    /// itself (it cannot wait for its own return).
    public func replace(_ new: Hook?, limit newLimit: Int? = nil) {
        cond.lock()
        hook = new
        if let newLimit { limit = max(1, newLimit) }
        if new == nil { queue.removeAll() }
        let onDeliveryThread = deliveryThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
        while delivering && !onDeliveryThread { _ = cond.wait(until: MonotonicInstant.now().adding(milliseconds: 50)) }
        cond.broadcast()
        cond.unlock()
    }

    /// Waits until every item queued so far was delivered (tests, shutdown).
    public func waitUntilEmpty(timeoutMs: Int) -> Bool {
        let deadline = MonotonicInstant.now().adding(milliseconds: timeoutMs)
        cond.lock()
        defer { cond.unlock() }
        while !queue.isEmpty || delivering {
            if MonotonicInstant.now() >= deadline { return false }
            _ = cond.wait(until: min(deadline, MonotonicInstant.now().adding(milliseconds: 5)))
        }
        return true
    }

    /// The delivery thread: exits after a while with nothing to deliver.
    private func run() {
        cond.lock()
        deliveryThread = pthread_self()
        var napped = false
        while true {
            guard let hook, !queue.isEmpty else {
                if !napped {
                    napped = true
                    napping = true
                    _ = cond.wait(until: MonotonicInstant.now().adding(milliseconds: 1))
                    napping = false
                    continue
                }
                if !cond.wait(until: MonotonicInstant.now().adding(milliseconds: 5000)), queue.isEmpty { break }
                continue
            }
            napped = false
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            let lost = dropped
            dropped = 0
            delivering = true
            cond.unlock()
            if lost > 0, let notice = dropNotice(lost) { hook(notice) }
            for item in batch { hook(item) }
            cond.lock()
            delivering = false
            cond.broadcast()
        }
        threadRunning = false
        deliveryThread = nil
        cond.broadcast()
        cond.unlock()
    }
}
