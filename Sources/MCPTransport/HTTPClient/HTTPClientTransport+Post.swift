internal import NIOCore
internal import NIOHTTP1
import MCPCore

extension HTTPClientTransport {
    /// Why a POST is made.
    enum PostPurpose {
        /// A message of the session.
        case message
        /// initialize again after a 404: the answer stays in the transport.
        case reinitialize
        /// notifications/initialized after that initialize.
        case reinitialized
    }

    /// POSTs one message to the Streamable HTTP endpoint.
    func post(_ message: OutgoingMessage, purpose: PostPurpose = .message) {
        guard let (sessionID, mode) = state.withLockedValue({ s in s.closed ? nil : (s.sessionID, s.mode) }) else {
            return
        }
        let isInitialize = message.envelope.kind == .initialize
        let modern = message.envelope.modern
        let sid = isInitialize || modern != nil ? nil : sessionID
        var h = modern.map(modernHeaders) ?? headers(for: url, accept: "application/json, text/event-stream", sessionID: sid,
                                                      version: isInitialize ? nil : negotiatedVersion())
        h.add(name: "Content-Type", value: "application/json")
        h.add(name: "Content-Length", value: String(message.bytes.count))
        let reader = PostReader(transport: self, message: message, purpose: purpose, target: url, sentSessionID: sid,
                                legacy: false, probing: mode == .probing && purpose == .message)
        reader.start(HTTPClientRequest(method: .POST, url: url, headers: h, body: message.bytes),
                     freshConnection: purpose == .message && takeReissue(message))
    }

    /// POSTs one message to the endpoint the legacy SSE stream named.
    func postLegacy(_ message: OutgoingMessage) {
        guard let endpoint = state.withLockedValue({ s in s.closed ? nil : s.legacyEndpoint }) else { return }
        var h = headers(for: endpoint, accept: "application/json, text/event-stream", sessionID: nil, version: nil)
        h.add(name: "Content-Type", value: "application/json")
        h.add(name: "Content-Length", value: String(message.bytes.count))
        let reader = PostReader(transport: self, message: message, purpose: .message, target: endpoint, sentSessionID: nil,
                                legacy: true, probing: false)
        reader.start(HTTPClientRequest(method: .POST, url: endpoint, headers: h, body: message.bytes))
    }

    /// The initialize POST was answered with success: this is a Streamable HTTP server.
    func settleStreamable() {
        state.withLockedValue { s in
            if s.mode == .probing { s.mode = .streamable }
        }
    }

    /// Keeps the session id from an initialize answer.
    func adoptSessionID(_ id: String) {
        guard HTTPClientPolicy.isValidSessionID(id) else {
            return fatal("The server sent an Mcp-Session-Id with characters outside visible ASCII")
        }
        state.withLockedValue { $0.sessionID = id }
    }
}

/// Reads the answer to one POST. Its properties are touched only by the
/// exchange's callbacks, which the connection's event loop runs one after
/// another (and `start`, before the first of them): hence @unchecked Sendable.
final class PostReader: @unchecked Sendable {
    private let transport: HTTPClientTransport
    private let message: OutgoingMessage
    private let purpose: HTTPClientTransport.PostPurpose
    private let target: HTTPURL
    private let sentSessionID: String?
    private let legacy: Bool
    private let probing: Bool

    private var status = HTTPResponseStatus.ok
    /// WWW-Authenticate values of a refusal, and the Authorization sent.
    private var challenges: [String] = []
    private var sentAuthorization: String?
    private var outcome: HTTPClientPolicy.PostOutcome?
    private var body: [UInt8] = []
    private var stream: SSEStreamReader?
    /// Weak: the connection keeps the exchange while it runs.
    private weak var exchange: HTTPClientExchange?
    private var done = false
    /// The answer was refused for its size: issuing the request again would
    /// only bring the same answer.
    private var oversized = false

    /// Error bodies are read this far, for the message given to the host.
    private static let errorBodyLimit = 64 * 1024

    init(transport: HTTPClientTransport, message: OutgoingMessage, purpose: HTTPClientTransport.PostPurpose,
         target: HTTPURL, sentSessionID: String?, legacy: Bool, probing: Bool)
    {
        self.transport = transport
        self.message = message
        self.purpose = purpose
        self.target = target
        self.sentSessionID = sentSessionID
        self.legacy = legacy
        self.probing = probing
    }

    /// `freshConnection`: on a new connection, not a kept-alive one.
    func start(_ request: HTTPClientRequest, freshConnection: Bool = false) {
        sentAuthorization = request.headers.first(name: "Authorization")
        let ex = HTTPClientExchange(request: request, handlers: HTTPResponseHandlers(
            head: { self.head($0) }, body: { self.body($0) }, end: { self.end() },
            failure: { self.failure($0) }))
        exchange = ex
        if message.envelope.modern != nil, let id = message.envelope.requestID { transport.trackModern(id, ex) }
        transport.pool.start(ex, fresh: freshConnection)
    }

    /// This POST is over: a modern request's stream can no longer be closed.
    private func untrack() {
        if message.envelope.modern != nil, let id = message.envelope.requestID { transport.trackModern(id, nil) }
    }

    private func head(_ h: HTTPResponseHead) {
        status = h.status
        if h.status.code == 401 || h.status.code == 403 { challenges = h.headers["WWW-Authenticate"] }
        let ok = (200..<300).contains(Int(h.status.code))
        if message.envelope.kind == .initialize, ok, !legacy {
            if probing { transport.settleStreamable() }
            if let sid = h.headers.first(name: "mcp-session-id") { transport.adoptSessionID(sid) }
        }
        let o = HTTPClientPolicy.classifyPost(
            status: Int(h.status.code), contentType: h.headers.first(name: "content-type"),
            expectsAnswer: message.envelope.requestID != nil && !legacy,
            isInitialize: message.envelope.kind == .initialize && purpose == .message,
            sentSessionID: sentSessionID != nil, mode: probing ? .auto : .streamable)
        outcome = o
        if o == .eventStream {
            stream = SSEStreamReader(transport: transport, kind: purpose == .reinitialize ? .reinitialize : .answer(message),
                                     exchange: exchange, carriedEventID: nil, carriedRetryMs: nil, failuresInARow: 0)
        }
    }

    private func body(_ buffer: ByteBuffer) {
        switch outcome {
        case .json:
            guard body.count + buffer.readableBytes <= transport.options.maxMessageBytes else {
                done = true
                oversized = true
                untrack()
                exchange?.cancel()
                return answerLost("The answer is larger than max_message_bytes (\(transport.options.maxMessageBytes))")
            }
            body.append(contentsOf: buffer.readableBytesView)
        case .failed:
            if body.count < Self.errorBodyLimit { body.append(contentsOf: buffer.readableBytesView.prefix(Self.errorBodyLimit)) }
        case .eventStream:
            stream?.feed(buffer)
        default:
            break
        }
    }

    private func end() {
        guard !done else { return }
        done = true
        if outcome != .eventStream { untrack() }
        switch outcome {
        case nil, .accepted?:
            if message.envelope.kind == .initialized { finishedInitialized() }
        case .json?:
            if purpose == .reinitialize {
                transport.reinitializeAnswer(body)
                transport.reinitializeStreamEnded()
            } else {
                transport.deliver(body)
                // A JSON body that did not answer: nothing more will come for it.
                if let id = message.envelope.requestID, transport.isAwaiting(id) {
                    transport.lost(message, "The JSON answer to POST \(target) did not hold the response")
                }
            }
        case .eventStream?:
            stream?.ended()
        case .sessionExpired?:
            transport.sessionExpired(resend: message, sentSessionID: sentSessionID)
        case .fallBackToLegacy?:
            transport.fallBackToLegacy(probeStatus: status)
        case .failed?:
            switch purpose {
            case .reinitialize: transport.reinitializeFailed("initialize answered HTTP \(status.code) \(status.reasonPhrase)")
            case .reinitialized: transport.reinitializedDone()
            case .message:
                if transport.authorizationNeeded(message, status: Int(status.code), challenges: challenges,
                                                 sentAuthorization: sentAuthorization) { return }
                transport.refused(message, status: status, body: body)
            }
        }
    }

    private func failure(_ failure: HTTPClientFailure) {
        guard !done else { return }
        if outcome != .eventStream { untrack() }
        switch outcome {
        case .eventStream?:
            done = true
            stream?.ended()
        case .json?, nil:
            done = true
            answerLost("POST \(target): \(failure)")
        default:
            // The status says all there is to know: act on it as at the end.
            end()
        }
    }

    private func answerLost(_ reason: String) {
        switch purpose {
        case .reinitialize: transport.reinitializeFailed(reason)
        case .reinitialized: transport.reinitializedDone()
        case .message where message.envelope.modern != nil && !oversized: transport.broken(message, reason)
        case .message: transport.lost(message, reason)
        }
    }

    private func finishedInitialized() {
        if purpose == .reinitialized { transport.reinitializedDone() } else { transport.initializedDone() }
    }
}
