import MCPRuntime

/// One piece of a response, as the host reads it.
public enum HostResponsePart: Sendable {
    /// Status and headers; comes first, once.
    case head(status: Int, headers: [(String, String)])
    case body([UInt8])
    /// The response is complete.
    case end
    /// The response cannot be finished properly: the host drops its client's
    /// connection (as the built-in listener would cut it).
    case abort
}

/// What an exchange's response has produced and the host has not read yet:
/// filled on the exchange's event loop, read from any host thread.
///
/// The host is woken (its wake function, run on an engine worker) when parts
/// arrive after a read found none; it then reads until none are left. A host
/// that reads blocking needs no wake. Past `highWater` unread bytes the
/// outbox reports itself not writable, so the response waits in its
/// ResponseSink, whose bounds cut it as they would cut a stalled socket;
/// reading below half of it resumes the sink.
///
/// @unchecked Sendable: every field is touched with `cond` held.
final class HostOutbox: @unchecked Sendable {
    private let cond = ConditionLock()
    private var parts: [HostResponsePart] = []
    private var first = 0
    private var bytes = 0
    /// end or abort, once read: every later read gets it again.
    private var final: HostResponsePart?
    private var cancelled = false
    private var wakeArmed = true
    private var wake: (@Sendable () -> Void)?
    private var paused = false
    private var resume: (@Sendable () -> Void)?
    private let highWater: Int

    init(highWater: Int) {
        self.highWater = max(1, highWater)
    }

    /// Set once, at start, before any part can arrive.
    func setCallbacks(wake: (@Sendable () -> Void)?, resume: @escaping @Sendable () -> Void) {
        cond.withLock {
            self.wake = wake
            self.resume = resume
        }
    }

    var isCancelled: Bool { cond.withLock { cancelled } }

    /// Whether more may be put now; false records that a resume is wanted.
    var isWritable: Bool {
        cond.withLock {
            if cancelled || bytes < highWater { return true }
            paused = true
            return false
        }
    }

    func put(_ new: [HostResponsePart]) {
        let wakeNow = cond.withLock { () -> (@Sendable () -> Void)? in
            if cancelled || final != nil { return nil }
            for p in new {
                if case .body(let b) = p { bytes += b.count }
            }
            parts.append(contentsOf: new)
            cond.broadcast()
            guard wakeArmed, let wake else { return nil }
            wakeArmed = false
            return wake
        }
        wakeNow?()
    }

    /// The next part, waiting up to `timeoutMs` (0: not at all; negative:
    /// until one comes). nil: none yet (the next part will wake the host).
    func take(timeoutMs: Int) -> HostResponsePart? {
        let deadline = timeoutMs > 0 ? MonotonicInstant.now().adding(milliseconds: timeoutMs) : nil
        var resumeNow: (@Sendable () -> Void)?
        let part = cond.withLock { () -> HostResponsePart? in
            while true {
                if first < parts.count {
                    let p = parts[first]
                    first += 1
                    if first == parts.count {
                        parts.removeAll(keepingCapacity: true)
                        first = 0
                    }
                    switch p {
                    case .body(let b): bytes -= b.count
                    case .end, .abort: final = p
                    case .head: break
                    }
                    if paused, bytes < highWater / 2 {
                        paused = false
                        resumeNow = resume
                    }
                    return p
                }
                if let final { return final }
                if cancelled { return .abort }
                if timeoutMs == 0 {
                    wakeArmed = true
                    return nil
                }
                if !cond.wait(until: deadline), deadline != nil, first >= parts.count {
                    wakeArmed = true
                    return nil
                }
            }
        }
        resumeNow?()
        return part
    }

    /// The host gave up on the response: what is queued and what comes is dropped.
    func cancel() {
        cond.withLock {
            cancelled = true
            parts = []
            first = 0
            bytes = 0
            wake = nil
            resume = nil
            cond.broadcast()
        }
    }
}
