internal import NIOCore
internal import NIOHTTP1
import MCPCore

/// The loop side of a host exchange: what HTTPConnectionHandler does for a
/// response of the built-in listener (CORS headers, metrics, access log, SSE
/// keep-alive comments, the connection registry that a stop quiesces), with
/// the host's outbox in place of a socket. Every method runs on `eventLoop`.
final class HostExchangeWriter: ResponseWriter {
    private let endpoint: HTTPEndpoint
    private let outbox: HostOutbox
    private let eventLoop: EventLoop
    private(set) var current: ResponseSink?
    private var registration: ConnectionRegistry.Key?
    private var corsHeaders: HTTPHeaders?
    private var observed = ResponseObservation()
    private var heartbeat: SSEHeartbeat
    private var heartbeatTimer: Scheduled<Void>?

    init(endpoint: HTTPEndpoint, outbox: HostOutbox, eventLoop: EventLoop, head: HTTPRequestHead, bodyBytes: Int) {
        self.endpoint = endpoint
        self.outbox = outbox
        self.eventLoop = eventLoop
        heartbeat = SSEHeartbeat(intervalMs: endpoint.config.sseKeepaliveMs)
        if endpoint.config.accessLog { observed.access = AccessLogEntry(head, bodyBytes: bodyBytes) }
    }

    /// Registered as a connection (false: every slot is busy; refuse it).
    var isRegistered: Bool { registration != nil }

    /// The response's sink; the exchange counts as a busy connection.
    func open(_ head: HTTPRequestHead) -> ResponseSink {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        registration = endpoint.connections.add(eventLoop: eventLoop, phase: .busy,
                                                quiesce: { bound.value.quiesce() },
                                                close: { bound.value.cut() })
        if let cors = endpoint.cors { corsHeaders = cors.responseHeaders(for: head.headers, policy: endpoint.policy) }
        let sink = ResponseSink(connection: self, eventLoop: eventLoop,
                                maxQueued: endpoint.config.maxQueuedMessages,
                                maxQueuedBytes: endpoint.config.maxQueuedBytes)
        current = sink
        return sink
    }

    var isWritable: Bool { outbox.isWritable }

    func write(_ parts: [ResponseSink.Part], from sink: ResponseSink) {
        guard sink === current else { return }
        var out: [HostResponsePart] = []
        var head: HTTPResponseHead?
        var over = false
        for part in parts {
            switch part {
            case .head(var h):
                if let corsHeaders { h.headers.add(contentsOf: corsHeaders) }
                head = h
                started(h)
                out.append(.head(status: Int(h.status.code), headers: h.headers.map { ($0.name, $0.value) }))
            case .body(let b):
                endpoint.core.observer?.bytesSent(b.readableBytes)
                observed.sent(bytes: b.readableBytes)
                out.append(.body(Array(b.readableBytesView)))
            case .end:
                out.append(.end)
                over = true
            case .abort:
                out.append(.abort)
                over = true
            }
            if over { break }
        }
        outbox.put(out)
        if over {
            finish()
        } else if heartbeat.didWrite(head: head, ended: false) {
            armHeartbeat()
        }
    }

    /// A stop: a stream with no natural end ends now; a call goes on.
    private func quiesce() {
        if let current, current.isLongLived { current.push(.end) }
    }

    /// A stop past its timeout: the response is cut.
    private func cut() {
        guard current != nil else { return }
        outbox.put([.abort])
        finish()
    }

    /// The host gave up (its client went away): as a closed connection.
    func hostGone() { finish() }

    private func finish() {
        let sink = current
        current = nil
        sink?.complete()
        heartbeatTimer?.cancel()
        heartbeatTimer = nil
        heartbeat.reset()
        observed.ended(observer: endpoint.core.observer)
        if let registration {
            endpoint.connections.remove(registration)
            self.registration = nil
        }
    }

    private func started(_ h: HTTPResponseHead) { observed.started(h, observer: endpoint.core.observer) }

    private func armHeartbeat() {
        guard let period = heartbeat.period else { return }
        heartbeat.armed = true
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        heartbeatTimer = eventLoop.scheduleTask(in: period) { bound.value.heartbeatFired() }
    }

    private func heartbeatFired() {
        heartbeatTimer = nil
        guard current != nil else { return }
        switch heartbeat.look() {
        case .stop: return
        case .again: break
        case .comment:
            // Between two whole events; skipped while the host is behind.
            if outbox.isWritable { outbox.put([.body(Array(SSEHeartbeat.comment.readableBytesView))]) }
        }
        armHeartbeat()
    }
}
