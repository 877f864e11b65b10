import Synchronization

/// State guarded by a lock, with a way for a thread to wait until it changes.
///
/// The lock is a `Synchronization.Mutex` held inline: a LockedState is one
/// allocation with no pthread object to set up or tear down. A 2026-07-28
/// HTTP call makes about eight of them and waits on none; with a pthread
/// mutex and a lazily made condition each cost three allocations and
/// ~800 instructions of set-up and tear-down (callgrind, bench/instr_bench.py).
/// Waiting is rare (drain at close, a blocking client call), so what it needs,
/// a `ConditionLock` to park on, is made by the first waiter.
///
/// @unchecked Sendable: `state`, `waiting` and `parking` are only read or
/// written with `mutex` held; `generation` is atomic.
public final class LockedState<State>: @unchecked Sendable {
    private let mutex = Mutex<Void>(())
    private var state: State
    /// Threads between deciding to park and waking up: a notifier with none
    /// to wake skips the parking lock.
    private var waiting = 0
    private var parking: ConditionLock?
    /// Bumped by every notify, so that a waiter that has left the mutex but
    /// not yet parked sees it missed one and looks again instead of sleeping.
    private let generation = Atomic<UInt64>(0)

    public init(_ initial: State) { state = initial }

    @discardableResult
    public func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        try mutex.withLock { _ throws -> R in try body(&state) }
    }

    /// Runs `body` and wakes every waiter (for changes others may wait on).
    /// The waiters are woken after the lock is released: woken under it, each
    /// would at once block again on the lock still held. The change is made
    /// under the lock, so a waiter that wakes late still sees it.
    @discardableResult
    public func withLockAndNotify<R>(_ body: (inout State) throws -> R) rethrows -> R {
        var toWake: ConditionLock?
        let result = try mutex.withLock { _ throws -> R in
            let r = try body(&state)
            generation.add(1, ordering: .releasing)
            if waiting > 0 { toWake = parking }
            return r
        }
        if let toWake {
            // The parking lock taken and given back first: a waiter between
            // its generation check and its wait holds it, so once we have had
            // it that waiter is waiting and hears the broadcast. Woken after
            // the release, it does not at once block on the lock again (a
            // second futex round trip per wake-up).
            toWake.lock()
            toWake.unlock()
            toWake.broadcast()
        }
        return result
    }

    /// Blocks until `predicate` holds or the deadline passes; returns whether it holds.
    public func wait(until deadline: MonotonicInstant?, for predicate: (State) -> Bool) -> Bool {
        while true {
            let (holds, seen, park) = mutex.withLock { _ -> (Bool, UInt64, ConditionLock?) in
                if predicate(state) { return (true, 0, nil) }
                let p = parking ?? ConditionLock()
                parking = p
                waiting += 1
                return (false, generation.load(ordering: .acquiring), p)
            }
            guard !holds, let park else { return true }
            let expired = deadline.map { MonotonicInstant.now() >= $0 } ?? false
            if !expired {
                park.withLock {
                    if generation.load(ordering: .acquiring) == seen { _ = park.wait(until: deadline) }
                }
            }
            mutex.withLock { _ in waiting -= 1 }
            if expired { return withLock { predicate($0) } }
        }
    }
}
