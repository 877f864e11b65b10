import DequeModule

/// Runs work one item at a time, in the order it was submitted, on another
/// executor's threads (it has none of its own): for host callbacks whose order
/// means something, such as the notifications of one session (two log
/// messages, or a progress report and then "done", must not arrive swapped).
/// A callback that blocks holds back the ones after it, and only those.
///
/// @unchecked Sendable: `queue` and `running` are only touched with `lock` held.
public final class OrderedExecutor: HandlerExecutor, @unchecked Sendable {
    private let base: HandlerExecutor
    private let lock = ConditionLock()
    private var queue = Deque<@Sendable () -> Void>()
    private var running = false

    public init(base: HandlerExecutor) {
        self.base = base
    }

    public func execute(_ work: @escaping @Sendable () -> Void) {
        let start = lock.withLock { () -> Bool in
            queue.append(work)
            if running { return false }
            running = true
            return true
        }
        if start { base.execute { self.drain() } }
    }

    private func drain() {
        while let next = lock.withLock({ () -> (@Sendable () -> Void)? in
            if let w = queue.popFirst() { return w }
            running = false
            return nil
        }) {
            next()
        }
    }
}
