internal import NIOCore
internal import NIOHTTP1
import MCPCore

extension HTTPClientTransport {
    /// Opens the standalone GET stream, or reopens it (after `afterMs`, with
    /// Last-Event-ID so the server may replay what was missed).
    func openStandalone(lastEventID: String?, retryMs: Int?, failuresInARow: Int, afterMs: Int) {
        get(.standalone, lastEventID: lastEventID, retryMs: retryMs, failuresInARow: failuresInARow, afterMs: afterMs)
    }

    /// Resumes a broken answer stream by GET with Last-Event-ID, after the
    /// server's retry: the server replays what followed that event.
    func resume(_ message: OutgoingMessage, lastEventID: String?, retryMs: Int?, failuresInARow: Int, afterMs: Int) {
        get(.answer(message), lastEventID: lastEventID, retryMs: retryMs, failuresInARow: failuresInARow,
            afterMs: afterMs)
    }

    /// The standalone stream will not be asked for again in this session.
    func standaloneOff() {
        state.withLockedValue { $0.standalone = .off }
    }

    private func get(_ kind: SSEStreamReader.Kind, lastEventID: String?, retryMs: Int?, failuresInARow: Int,
                     afterMs: Int)
    {
        let go: @Sendable () -> Void = { [weak self] in
            guard let self, let sid = self.state.withLockedValue({ s in s.closed ? nil : .some(s.sessionID) }) else {
                return
            }
            // The answer came another way, or its request timed out: nothing to resume.
            if case .answer(let m) = kind, let id = m.envelope.requestID, !self.isAwaiting(id) { return }
            var h = self.headers(for: self.url, accept: "text/event-stream", sessionID: sid,
                                 version: self.negotiatedVersion())
            if let lastEventID { h.add(name: "Last-Event-ID", value: lastEventID) }
            let reader = SSEStreamReader(transport: self, kind: kind, exchange: nil, carriedEventID: lastEventID,
                                         carriedRetryMs: retryMs, failuresInARow: failuresInARow, sentSessionID: sid)
            reader.start(HTTPClientRequest(method: .GET, url: self.url, headers: h, body: nil))
        }
        if afterMs > 0 { pool.schedule(afterMs: afterMs, go) } else { go() }
    }
}

/// Reads one SSE stream: the answer to a POST, its resumption by GET, the
/// standalone GET stream, or the legacy transport's stream. When it ends
/// (cleanly or not) it decides, by HTTPClientPolicy, whether to reconnect.
/// Its properties are touched only by the exchange's callbacks, which the
/// connection's event loop runs one after another (and by `start`, before
/// them): hence @unchecked Sendable.
final class SSEStreamReader: @unchecked Sendable {
    enum Kind {
        case answer(OutgoingMessage)
        case standalone
        case legacy
        /// The answer to the transport's own re-initialize.
        case reinitialize
    }

    private let transport: HTTPClientTransport
    private let kind: Kind
    /// Weak: the connection keeps the exchange while it runs.
    private weak var exchange: HTTPClientExchange?
    private var parser: SSEParser
    /// The id and retry known before this connection, for the next reconnection
    /// when this one brings none.
    private let carriedEventID: String?
    private let carriedRetryMs: Int?
    private let failuresInARow: Int
    private let sentSessionID: String?
    private var streaming = false
    private var sawEvent = false
    private var done = false
    /// An event exceeded max_message_bytes: resuming would only replay it.
    private var tooLarge = false

    init(transport: HTTPClientTransport, kind: Kind, exchange: HTTPClientExchange?, carriedEventID: String?,
         carriedRetryMs: Int?, failuresInARow: Int, sentSessionID: String? = nil)
    {
        self.transport = transport
        self.kind = kind
        self.exchange = exchange
        parser = SSEParser(maxEventBytes: transport.options.maxMessageBytes)
        self.carriedEventID = carriedEventID
        self.carriedRetryMs = carriedRetryMs
        self.failuresInARow = failuresInARow
        self.sentSessionID = sentSessionID
        streaming = exchange != nil
    }

    /// Sends the GET that opens the stream.
    func start(_ request: HTTPClientRequest) {
        let ex = HTTPClientExchange(request: request, handlers: HTTPResponseHandlers(
            head: { self.head($0) }, body: { self.feed($0) }, end: { self.ended() }, failure: { _ in self.ended() }))
        exchange = ex
        transport.pool.start(ex)
    }

    private func head(_ h: HTTPResponseHead) {
        if case .standalone = kind { transport.standaloneSettled() }
        let contentType = h.headers.first(name: "content-type")
        if case .legacy = kind {
            guard h.status == .ok, HTTPClientPolicy.mediaType(contentType) == "text/event-stream" else {
                let challenges = h.headers["WWW-Authenticate"]
                let sent = exchange?.request.headers.first(name: "Authorization")
                return stop { t in
                    if !t.legacyStreamAuthorizationNeeded(status: Int(h.status.code), challenges: challenges,
                                                           sentAuthorization: sent)
                    {
                        t.legacyRefused(status: h.status)
                    }
                }
            }
            streaming = true
            return
        }
        switch HTTPClientPolicy.classifyGet(status: Int(h.status.code), contentType: contentType,
                                            sentSessionID: sentSessionID != nil)
        {
        case .stream:
            streaming = true
        case .notOffered, .failed:
            stop { t in
                switch self.kind {
                case .answer(let m): t.lost(m, "The server refused to resume the answer stream (GET: HTTP \(h.status.code))")
                default: t.standaloneOff()
                }
            }
        case .sessionExpired:
            stop { t in
                if case .answer(let m) = self.kind {
                    t.sessionExpired(resend: m, sentSessionID: self.sentSessionID)
                } else {
                    t.sessionExpired(resend: nil, sentSessionID: self.sentSessionID)
                }
            }
        }
    }

    /// Ends this reader at once (the rest of the response is not wanted).
    private func stop(_ then: (HTTPClientTransport) -> Void) {
        done = true
        exchange?.cancel()
        if !transport.isClosed { then(transport) }
    }

    func feed(_ buffer: ByteBuffer) {
        guard streaming, !done else { return }
        do {
            try parser.feed(buffer.readableBytesView) { event in self.handle(event) }
        } catch {
            tooLarge = true
            exchange?.cancel()
            ended()
        }
    }

    private func handle(_ event: SSEEvent) {
        guard !done else { return }
        sawEvent = true
        switch kind {
        case .legacy:
            transport.legacyEvent(event)
        case .reinitialize:
            if event.type == "message", !event.data.isEmpty { transport.reinitializeAnswer(event.data) }
        case .answer(let m):
            guard event.type == "message", !event.data.isEmpty else { return }
            transport.deliver(event.data)
            // A resumption GET has done its job once the answer is in; the
            // server might keep it open.
            if exchange?.request.method == .GET, let id = m.envelope.requestID, !transport.isAwaiting(id) {
                done = true
                exchange?.cancel()
            }
        case .standalone:
            if event.type == "message", !event.data.isEmpty { transport.deliver(event.data) }
        }
    }

    /// The stream ended, cleanly or not.
    func ended() {
        if case .standalone = kind { transport.standaloneSettled() }
        guard !done else { return }
        done = true
        parser.finish()
        guard !transport.isClosed else { return }
        let lastEventID = parser.lastEventID ?? carriedEventID
        let retryMs = parser.retryMs ?? carriedRetryMs
        let failures = sawEvent ? 0 : failuresInARow + 1
        if tooLarge {
            let reason = "The server sent a message larger than max_message_bytes (\(transport.options.maxMessageBytes))"
            switch kind {
            case .answer(let m):
                if let id = m.envelope.requestID, m.envelope.modern != nil { transport.trackModern(id, nil) }
                transport.lost(m, reason)
            case .standalone: transport.standaloneOff()
            case .legacy: transport.fatal(reason)
            case .reinitialize: transport.reinitializeFailed(reason)
            }
            return
        }
        switch kind {
        case .legacy:
            transport.legacyStreamEnded()
        case .reinitialize:
            transport.reinitializeStreamEnded()
        case .answer(let m) where m.envelope.modern != nil:
            if let id = m.envelope.requestID { transport.trackModern(id, nil) }
            // The modern revision resumes nothing: a stream that broke before
            // its answer means the request is issued again (or lost).
            let answered = m.envelope.requestID.map { !transport.isAwaiting($0) } ?? true
            if !answered { transport.broken(m, "The answer stream ended before the answer") }
        case .answer(let m):
            let answered = m.envelope.requestID.map { !transport.isAwaiting($0) } ?? true
            switch follow(.answer, answered: answered, lastEventID, retryMs, failures) {
            case .done: break
            case .reconnect(let wait, let id):
                transport.resume(m, lastEventID: id, retryMs: retryMs, failuresInARow: failures, afterMs: wait)
            case .giveUp:
                transport.lost(m, "The answer stream ended before the answer and cannot be resumed")
            }
        case .standalone:
            switch follow(.standalone, answered: false, lastEventID, retryMs, failures) {
            case .done: break
            case .reconnect(let wait, let id):
                transport.openStandalone(lastEventID: id, retryMs: retryMs, failuresInARow: failures, afterMs: wait)
            case .giveUp:
                transport.standaloneOff()
            }
        }
    }

    private func follow(_ k: HTTPClientPolicy.StreamKind, answered: Bool, _ lastEventID: String?, _ retryMs: Int?,
                        _ failures: Int) -> HTTPClientPolicy.FollowUp
    {
        HTTPClientPolicy.afterStreamEnd(kind: k, answered: answered, lastEventID: lastEventID, retryMs: retryMs,
                                        defaultRetryMs: transport.options.defaultRetryMs, failuresInARow: failures,
                                        maxAttempts: transport.options.maxReconnectAttempts)
    }
}
