import Glibc

/// Work handed to worker pools by one event-loop thread while it goes
/// through what one poll of its sockets brought in, with the wake-ups owed
/// held until the end of that burst: one wake-up for a dozen calls instead
/// of one each. A worker is faster than the thread that parses requests, so
/// when woken per call it finished, found the queue empty, went back to sleep
/// and was woken again for the next call (a futex wake, a futex wait and two
/// context switches per call). Work is queued at once, so a thread already
/// awake still takes it without waiting for the end of the burst.
///
/// The thread that opens a batch must close it on the same thread before it
/// next waits for I/O (an event loop: a task, which runs after the poll's I/O
/// in the same loop iteration). Only WorkerPool hand-offs are held.
public enum HandOffBatch {
    /// One per thread that ever opened a batch, kept for the thread's life
    /// (the key's destructor releases it), so opening allocates nothing.
    final class Batch {
        var open = false
        var pools: [WorkerPool] = []
    }

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { raw in
            if let raw { Unmanaged<Batch>.fromOpaque(raw).release() }
        }
        return k
    }()

    /// This thread's batch while it is open.
    static var current: Batch? {
        guard let raw = pthread_getspecific(key) else { return nil }
        let batch = Unmanaged<Batch>.fromOpaque(raw).takeUnretainedValue()
        return batch.open ? batch : nil
    }

    /// Opens a batch on this thread; true when it was not open yet, and the
    /// caller must then arrange for `close()` on this thread.
    public static func open() -> Bool {
        let batch: Batch
        if let raw = pthread_getspecific(key) {
            batch = Unmanaged<Batch>.fromOpaque(raw).takeUnretainedValue()
        } else {
            batch = Batch()
            pthread_setspecific(key, Unmanaged.passRetained(batch).toOpaque())
        }
        if batch.open { return false }
        batch.open = true
        return true
    }

    /// Closes this thread's batch: every pool given work meanwhile wakes the
    /// threads that work needs.
    public static func close() {
        guard let batch = current else { return }
        batch.open = false
        if batch.pools.isEmpty { return }
        let pools = batch.pools
        batch.pools.removeAll(keepingCapacity: true)
        for pool in pools { pool.wakeForQueuedWork() }
    }

    /// Records that `pool` was given work whose wake-up waits for `close`.
    static func held(_ pool: WorkerPool, in batch: Batch) {
        for p in batch.pools where p === pool { return }
        batch.pools.append(pool)
    }
}
