internal import NIOHTTP1
import MCPCore

/// What metrics and the access log see of one response: whether it is an
/// open SSE stream (in the streams gauge until it ends) and its access log
/// line. Both ways a response leaves the engine, a listener's connection
/// and a host's exchange (Hosted/), keep one, so both count alike.
struct ResponseObservation {
    private var sseOpen = false
    /// The access log line being filled (nil when "access_log" is off).
    var access: AccessLogEntry?

    /// A response head goes out.
    mutating func started(_ h: HTTPResponseHead, observer: (any ServerObserver)?) {
        access?.status = Int(h.status.code)
        if h.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true, !sseOpen {
            sseOpen = true
            observer?.streamOpened(.sse)
        }
    }

    mutating func sent(bytes: Int) { access?.bytesOut += bytes }

    /// The response is over (or its connection went): the stream leaves the
    /// gauge and the log line is written, once.
    mutating func ended(observer: (any ServerObserver)?) {
        if sseOpen {
            sseOpen = false
            observer?.streamClosed(.sse)
        }
        if let entry = access {
            access = nil
            entry.log()
        }
    }
}
