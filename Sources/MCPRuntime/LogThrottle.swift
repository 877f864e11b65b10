/// At most one log record per key per interval, the rest counted: a flood
/// of refused requests (thousands a second) becomes one warning a second
/// per cause saying how many it stands for, instead of a record each that
/// fills the log queue and drowns everything else in it.
public final class LogThrottle: Sendable {
    private let intervalNs: UInt64
    private let clock: @Sendable () -> MonotonicInstant
    private let state = LockedState([String: Window]())
    /// Keys remembered at most (a key is a cause, a short fixed set in
    /// practice); past it the oldest windows are forgotten.
    private static let maxKeys = 256

    private struct Window {
        var startNs: UInt64
        var suppressed: Int
    }

    public init(intervalMs: Int = 1000, clock: @escaping @Sendable () -> MonotonicInstant = MonotonicInstant.now) {
        intervalNs = UInt64(max(1, intervalMs)) * 1_000_000
        self.clock = clock
    }

    /// nil: this record is suppressed (counted). Otherwise it is to be
    /// logged, with how many records of `key` were suppressed since the
    /// last one logged.
    public func admit(_ key: String) -> Int? {
        let now = clock().nanoseconds
        return state.withLock { windows -> Int? in
            if var w = windows[key] {
                if now &- w.startNs < intervalNs {
                    w.suppressed += 1
                    windows[key] = w
                    return nil
                }
                windows[key] = Window(startNs: now, suppressed: 0)
                return w.suppressed
            }
            if windows.count >= Self.maxKeys {
                let oldest = windows.min { $0.value.startNs < $1.value.startNs }?.key
                if let oldest { windows[oldest] = nil }
            }
            windows[key] = Window(startNs: now, suppressed: 0)
            return 0
        }
    }
}
