#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DequeModule

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

/// An elastic pool of POSIX threads. Threads are started on demand up to
/// `maxThreads` (a blocked callback must not starve the others, which a fixed
/// pool such as NIOThreadPool would do) and exit after `idleTimeoutMs` idle.
/// Its threads block SIGPIPE so that writes to closed pipes return EPIPE.
public final class WorkerPool: HandlerExecutor, @unchecked Sendable {
    // @unchecked: all mutable state below is only touched with `cond` locked.
    private let cond = ConditionLock()
    private var queue = Deque<@Sendable () -> Void>()
    private var threads = 0
    private var idle = 0
    private var stopping = false
    public let maxThreads: Int
    private let idleTimeoutMs: Int

    public init(maxThreads: Int, idleTimeoutMs: Int = 10_000) {
        self.maxThreads = max(1, maxThreads)
        self.idleTimeoutMs = idleTimeoutMs
    }

    /// True on a thread of any WorkerPool (used to refuse blocking re-entry).
    public static var isWorkerThread: Bool { pthread_getspecific(WorkerThreadMark.key) != nil }

    public func execute(_ work: @escaping @Sendable () -> Void) {
        cond.lock()
        if stopping {
            cond.unlock()
            // After shutdown work still runs, on a short-lived thread, so no
            // answer is lost; this only happens while a server is being freed.
            if !Self.spawn({ work() }) { work() }
            return
        }
        queue.append(work)
        let spawn = queue.count > idle && threads < maxThreads
        if spawn { threads += 1 }
        cond.signal()
        cond.unlock()
        if spawn, !Self.spawn({ [self] in self.run() }) {
            // No thread could be started: if none is left, run the queue here
            // rather than strand it.
            cond.lock()
            threads -= 1
            let orphaned = threads == 0 ? Array(queue) : []
            if threads == 0 { queue.removeAll() }
            cond.unlock()
            for work in orphaned { work() }
        }
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
            if let work = queue.popFirst() {
                cond.unlock()
                work()
                cond.lock()
                continue
            }
            if stopping { break }
            idle += 1
            let woke = cond.wait(until: MonotonicInstant.now().adding(milliseconds: idleTimeoutMs))
            idle -= 1
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
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &set, nil)
            pthread_setspecific(WorkerThreadMark.key, UnsafeRawPointer(bitPattern: 1))
            let start = Unmanaged<Start>.fromOpaque(arg).takeRetainedValue()
            start.body()
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
