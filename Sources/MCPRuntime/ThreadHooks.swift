import Glibc

/// The host's hooks for the threads the engine creates (mcp_set_thread_hooks):
/// runtimes that attach per thread (a Python thread state, a JVM) attach on
/// start and detach on exit instead of once per callback. Each thread keeps
/// the exit hook of the hooks it started with, so start and exit always pair,
/// even if the hooks are replaced in between.
public enum ThreadHooks {
    public typealias Hook = @Sendable () -> Void

    private static let current = LockedState<(start: Hook?, exit: Hook?)>((nil, nil))

    private final class ExitBox {
        let exit: Hook
        init(_ exit: @escaping Hook) { self.exit = exit }
    }

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    /// Replaces the hooks; threads started from now on use them.
    public static func set(start: Hook?, exit: Hook?) {
        current.withLock { $0 = (start, exit) }
    }

    /// Called first on each engine thread (and on each event-loop thread).
    public static func threadStarted() {
        guard pthread_getspecific(key) == nil else { return }
        let (start, exit) = current.withLock { $0 }
        start?()
        if let exit { pthread_setspecific(key, Unmanaged.passRetained(ExitBox(exit)).toOpaque()) }
    }

    /// Called last on each engine thread that `threadStarted` ran on.
    public static func threadEnding() {
        guard let raw = pthread_getspecific(key) else { return }
        pthread_setspecific(key, nil)
        Unmanaged<ExitBox>.fromOpaque(raw).takeRetainedValue().exit()
    }
}
