internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOHTTP1
import MCPCore
import MCPRuntime

/// Connects a client to an MCP server over HTTP: Streamable HTTP
/// (2025-11-25), or the legacy HTTP+SSE transport (2024-11-05) when asked or
/// when the server turns the initialize POST away as an old server would.
///
/// Every message the session writes is POSTed on its own; answers come back
/// as a JSON body or an SSE stream, which is resumed by GET with
/// Last-Event-ID after the server's `retry` when it breaks before the answer.
/// The session id from the initialize answer and the negotiated
/// MCP-Protocol-Version go on every later request; a 404 for that session
/// leads to a fresh initialize and one resend of the message. close() ends
/// the session with DELETE.
///
/// Threads: as ClientTransport says (close not on the transport's own event
/// loop); the receiver is fed on that event loop.
public final class HTTPClientTransport: ClientTransport {
    let url: HTTPURL
    let options: HTTPClientOptions
    let pool: HTTPConnectionPool
    let state: NIOLockedValueBox<State>

    /// The server's host and port as the URL names them (the address the
    /// conventions ask for is the logical one, not the resolved IP).
    public var spanTransport: SpanTransport? {
        SpanTransport(transport: "tcp", protocolName: "http", protocolVersion: "1.1", peerAddress: url.host,
                      peerPort: url.port)
    }

    enum Mode: Equatable {
        /// auto, before the initialize POST is answered.
        case probing
        case streamable
        case legacy
    }

    /// The standalone GET stream.
    enum Standalone: Equatable {
        case notOpened
        case open
        /// The server answered 405, or it failed too often: not asked again.
        case off
    }

    struct State {
        var receiver: (any ClientTransportReceiver)?
        var mode: Mode
        var sessionID: String?
        var initialize: OutgoingMessage?
        var initialized: OutgoingMessage?
        /// notifications/initialized is on its way: the rest waits, since a
        /// server may refuse requests that arrive before it.
        var awaitingInitialized = false
        /// The standalone stream is being opened: the rest waits for its
        /// answer (briefly), so that the server has it before the first
        /// request and can use it for whatever that request sets off.
        var awaitingStandalone = false
        var reinitializing = false
        var reinitializeAnswered = false
        var legacyStarted = false
        var legacyEndpoint: HTTPURL?
        /// What the initialize POST got when it sent us to the legacy transport.
        var probeStatus: Int?
        var held: [OutgoingMessage] = []
        var standalone = Standalone.notOpened
        var closed = false
        /// Why the transport gave up, for the host (the first reason wins).
        var failure: String?
        /// Modern requests whose POST is under way, so that cancelling one
        /// closes its stream (the modern cancellation signal over HTTP).
        var modernExchanges: [RequestID: HTTPClientExchange] = [:]
        /// Modern requests whose connection broke and that the session is
        /// issuing again: the re-issue (the same method and parameters under a
        /// new id) goes on a new connection (see `broken`).
        var reissuing: [OutgoingEnvelope.Modern] = []
        /// The OAuth client is obtaining a token: refused messages wait in
        /// authQueue, new ones in held.
        var authorizing = false
        var authQueue: [AuthWaiter] = []
        /// Authorization runs the legacy SSE GET has set off (bounded like a message's).
        var legacyAuthAttempts = 0

        var holding: Bool {
            awaitingInitialized || awaitingStandalone || reinitializing || authorizing
                || (mode == .legacy && legacyEndpoint == nil)
        }
    }

    /// - Throws: TransportError.io when the URL is https and the TLS settings
    ///   cannot be loaded.
    public init(url: HTTPURL, options: HTTPClientOptions) throws(TransportError) {
        self.url = url
        self.options = options
        pool = try HTTPConnectionPool(options: options, tlsNow: url.secure)
        let mode: Mode
        switch options.mode {
        case .auto: mode = .probing
        case .streamable: mode = .streamable
        case .legacySSE: mode = .legacy
        }
        state = NIOLockedValueBox(State(mode: mode))
    }

    /// Binds the receiver that incoming messages go to. Call before initialize.
    public func start(_ receiver: any ClientTransportReceiver) {
        state.withLockedValue { $0.receiver = receiver }
    }

    /// Why the transport closed the session, if it did.
    public var failure: String? { state.withLockedValue { $0.failure } }

    /// The session id the server gave (nil before initialize, or with no sessions).
    public var sessionID: String? { state.withLockedValue { $0.sessionID } }

    // MARK: sending

    public func send(_ bytes: [UInt8]) {
        let message = OutgoingMessage(bytes: bytes)
        enum Route { case drop, hold, post, startLegacy, closeStream(HTTPClientExchange) }
        let route = state.withLockedValue { s -> Route in
            if s.closed { return .drop }
            switch message.envelope.kind {
            case .cancelled(let id):
                // Modern: closing the request's stream is the cancellation;
                // no notification is posted (streamable-http.mdx, "Cancellation").
                if let ex = s.modernExchanges.removeValue(forKey: id) { return .closeStream(ex) }
                if s.holding {
                    s.held.append(message)
                    return .hold
                }
                return .post
            case .initialize:
                s.initialize = message
                guard s.mode == .legacy else { return .post }
                s.held.insert(message, at: 0)
                if s.legacyStarted { return .hold }
                s.legacyStarted = true
                return .startLegacy
            case .initialized:
                s.initialized = message
                s.awaitingInitialized = true
                return .post
            case .other:
                if s.holding {
                    s.held.append(message)
                    return .hold
                }
                return .post
            }
        }
        switch route {
        case .drop, .hold: break
        case .post: dispatch(message)
        case .startLegacy: startLegacy()
        case .closeStream(let ex): ex.cancel()
        }
    }

    /// Sends a message by the transport in force.
    func dispatch(_ message: OutgoingMessage) {
        switch state.withLockedValue({ $0.mode }) {
        case .legacy: postLegacy(message)
        case .probing, .streamable: post(message)
        }
    }

    /// Sends what waited, once nothing holds it any more.
    func releaseHeld() {
        let ready = state.withLockedValue { s -> [OutgoingMessage] in
            if s.holding || s.closed { return [] }
            defer { s.held = [] }
            return s.held
        }
        for m in ready { dispatch(m) }
    }

    /// notifications/initialized was answered (or lost): the session is open
    /// to other traffic, and the standalone stream may start.
    func initializedDone() {
        let openStream = state.withLockedValue { s -> Bool in
            s.awaitingInitialized = false
            guard s.mode == .streamable, options.openGetStream, s.standalone == .notOpened, !s.closed else {
                return false
            }
            s.standalone = .open
            s.awaitingStandalone = true
            return true
        }
        guard openStream else { return releaseHeld() }
        openStandalone(lastEventID: nil, retryMs: nil, failuresInARow: 0, afterMs: 0)
        // A server that holds back the stream's headers must not hold requests long.
        pool.schedule(afterMs: options.standaloneWaitMs) { [weak self] in self?.standaloneSettled() }
    }

    /// The standalone stream was answered (or refused, or the wait ran out).
    func standaloneSettled() {
        let was = state.withLockedValue { s -> Bool in
            defer { s.awaitingStandalone = false }
            return s.awaitingStandalone
        }
        if was { releaseHeld() }
    }

    // MARK: what every request carries

    /// The headers of a modern POST: the revision, the method and name
    /// mirrored from the body, and the tool's x-mcp-header parameters; no
    /// session id (the modern revision has none).
    func modernHeaders(_ m: OutgoingEnvelope.Modern) -> HTTPHeaders {
        var h = headers(for: url, accept: "application/json, text/event-stream", sessionID: nil, version: m.version)
        h.add(name: "Mcp-Method", value: m.method)
        if let name = m.name { h.add(name: "Mcp-Name", value: ToolHeaders.encode(name)) }
        if m.method == "tools/call", let tool = m.name,
           let receiver = state.withLockedValue({ $0.receiver })
        {
            for p in receiver.paramHeaders(tool: tool, arguments: m.arguments) { h.add(name: p.name, value: p.value) }
        }
        return h
    }

    /// A modern POST's exchange, while it runs (nil: it ended).
    func trackModern(_ id: RequestID, _ exchange: HTTPClientExchange?) {
        state.withLockedValue { s in
            if let exchange { s.modernExchanges[id] = exchange } else { s.modernExchanges[id] = nil }
        }
    }

    /// The answer stream of a modern request broke before the answer: the
    /// session issues the request again with a new id, or it is lost.
    ///
    /// The re-issue goes on a new connection, never a kept-alive one: what
    /// broke this connection (a server restart, a proxy or middlebox dropping
    /// connections) has likely broken the idle ones opened alongside it, and
    /// a re-issue lost on one of them would spend the request's last chances.
    func broken(_ message: OutgoingMessage, _ reason: String) {
        if let id = message.envelope.requestID, let modern = message.envelope.modern, isAwaiting(id),
           let receiver = state.withLockedValue({ s -> (any ClientTransportReceiver)? in
               guard !s.closed, let r = s.receiver else { return nil }
               // Bounded: a re-issue that never comes (the session closed) must not pile up.
               if s.reissuing.count >= Self.reissuesRemembered { s.reissuing.removeFirst() }
               s.reissuing.append(modern)
               return r
           })
        {
            if receiver.streamBroke(id) { return }
            state.withLockedValue { s in
                if let i = s.reissuing.lastIndex(of: modern) { s.reissuing.remove(at: i) }
            }
        }
        lost(message, reason)
    }

    /// How many pending re-issues `broken` remembers.
    static let reissuesRemembered = 64

    /// Whether `message` is the re-issue of a request whose connection broke
    /// (it then takes a new connection); consumes that record.
    func takeReissue(_ message: OutgoingMessage) -> Bool {
        guard let modern = message.envelope.modern else { return false }
        return state.withLockedValue { s in
            guard let i = s.reissuing.firstIndex(of: modern) else { return false }
            s.reissuing.remove(at: i)
            return true
        }
    }

    func headers(for target: HTTPURL, accept: String, sessionID: String?, version: String?) -> HTTPHeaders {
        var h = HTTPHeaders()
        h.add(name: "Host", value: target.hostHeader)
        h.add(name: "User-Agent", value: "libmcp")
        h.add(name: "Accept", value: accept)
        for f in options.headers { h.add(name: f.name, value: f.value) }
        if let bearer = authorization(for: target) { h.add(name: "Authorization", value: bearer) }
        if let sessionID { h.add(name: "Mcp-Session-Id", value: sessionID) }
        if let version { h.add(name: "MCP-Protocol-Version", value: version) }
        return h
    }

    /// The negotiated revision, once initialize was answered (Streamable HTTP only).
    func negotiatedVersion() -> String? {
        state.withLockedValue { $0.receiver }?.negotiatedVersion
    }

    // MARK: toward the session

    /// Hands one message from the server to the receiver (never under the lock).
    func deliver(_ bytes: some Collection<UInt8>) {
        guard let receiver = state.withLockedValue({ $0.closed ? nil : $0.receiver }) else { return }
        let copy = Array(bytes)
        copy.withUnsafeBytes { receiver.receive($0) }
    }

    func isAwaiting(_ id: RequestID) -> Bool {
        state.withLockedValue { $0.closed ? nil : $0.receiver }?.isAwaiting(id) ?? false
    }

    var isClosed: Bool { state.withLockedValue { $0.closed } }

    /// A message was lost on the way (no connection, or its answer stream
    /// broke for good): its request fails now. Losing initialize ends the
    /// connection attempt, with `reason` for the host.
    func lost(_ message: OutgoingMessage, _ reason: String) {
        // The first request of a connection (initialize, or the modern probe)
        // failing means the connection failed: the host gets the reason.
        if message.envelope.kind == .initialize || message.envelope.modern?.method == "server/discover" {
            recordFailure(reason)
        }
        if message.envelope.kind == .initialized { initializedDone() }
        guard let id = message.envelope.requestID,
              let receiver = state.withLockedValue({ $0.closed ? nil : $0.receiver }) else { return }
        receiver.transportLost(id, reason: reason)
    }

    /// The server refused a message with an HTTP error status: a request gets
    /// that as its JSON-RPC error (the server's own error object when the body
    /// holds one), with data.httpStatus.
    func refused(_ message: OutgoingMessage, status: HTTPResponseStatus, body: [UInt8]) {
        if message.envelope.kind == .initialized { initializedDone() }
        guard let id = message.envelope.requestID else { return }
        deliver(Self.errorAnswer(id: id, status: status, body: body))
    }

    static func errorAnswer(id: RequestID, status: HTTPResponseStatus, body: [UInt8]) -> [UInt8] {
        var code = ErrorCode.internalError
        var text = "HTTP \(status.code) \(status.reasonPhrase)"
        if let v = try? JSONParser.parse(body), let e = v["error"], let c = e["code"]?.intValue,
           let m = e["message"]?.stringValue
        {
            code = c
            text += ": " + m
        } else if !body.isEmpty {
            text += ": " + String(decoding: body.prefix(300), as: UTF8.self)
        }
        let error = JSONRPCError(code: code, message: text, data: .object(JSONObject(["httpStatus": .int(Int64(status.code))])))
        return Message.errorResponse(id: id, error: error).serialized()
    }

    func recordFailure(_ reason: String) {
        state.withLockedValue { s in
            if s.failure == nil { s.failure = reason }
        }
    }

    /// Gives up on the connection: the receiver's session ends and its waiters fail.
    func fatal(_ reason: String) {
        recordFailure(reason)
        let receiver = state.withLockedValue { $0.receiver }
        receiver?.connectionEnded()
    }

    // MARK: closing

    /// Ends the session: the server gets DELETE (Streamable HTTP, when it gave
    /// a session id; its answer is awaited up to closeTimeoutMs), streams are
    /// dropped and the event loop stops. Idempotent. Blocks; not for the
    /// transport's own event loop.
    public func close() {
        let version = negotiatedVersion()
        let (first, sessionID, mode) = state.withLockedValue { s -> (Bool, String?, Mode) in
            defer {
                s.closed = true
                s.receiver = nil
                s.held = []
            }
            return (!s.closed, s.sessionID, s.mode)
        }
        guard first else { return }
        if mode == .streamable, let sessionID { deleteSession(sessionID, version: version) }
        pool.shutdown()
    }

    private func deleteSession(_ sessionID: String, version: String?) {
        let done = LockedState(false)
        let request = HTTPClientRequest(method: .DELETE, url: url,
                                        headers: headers(for: url, accept: "application/json, text/event-stream",
                                                         sessionID: sessionID, version: version),
                                        body: nil)
        let finish: @Sendable () -> Void = { done.withLockAndNotify { $0 = true } }
        _ = pool.execute(request, handlers: HTTPResponseHandlers(head: { _ in }, body: { _ in },
                                                                 end: finish, failure: { _ in finish() }))
        _ = done.wait(until: MonotonicInstant.now().adding(milliseconds: options.closeTimeoutMs)) { $0 }
    }
}
