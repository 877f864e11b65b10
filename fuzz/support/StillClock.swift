// The fuzz targets' clock: time never passes and scheduled work never runs, so
// an input does the same thing each time it is run (a crash reproduces) and no
// timer thread works behind the fuzzer's back.
import MCPRuntime

public final class StillClock: TimerService {
    private let next = LockedState(UInt64(0))
    private let start = MonotonicInstant.now()

    public init() {}

    public func now() -> MonotonicInstant { start }

    @discardableResult
    public func schedule(after milliseconds: Int, _ body: @escaping @Sendable () -> Void) -> TimerToken {
        next.withLock { n in
            n += 1
            return TimerToken(id: n)
        }
    }

    @discardableResult
    public func cancel(_ token: TimerToken) -> Bool { true }
}
