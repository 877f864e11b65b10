internal import NIOCore
internal import NIOHTTP1

/// When an open SSE response needs a comment line so that proxies and load
/// balancers do not cut it as idle (the standalone GET stream, a legacy
/// HTTP+SSE stream, the stream of a call that runs long).
///
/// One per connection, owned by its handler and used on its event loop only.
/// It costs the request path nothing but a flag: every write of the
/// connection sets `wrote`; a timer runs only while an SSE response is open
/// and looks every half interval; a look that finds nothing written since
/// the previous one asks for a comment. The comment counts as a write, so a
/// stream with nothing to say gets one per interval, and no open stream is
/// ever silent for longer than the interval. Comments are not events: they
/// have no id, are not kept in the event store and are never replayed.
struct SSEHeartbeat {
    /// Half the interval: how often the timer looks. nil: no heartbeat.
    let period: TimeAmount?
    /// The current response is an SSE stream whose head went out and whose end did not.
    private(set) var streamOpen = false
    /// The timer is scheduled (the handler holds it, to cancel it).
    var armed = false
    private var wrote = false

    static let comment = ByteBuffer(bytes: SSEEncoder.keepAlive)

    init(intervalMs: Int) {
        period = intervalMs > 0 ? .milliseconds(Int64(max(1, intervalMs / 2))) : nil
    }

    /// A batch of parts was written: `head` is the head among them (if any),
    /// `ended` whether the response ended. Only a head that leaves its
    /// response open has its Content-Type read (whole responses, head to end
    /// in one batch, never do). True when the timer should be armed now.
    mutating func didWrite(head: HTTPResponseHead?, ended: Bool) -> Bool {
        wrote = true
        if ended {
            streamOpen = false
        } else if let head {
            streamOpen = head.headers.first(name: "content-type")
                .map { MediaType.first(of: $0, is: "text/event-stream") } ?? false
        }
        return streamOpen && !armed && period != nil
    }

    /// The response is over (a new one starts, or the connection goes).
    mutating func reset() {
        streamOpen = false
    }

    enum Look {
        /// No SSE stream open: the timer stops (the next stream arms it again).
        case stop
        /// Something was written lately: look again later.
        case again
        /// Silent since the last look: write a comment, then look again later.
        case comment
    }

    /// The timer fired.
    mutating func look() -> Look {
        armed = false
        guard streamOpen else { return .stop }
        if wrote {
            wrote = false
            return .again
        }
        wrote = true  // the comment about to go out
        return .comment
    }
}
