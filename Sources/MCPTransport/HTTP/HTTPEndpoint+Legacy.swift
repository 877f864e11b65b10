internal import NIOCore
internal import NIOHTTP1
import MCPCore

// The HTTP+SSE transport of revision 2024-11-05, for old clients: a GET on the
// SSE path opens a session whose every message travels on that stream as a
// `message` event; its first event, `endpoint`, tells where to POST. The
// session ends when the GET connection closes.
extension HTTPEndpoint {
    func legacyStream(_ request: HTTPRequest, sink: ResponseSink) {
        guard request.head.method == .GET else {
            if request.head.method == .OPTIONS, let cors {
                return preflight(request, sink: sink, cors: cors, methods: "GET")
            }
            return fail(sink, request, .methodNotAllowed, ErrorCode.invalidRequest, "Use GET on the SSE endpoint",
                        extra: [("Allow", "GET")])
        }
        guard AcceptedTypes(request.header("accept")).sse else {
            return fail(sink, request, .notAcceptable, ErrorCode.invalidRequest, "Accept must include text/event-stream")
        }
        guard sessions.reserve() else {
            return fail(sink, request, .serviceUnavailable, ErrorCode.internalError,
                        "Too many sessions (limit \(config.maxSessions)); try again later")
        }
        let s = HTTPSession(server: core, legacyChannel: LegacySSEChannel(sink, principal: request.principal,
                                                                                  spanTransport: request.spanTransport),
                            owner: request.principal)
        sessions.commit(s)
        s.begin()
        sink.isLongLived = true
        let table = sessions
        sink.onDone {
            s.end()
            _ = table.remove(s.id)
            s.close()
        }
        let head = HTTPResponseHead(version: request.head.version, status: .ok, headers: Self.sseHeaders)
        let endpoint = "\(config.messagesPath)?sessionId=\(s.id)"
        sink.push(.head(head), .body(ByteBuffer(bytes: SSEEncoder.event(name: "endpoint", data: Array(endpoint.utf8)))))
    }

    func legacyPost(_ request: HTTPRequest, sink: ResponseSink) {
        guard request.head.method == .POST else {
            if request.head.method == .OPTIONS, let cors {
                return preflight(request, sink: sink, cors: cors, methods: "POST")
            }
            return fail(sink, request, .methodNotAllowed, ErrorCode.invalidRequest, "Use POST on the messages endpoint",
                        extra: [("Allow", "POST")])
        }
        guard let id = request.query("sessionId") else {
            return fail(sink, request, .badRequest, ErrorCode.invalidRequest, "Missing sessionId query parameter")
        }
        guard let s = sessions.get(id), s.streams == nil, ownsSession(request, s) else {
            return fail(sink, request, .notFound, ErrorCode.invalidRequest, "Session not found (it ended or expired)")
        }
        guard checkContentType(request, sink: sink), let value = parseBody(request, sink: sink) else { return }
        if refusedForScope(request, value, nil, sink: sink) { return }
        s.begin()
        defer { s.end() }
        // Answers go to the session's SSE stream (its default channel).
        s.core.receive(value)
        respond(sink, request, .accepted, headers: HTTPHeaders([("Content-Type", "text/plain")]), body: Array("Accepted".utf8))
    }
}

/// A legacy session's only channel: its GET stream, one `message` event per message.
final class LegacySSEChannel: MessageChannel {
    private let sink: ResponseSink
    /// The principal of the GET that opened the session (its POSTs must be the same party's).
    let principal: Principal?
    /// The GET's connection, for span attributes (set while tracing is on).
    let spanTransport: SpanTransport?
    init(_ sink: ResponseSink, principal: Principal? = nil, spanTransport: SpanTransport? = nil) {
        self.sink = sink
        self.principal = principal
        self.spanTransport = spanTransport
    }

    func send(_ message: [UInt8]) {
        sink.push(.body(ByteBuffer(bytes: SSEEncoder.event(name: "message", data: message))))
    }

    func finish(_ answer: [UInt8]?) {
        if let answer { send(answer) }
    }
}
