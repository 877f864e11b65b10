/// One client's session with a server: lifecycle, negotiated revision, log
/// level and the calls in flight. Driven by bytes in (`receive`) and a sink for
/// bytes out; it never does I/O itself.
public final class ServerSession: Sendable {
    public let server: ServerCore
    private let sink: @Sendable ([UInt8]) -> Void
    let state = LockedState(State())

    struct State {
        enum Phase { case awaitingInitialize, initialized }
        var phase = Phase.awaitingInitialize
        var version = ProtocolVersion.latest
        var clientCapabilities = JSONObject()
        var clientInfo = JSONObject()
        var logLevel = LoggingLevel.info
        var inFlight: [RequestID: ServerCall] = [:]
        var closed = false
    }

    init(server: ServerCore, sink: @escaping @Sendable ([UInt8]) -> Void) {
        self.server = server
        self.sink = sink
    }

    public var protocolVersion: ProtocolVersion { state.withLock { $0.version } }
    public var isInitialized: Bool { state.withLock { $0.phase == .initialized && !$0.closed } }
    public var isClosed: Bool { state.withLock { $0.closed } }
    public var inFlightCount: Int { state.withLock { $0.inFlight.count } }
    public var clientCapabilities: JSONObject { state.withLock { $0.clientCapabilities } }

    // MARK: input

    /// Handles one complete message (a line on stdio, a POST body over HTTP).
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes, maxDepth: server.options.maxDepth)
        } catch {
            send(.errorResponse(id: nil, error: JSONRPCError(code: ErrorCode.parseError, message: "Parse error: \(error)")))
            return
        }
        receive(value)
    }

    public func receive(_ value: JSONValue) {
        if case .array = value {
            // Batches existed only in revision 2025-03-26.
            send(.errorResponse(id: nil, error: .invalidRequest(
                "JSON-RPC batches are not supported by protocol revision \(protocolVersion.rawValue)")))
            return
        }
        let message: Message
        do {
            message = try Message(json: value)
        } catch {
            send(.errorResponse(id: error.id, error: error.error))
            return
        }
        dispatch(message)
    }

    /// Answers an oversized message that was skipped by the transport.
    public func rejectOversized(limit: Int) {
        send(.errorResponse(id: nil, error: .invalidRequest("Message larger than the \(limit)-byte limit; skipped")))
    }

    func dispatch(_ message: Message) {
        switch message {
        case .request(let id, let method, let params):
            handleRequest(id: id, method: method, params: params?.objectValue ?? JSONObject())
        case .notification(let method, let params):
            handleNotification(method: method, params: params?.objectValue ?? JSONObject())
        case .response, .errorResponse:
            // Answers to server-initiated requests; this server sends none yet.
            break
        }
    }

    // MARK: output

    func send(_ message: Message) {
        if isClosed { return }
        sink(message.serialized())
    }

    func reply(_ id: RequestID, _ outcome: Result<JSONValue, JSONRPCError>) {
        switch outcome {
        case .success(let r): send(.response(id: id, result: r))
        case .failure(let e): send(.errorResponse(id: id, error: e))
        }
    }

    /// Called by a call when it is answered; nil means "answered after cancel".
    func complete(_ call: ServerCall, outcome: Result<JSONValue, JSONRPCError>?) {
        state.withLockAndNotify { s in
            if let current = s.inFlight[call.id], current === call { s.inFlight[call.id] = nil }
        }
        if let outcome { reply(call.id, outcome) }
    }

    func log(level: LoggingLevel, logger: String?, data: JSONValue) {
        guard level >= state.withLock({ $0.logLevel }) else { return }
        var p = JSONObject()
        p["level"] = .string(level.rawValue)
        if let logger { p["logger"] = .string(logger) }
        p["data"] = data
        send(.notification(method: "notifications/message", params: .object(p)))
    }

    // MARK: lifetime

    /// Waits until no call is in flight, or the deadline passes.
    public func waitForInFlight(until deadline: MonotonicInstant?) -> Bool {
        state.wait(until: deadline) { $0.inFlight.isEmpty }
    }

    /// Ends the session: in-flight calls are cancelled, nothing more is sent.
    public func close() {
        let calls = state.withLockAndNotify { s -> [ServerCall] in
            if s.closed { return [] }
            s.closed = true
            let calls = Array(s.inFlight.values)
            s.inFlight.removeAll()
            return calls
        }
        for c in calls { c.cancel() }
        server.forget(self)
    }
}
