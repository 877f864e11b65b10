import Glibc
import Synchronization

/// A mutex with one condition variable, for the few places that must block a
/// thread until something happens (worker idle wait, drain at shutdown).
/// Synchronization.Mutex has no condition variable, hence this small wrapper.
///
/// The mutex and the condition share one allocation. With `lazyCondition` the
/// condition is set up only when a thread first waits (LockedState: a few are
/// made per request and almost none is ever waited on; a condition and its
/// attributes set up and torn down cost ~1K instructions each time); `wait`
/// is called with the lock held, so a waiter set the condition up before
/// it released the mutex, and a `signal` or `broadcast` made after the
/// waker's own lock and unlock sees it ready.
///
/// Sendable: every access to the pthread objects goes through the mutex
/// itself; `condReady` is atomic, set only in `wait` with the mutex held.
public final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    /// Set once, by the first wait (with the mutex held), after the
    /// condition is set up; atomic because signal and broadcast may be called
    /// after unlocking (LockedState.withLockAndNotify wakes its waiters
    /// outside the lock) and then read it without the mutex.
    private let condReady = Atomic<Bool>(false)

    /// Where the condition starts in the shared allocation.
    private static var condOffset: Int {
        let a = MemoryLayout<pthread_cond_t>.alignment
        return (MemoryLayout<pthread_mutex_t>.size + a - 1) / a * a
    }

    public init(lazyCondition: Bool = false) {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: Self.condOffset + MemoryLayout<pthread_cond_t>.size,
            alignment: max(MemoryLayout<pthread_mutex_t>.alignment, MemoryLayout<pthread_cond_t>.alignment))
        mutex = raw.bindMemory(to: pthread_mutex_t.self, capacity: 1)
        cond = (raw + Self.condOffset).bindMemory(to: pthread_cond_t.self, capacity: 1)
        // Adaptive: a thread that finds the mutex held spins briefly before
        // sleeping in the kernel. The sections under it are a few hundred
        // nanoseconds (a queue append, a counter), so the spin nearly always
        // wins; a plain mutex cost the worker hand-off a futex wait and a
        // futex wake each time the I/O thread and a worker met on it.
        var mattr = pthread_mutexattr_t()
        pthread_mutexattr_init(&mattr)
        pthread_mutexattr_settype(&mattr, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &mattr)
        pthread_mutexattr_destroy(&mattr)
        if !lazyCondition { setUpCondition() }
    }

    private func setUpCondition() {
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
        condReady.store(true, ordering: .releasing)
    }

    deinit {
        if condReady.load(ordering: .acquiring) { pthread_cond_destroy(cond) }
        pthread_mutex_destroy(mutex)
        UnsafeMutableRawPointer(mutex).deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    public func signal() { if condReady.load(ordering: .acquiring) { pthread_cond_signal(cond) } }
    public func broadcast() { if condReady.load(ordering: .acquiring) { pthread_cond_broadcast(cond) } }

    /// Waits with the lock held; returns false when the deadline passed.
    @discardableResult
    public func wait(until deadline: MonotonicInstant?) -> Bool {
        if !condReady.load(ordering: .relaxed) { setUpCondition() }
        guard let deadline else {
            pthread_cond_wait(cond, mutex)
            return true
        }
        var ts = timespec(tv_sec: Int(deadline.nanoseconds / 1_000_000_000),
                          tv_nsec: Int(deadline.nanoseconds % 1_000_000_000))
        return pthread_cond_timedwait(cond, mutex, &ts) != ETIMEDOUT
    }
}

/// A point on CLOCK_MONOTONIC.
public struct MonotonicInstant: Sendable, Comparable {
    public var nanoseconds: UInt64

    public static func now() -> MonotonicInstant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return MonotonicInstant(nanoseconds: UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec))
    }

    public func adding(milliseconds: Int) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: nanoseconds &+ UInt64(max(0, milliseconds)) * 1_000_000)
    }

    public static func < (a: MonotonicInstant, b: MonotonicInstant) -> Bool { a.nanoseconds < b.nanoseconds }
}
