import Glibc
import DequeModule
import Synchronization

/// Where host callbacks run. The engine never calls host code on a thread that
/// reads or writes a transport, so a slow or blocking callback delays no one.
public protocol HandlerExecutor: Sendable {
    func execute(_ work: @escaping @Sendable () -> Void)
}

/// Runs work inline; for tests that want determinism.
public struct InlineExecutor: HandlerExecutor {
    public init() {}
    public func execute(_ work: @escaping @Sendable () -> Void) { work() }
}

/// An elastic pool of POSIX threads. Up to `softThreads` (the core count)
/// start on demand; beyond that a new thread starts only when queued work has
/// waited `stallMs`, which means the running callbacks block (sleep, I/O, a
/// GIL). So quick callbacks run on about one thread per core without context-
/// switch storms, and slow ones never starve the rest, up to `maxThreads` (a
/// fixed pool such as NIOThreadPool would starve). Idle threads exit after
/// `idleTimeoutMs`. Threads block SIGPIPE so writes to closed pipes give EPIPE.
public final class WorkerPool: HandlerExecutor, @unchecked Sendable {
    // @unchecked: all mutable state below is only touched with `cond` locked.
    private let cond = ConditionLock()
    private var queue = Deque<(enqueued: MonotonicInstant, work: @Sendable () -> Void)>()
    private var threads = 0
    private var idle = 0
    /// Threads polling `queued` before they sleep: they take new work
    /// without being signalled.
    private var spinning = 0
    /// Sleepers signalled that have not yet looked at the queue.
    private var waking = 0
    private var stopping = false
    private var monitoring = false
    private let queued = Atomic<Int>(0)
    /// A few microseconds of polling (no sched_yield: on two cores the
    /// syscalls cost more CPU per call than they saved).
    private static let spinLimit = 2048
    public let maxThreads: Int
    private let softThreads: Int
    private let idleTimeoutMs: Int
    private let stallMs: Int
    /// How long the stall monitor stays after the queue last held work: under
    /// load the queue backs up and empties many times a second, and a thread
    /// started for each episode cost a clone, its set-up and its exit.
    private static let monitorLingerMs = 200

    public init(maxThreads: Int, idleTimeoutMs: Int = 10_000, stallMs: Int = 2) {
        self.maxThreads = max(1, maxThreads)
        self.softThreads = min(self.maxThreads, max(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        self.idleTimeoutMs = idleTimeoutMs
        self.stallMs = stallMs
    }

    /// True on a thread of any WorkerPool, or inside a callback run inline
    /// (used to refuse blocking re-entry).
    public static var isWorkerThread: Bool { pthread_getspecific(WorkerThreadMark.key) != nil }

    /// Runs host code on the current thread (an inline tool on an I/O thread),
    /// marked as a callback for its duration so that blocking engine calls made
    /// from it are refused as they are on a worker, instead of waiting on the
    /// very thread that would have to make progress for them.
    public static func runAsCallback(_ body: () -> Void) {
        if isWorkerThread { return body() }
        pthread_setspecific(WorkerThreadMark.key, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(WorkerThreadMark.key, nil) }
        body()
    }

    public func execute(_ work: @escaping @Sendable () -> Void) {
        let batch = HandOffBatch.current
        cond.lock()
        if stopping {
            cond.unlock()
            // After shutdown work still runs, on a short-lived thread, so no
            // answer is lost; this only happens while a server is being freed.
            if !Self.spawn({ work() }) { work() }
            return
        }
        queue.append((.now(), work))
        queued.store(queue.count, ordering: .relaxed)
        let spawn = queue.count > idle + spinning && threads < softThreads
        if spawn { threads += 1 }
        let monitor = !spawn && queue.count > idle && threads < maxThreads && !monitoring
        if monitor { monitoring = true }
        // Wake a sleeper only for work that no awake thread will take: a
        // spinning thread or one already signalled takes it without the
        // futex wake-up and the two context switches of a needless signal.
        let wake = batch == nil && idle > waking && queue.count > spinning + waking
        if wake { waking += 1 }
        cond.unlock()
        if let batch { HandOffBatch.held(self, in: batch) }
        // Signalled after unlocking, so the woken thread does not at once
        // block on the mutex this thread still holds (it was counted as a
        // sleeper under the lock, so it is waiting already: nothing is lost).
        if wake { cond.signal() }
        if monitor { Self.detach { [self] in self.watchForStalls() } }
        if spawn, !Self.spawn({ [self] in self.run() }) {
            // No thread could be started: if none is left, run the queue here
            // rather than strand it.
            cond.lock()
            threads -= 1
            let orphaned = threads == 0 ? queue.map(\.work) : []
            if threads == 0 { queue.removeAll() }
            cond.unlock()
            for work in orphaned { work() }
        }
    }

    /// The end of a HandOffBatch that gave this pool work: wakes a sleeper
    /// if no awake thread will take the work (the first one it takes wakes
    /// the next if more is waiting).
    func wakeForQueuedWork() {
        cond.lock()
        let wake = idle > waking && queue.count > spinning + waking
        if wake { waking += 1 }
        cond.unlock()
        if wake { cond.signal() }
    }

    /// While work is queued and every thread is busy, adds a thread whenever
    /// the oldest item has waited `stallMs` (its callbacks must be blocking).
    /// It stays `monitorLingerMs` after the queue last held work, so a server
    /// under steady load keeps one monitor instead of starting one per burst.
    private func watchForStalls() {
        let poll = UInt32(max(500, stallMs * 500))
        var lastBusy = MonotonicInstant.now()
        cond.lock()
        while !stopping, threads < maxThreads {
            let now = MonotonicInstant.now()
            if let oldest = queue.first {
                lastBusy = now
                let waited = Int((now.nanoseconds &- oldest.enqueued.nanoseconds) / 1_000_000)
                if idle > 0 {
                    // Work waits while a thread sleeps: a wake-up was lost
                    // or is late; signal again (cheap, and never wrong).
                    if waited >= stallMs { cond.signal() }
                } else if waited >= stallMs {
                    threads += 1
                    cond.unlock()
                    if !Self.spawn({ [self] in self.run() }) {
                        cond.lock()
                        threads -= 1
                        break
                    }
                    // Give the new thread time to take work before judging again.
                    usleep(UInt32(stallMs * 1000))
                    cond.lock()
                    continue
                }
            } else if now >= lastBusy.adding(milliseconds: Self.monitorLingerMs) {
                break
            }
            cond.unlock()
            usleep(poll)
            cond.lock()
        }
        monitoring = false
        cond.unlock()
    }

    /// Waits until no work is queued or running (or the timeout passes), so a
    /// host that frees its data afterwards gets no more callbacks with it.
    /// Must not be called from a worker thread (it would wait on itself).
    @discardableResult
    public func waitUntilIdle(timeoutMs: Int) -> Bool {
        let deadline = MonotonicInstant.now().adding(milliseconds: timeoutMs)
        cond.lock()
        defer { cond.unlock() }
        while !(queue.isEmpty && idle == threads) {
            if MonotonicInstant.now() >= deadline { return false }
            _ = cond.wait(until: min(deadline, MonotonicInstant.now().adding(milliseconds: 5)))
        }
        return true
    }

    /// Threads now, those running work (not idle), and work waiting for one:
    /// for the metrics and the readiness check.
    public var load: (threads: Int, busy: Int, queued: Int) {
        cond.withLock { (threads, threads - idle, queue.count) }
    }

    /// Lets idle threads exit; queued work still runs. Does not wait.
    public func shutdown() {
        cond.withLock {
            stopping = true
            cond.broadcast()
        }
    }

    private func run() {
        cond.lock()
        while true {
            if let item = queue.popFirst() {
                queued.store(queue.count, ordering: .relaxed)
                // More work behind this item and nobody awake to take it
                // (work handed over in a batch woke one thread): wake the next.
                let chain = idle > waking && queue.count > spinning + waking
                if chain { waking += 1 }
                cond.unlock()
                if chain { cond.signal() }
                item.work()
                cond.lock()
                continue
            }
            if stopping { break }
            // Spin briefly before sleeping: in request/response traffic the
            // next call usually arrives within microseconds, and a futex wake-up
            // costs more than that. `queued` mirrors queue.count without the lock;
            // `spinning` tells `execute` that this thread needs no signal.
            spinning += 1
            cond.unlock()
            // The limit read once: a static in the loop's condition cost a
            // swift_once call per turn (most of each spin's time).
            let limit = Self.spinLimit
            var spins = 0
            while queued.load(ordering: .relaxed) == 0 && spins < limit { spins += 1 }
            cond.lock()
            spinning -= 1
            if !queue.isEmpty { continue }
            idle += 1
            let woke = cond.wait(until: MonotonicInstant.now().adding(milliseconds: idleTimeoutMs))
            idle -= 1
            // Whether this thread was the one signalled or not, one sleeper
            // fewer is pending (a miscount only costs a spare signal).
            if waking > 0 { waking -= 1 }
            if !woke && queue.isEmpty { break }
        }
        threads -= 1
        cond.unlock()
    }

    /// Runs `body` on a new detached thread (SIGPIPE blocked, marked as an
    /// engine thread); runs it inline if no thread can be started.
    public static func detach(_ body: @escaping @Sendable () -> Void) {
        if !spawn(body) { body() }
    }

    private final class Start {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    private static func spawn(_ body: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(Start(body)).toOpaque()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        var tid = pthread_t()
        let rc = pthread_create(&tid, &attr, { arg in
            guard let arg else { return nil }
            SIGPIPEBlock.blockForThisThread()
            pthread_setspecific(WorkerThreadMark.key, UnsafeRawPointer(bitPattern: 1))
            let start = Unmanaged<Start>.fromOpaque(arg).takeRetainedValue()
            ThreadHooks.threadStarted()
            start.body()
            ThreadHooks.threadEnding()
            return nil
        }, box)
        pthread_attr_destroy(&attr)
        if rc != 0 {
            Unmanaged<Start>.fromOpaque(box).release()
            return false
        }
        return true
    }
}

enum WorkerThreadMark {
    static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()
}
