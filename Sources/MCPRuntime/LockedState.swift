/// State guarded by a lock, with a condition for waiting on it.
///
/// @unchecked Sendable: `state` is only read or written inside `withLock` /
/// `wait`, which hold the lock, so it is never accessed concurrently.
public final class LockedState<State>: @unchecked Sendable {
    /// Its condition is set up on the first wait: every use below holds the lock.
    private let cond = ConditionLock(lazyCondition: true)
    private var state: State

    public init(_ initial: State) { state = initial }

    @discardableResult
    public func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        cond.lock()
        defer { cond.unlock() }
        return try body(&state)
    }

    /// Runs `body` and wakes every waiter (for changes others may wait on).
    /// The waiters are woken after the lock is released: woken under it, each
    /// would at once block again on the lock still held (a second futex round
    /// trip for every blocking call's answer). The change is made under the
    /// lock, so a waiter that wakes late still sees it.
    @discardableResult
    public func withLockAndNotify<R>(_ body: (inout State) throws -> R) rethrows -> R {
        cond.lock()
        defer {
            cond.unlock()
            cond.broadcast()
        }
        return try body(&state)
    }

    /// Blocks until `predicate` holds or the deadline passes; returns whether it holds.
    public func wait(until deadline: MonotonicInstant?, for predicate: (State) -> Bool) -> Bool {
        cond.lock()
        defer { cond.unlock() }
        while !predicate(state) {
            if let deadline, MonotonicInstant.now() >= deadline { return false }
            _ = cond.wait(until: deadline)
        }
        return true
    }
}
