internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOHTTP1
import MCPCore

/// The engine's channel for one POST: where that request's answer and related
/// messages (progress, logs, server-to-client requests) go.
///
/// The response's form is settled by the first message: in JSON mode an
/// answer that comes first is sent as one `application/json` body, but a
/// message that comes before the answer switches the response to an SSE
/// stream, so nothing a call sends is ever lost. In SSE mode the stream opens
/// at once (`openStream`). With `streams` (a stateful session) every event has
/// an id and is kept for resumption; stateless streams have neither.
final class PostChannel: ResumableChannel {
    private let sink: ResponseSink
    private let streams: SessionStreams?
    private let version: HTTPVersion
    /// Whether streams open with a priming event (clients of 2025-11-25 and later).
    private let primes: @Sendable () -> Bool
    /// Extra response headers, computed when the head is written (the
    /// Mcp-Session-Id of a just-initialized session).
    /// nil: none (most POSTs; an empty set added cost ~1K instructions an answer).
    private let extraHeaders: (@Sendable () -> HTTPHeaders)?
    /// The status of an error answer sent as JSON (2026-07-28 maps codes to
    /// 400/404); nil: 200, as in the 2025 era.
    private let errorStatus: (@Sendable (Int64) -> HTTPResponseStatus)?
    private let state: NIOLockedValueBox<Mode>
    /// The POST's authenticated sender (HTTP with "auth"), for its calls.
    let principal: Principal?
    /// The loop its response is written on: tells which endpoint it belongs to.
    var eventLoop: EventLoop { sink.eventLoop }
    /// The POST's traceparent and tracestate headers (set only while tracing is on).
    let traceHeaders: TraceHeaders?
    let spanTransport: SpanTransport?
    /// The ids of the requests the POST carries: kept with its stream, so a
    /// fleet answers them with an error if this process dies (FleetStore).
    private let requests: [JSONValue]

    private enum Mode {
        case waiting(json: Bool)
        case streaming(UInt64)  // 0 in stateless mode (no ids)
        case done
    }

    init(sink: ResponseSink, streams: SessionStreams?, version: HTTPVersion, json: Bool,
         primes: @escaping @Sendable () -> Bool, extraHeaders: (@Sendable () -> HTTPHeaders)? = nil,
         errorStatus: (@Sendable (Int64) -> HTTPResponseStatus)? = nil, principal: Principal? = nil,
         traceHeaders: TraceHeaders? = nil, spanTransport: SpanTransport? = nil, requests: [JSONValue] = [])
    {
        self.requests = requests
        self.principal = principal
        self.traceHeaders = traceHeaders
        self.spanTransport = spanTransport
        self.errorStatus = errorStatus
        self.sink = sink
        self.streams = streams
        self.version = version
        self.primes = primes
        self.extraHeaders = extraHeaders
        state = NIOLockedValueBox(.waiting(json: json))
    }

    func send(_ message: [UInt8]) {
        state.withLockedValue { mode in
            switch mode {
            case .waiting:
                let n = startStream()
                mode = .streaming(n)
                emit(n, message, final: false)
            case .streaming(let n):
                emit(n, message, final: false)
            case .done:
                break
            }
        }
    }

    func finish(_ answer: [UInt8]?) { finish(answer, status: .ok) }

    func finish(error answer: [UInt8], code: Int64) { finish(answer, status: errorStatus?(code) ?? .ok) }

    private func finish(_ answer: [UInt8]?, status: HTTPResponseStatus) {
        state.withLockedValue { mode in
            switch mode {
            case .waiting(json: true):
                if let answer {
                    var h = HTTPEndpoint.jsonHeaders
                    if let extraHeaders { h.add(contentsOf: extraHeaders()) }
                    sink.respond(status: status, headers: h, body: answer, version: version)
                } else {
                    // Cancelled before anything was sent: no answer will come.
                    sink.respond(status: .accepted, headers: extraHeaders?() ?? HTTPHeaders(), body: [], version: version)
                }
            case .waiting(json: false):
                let n = startStream()
                if let answer { emit(n, answer, final: true) } else { endStream(n) }
            case .streaming(let n):
                if let answer { emit(n, answer, final: true) } else { endStream(n) }
            case .done:
                break
            }
            mode = .done
        }
    }

    /// Ends this POST's connection while the call goes on (the host asked,
    /// through mcp_call_close_stream); the client resumes with GET and
    /// Last-Event-ID. Only for session streams whose client knows how to
    /// resume (it got a priming event, 2025-11-25 and later).
    func closeConnection() -> Bool {
        guard let streams, primes() else { return false }
        return state.withLockedValue { mode -> Bool in
            switch mode {
            case .waiting:
                let n = startStream()  // an SSE stream, so the client has an event id to resume from
                mode = .streaming(n)
                return streams.dropConnection(n)
            case .streaming(let n):
                return streams.dropConnection(n)
            case .done:
                return false
            }
        }
    }

    /// SSE mode: opens the stream now (head and priming event), unless the
    /// answer already went out.
    func openStream() {
        state.withLockedValue { mode in
            if case .waiting(json: false) = mode { mode = .streaming(startStream()) }
        }
    }

    // Called with the lock held.
    private func startStream() -> UInt64 {
        var h = HTTPEndpoint.sseHeaders
        if let extraHeaders { h.add(contentsOf: extraHeaders()) }
        let head = HTTPResponseHead(version: version, status: .ok, headers: h)
        if let streams { return streams.open(sink: sink, head: head, prime: primes(), requests: requests) }
        sink.push(.head(head))
        return 0
    }

    private func emit(_ n: UInt64, _ data: [UInt8], final: Bool) {
        if let streams {
            streams.emit(n, data, final: final)
            return
        }
        let event = ByteBuffer(bytes: SSEEncoder.event(data: data))
        if final { sink.push(.body(event), .end) } else { sink.push(.body(event)) }
    }

    private func endStream(_ n: UInt64) {
        if let streams { streams.end(n) } else { sink.push(.end) }
    }
}
