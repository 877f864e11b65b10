/// Identifies work scheduled on a `TimerService`, to cancel it.
public struct TimerToken: Hashable, Sendable {
    public let id: UInt64
    public init(id: UInt64) { self.id = id }
}

/// Runs work after a delay, and tells the time it measures delays with.
/// The protocol engine takes one injected (it starts no thread of its own):
/// `Scheduler` in the library, a hand-advanced clock in tests.
///
/// All methods may be called from any thread; `body` runs on whatever thread
/// the implementation chooses, never under the caller's locks.
public protocol TimerService: Sendable {
    /// The clock deadlines are measured on.
    func now() -> MonotonicInstant
    /// Runs `body` once, `milliseconds` from now, unless cancelled first.
    @discardableResult
    func schedule(after milliseconds: Int, _ body: @escaping @Sendable () -> Void) -> TimerToken
    /// Cancels scheduled work; false if it already ran or was cancelled.
    @discardableResult
    func cancel(_ token: TimerToken) -> Bool
}
