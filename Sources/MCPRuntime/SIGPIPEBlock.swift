import Glibc

/// Which threads have SIGPIPE blocked, so writers can skip masking it around
/// every write. Engine threads block it for their whole life; a host thread
/// serving stdio blocks it for the duration of the serve call.
public enum SIGPIPEBlock {
    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    public static var isBlockedOnThisThread: Bool { pthread_getspecific(key) != nil }

    /// Blocks SIGPIPE on the calling thread for good (engine threads).
    public static func blockForThisThread() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
    }

    /// Runs `body` with SIGPIPE blocked on the calling thread, then restores
    /// the thread's mask. A SIGPIPE raised meanwhile is consumed by the writer
    /// that got EPIPE, so none is left pending to kill the host afterwards.
    public static func whileBlocked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        if isBlockedOnThisThread { return try body() }
        var set = sigset_t()
        var old = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, &old)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        defer {
            pthread_setspecific(key, nil)
            pthread_sigmask(SIG_SETMASK, &old, nil)
        }
        return try body()
    }
}
