import MCPRuntime
/// One client's session with a server: lifecycle, negotiated revision, log
/// level and the calls in flight. Driven by bytes in (`receive`) and channels
/// for bytes out; it never does I/O itself.
public final class ServerSession: Sendable {
    public let server: ServerCore
    /// A random identifier, for hosts that address a session later (and the
    /// HTTP Mcp-Session-Id).
    public let id: String
    /// Requests this server sent to the client and still waits on.
    let outgoing: OutgoingRequests
    /// Messages unrelated to any request (list changes, server-initiated traffic).
    public let defaultChannel: MessageChannel
    let state = LockedState(State())

    struct State {
        enum Phase { case awaitingInitialize, initialized }
        var phase = Phase.awaitingInitialize
        var version = ProtocolVersion.latest
        var clientCapabilities = JSONObject()
        var clientInfo = JSONObject()
        var logLevel = LoggingLevel.info
        var inFlight: [RequestID: ServerCall] = [:]
        var answering = 0
        var closed = false
        var stateless = false
        var subscriptions: Set<String> = []
    }

    init(server: ServerCore, defaultChannel: MessageChannel) {
        self.server = server
        self.defaultChannel = defaultChannel
        self.id = SessionID.random()
        outgoing = OutgoingRequests(scheduler: server.scheduler) { [defaultChannel] message in
            defaultChannel.send(message.serialized())
        }
    }

    public var protocolVersion: ProtocolVersion { state.withLock { $0.version } }
    public var isInitialized: Bool { state.withLock { $0.phase == .initialized && !$0.closed } }
    public var isClosed: Bool { state.withLock { $0.closed } }
    public var inFlightCount: Int { state.withLock { $0.inFlight.count } }
    public var clientCapabilities: JSONObject { state.withLock { $0.clientCapabilities } }

    // MARK: input

    /// Handles one complete message (a line on stdio, a POST body over HTTP).
    /// Answers and related messages go to `channel` (the default channel when
    /// nil). Returns how many times `channel.finish` will be called: 0 when the
    /// input held only notifications or responses, else 1 (a batch of 2025-03-26
    /// is answered as one array).
    @discardableResult
    public func receive(_ bytes: UnsafeRawBufferPointer, channel: MessageChannel? = nil) -> Int {
        let channel = channel ?? defaultChannel
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes, maxDepth: server.options.maxDepth)
        } catch {
            channel.finish(Message.errorResponse(id: nil, error: JSONRPCError(
                code: ErrorCode.parseError, message: "Parse error: \(error)")).serialized())
            return 1
        }
        return receive(value, channel: channel)
    }

    @discardableResult
    public func receive(_ value: JSONValue, channel: MessageChannel? = nil) -> Int {
        let channel = channel ?? defaultChannel
        guard case .array(let items) = value else { return receiveOne(value, channel: channel) }
        // Batches exist only in revision 2025-03-26, where receivers must accept them.
        guard isInitialized, protocolVersion == .v2025_03_26 else {
            channel.finish(Message.errorResponse(id: nil, error: .invalidRequest(
                "JSON-RPC batches are not supported by protocol revision \(protocolVersion.rawValue)")).serialized())
            return 1
        }
        guard !items.isEmpty else {
            channel.finish(Message.errorResponse(id: nil, error: .invalidRequest("An empty batch")).serialized())
            return 1
        }
        let messages = items.map { item in Result { () throws(MessageError) in try Message(json: item) } }
        let answered = messages.filter { m in
            switch m {
            case .failure, .success(.request): return true
            case .success: return false
            }
        }.count
        let target: MessageChannel = answered == 0 ? channel : BatchChannel(base: channel, expected: answered)
        for m in messages { process(m, channel: target) }
        return answered == 0 ? 0 : 1
    }

    /// Takes one message the transport already checked (so it is not
    /// decoded twice). Returns 1 if it will be answered, 0 if not.
    @discardableResult
    public func receive(_ message: Message, channel: MessageChannel? = nil) -> Int {
        process(.success(message), channel: channel ?? defaultChannel)
    }

    private func receiveOne(_ value: JSONValue, channel: MessageChannel) -> Int {
        process(Result { () throws(MessageError) in try Message(json: value) }, channel: channel)
    }

    @discardableResult
    private func process(_ parsed: Result<Message, MessageError>, channel: MessageChannel) -> Int {
        let message: Message
        switch parsed {
        case .success(let m): message = m
        case .failure(let error):
            channel.finish(Message.errorResponse(id: error.id, error: error.error).serialized())
            return 1
        }
        switch message {
        case .request(let id, let method, let params):
            handleRequest(id: id, method: method, params: params?.objectValue ?? JSONObject(), channel: channel)
            return 1
        case .notification(let method, let params):
            handleNotification(method: method, params: params?.objectValue ?? JSONObject())
            return 0
        case .response(let id, let result):
            outgoing.handleResponse(id: id, outcome: .success(result))
            return 0
        case .errorResponse(let id, let error):
            if let id { outgoing.handleResponse(id: id, outcome: .failure(error)) }
            return 0
        }
    }

    /// Answers an oversized message that was skipped by the transport.
    public func rejectOversized(limit: Int, channel: MessageChannel? = nil) {
        (channel ?? defaultChannel).finish(Message.errorResponse(id: nil, error: .invalidRequest(
            "Message larger than the \(limit)-byte limit; skipped")).serialized())
    }

    // MARK: output

    /// Sends a message that is not an answer (default channel unless given).
    func send(_ message: Message, on channel: MessageChannel? = nil) {
        if isClosed { return }
        (channel ?? defaultChannel).send(message.serialized())
    }

    func reply(_ id: RequestID, _ channel: MessageChannel, _ outcome: Result<JSONValue, JSONRPCError>) {
        if isClosed {
            channel.finish(nil)
            return
        }
        switch outcome {
        case .success(let r): channel.finish(Message.response(id: id, result: r).serialized())
        case .failure(let e): channel.finish(Message.errorResponse(id: id, error: e).serialized())
        }
    }

    /// Called by a call when it is answered; nil means "answered after cancel".
    /// The id is released first (the client may reuse it once it sees the
    /// answer); `answering` keeps drain waiting until the answer is written.
    func complete(_ call: ServerCall, outcome: Result<JSONValue, JSONRPCError>?) {
        state.withLock { s in
            if let current = s.inFlight[call.id], current === call { s.inFlight[call.id] = nil }
            s.answering += 1
        }
        if let outcome { reply(call.id, call.channel, outcome) }
        state.withLockAndNotify { $0.answering -= 1 }
    }

    func log(level: LoggingLevel, logger: String?, data: JSONValue, on channel: MessageChannel? = nil) {
        guard level >= state.withLock({ $0.logLevel }) else { return }
        var p = JSONObject()
        p["level"] = .string(level.rawValue)
        if let logger { p["logger"] = .string(logger) }
        p["data"] = data
        send(.notification(method: "notifications/message", params: .object(p)), on: channel)
    }

    // MARK: lifetime

    /// Waits until no call is in flight, or the deadline passes.
    public func waitForInFlight(until deadline: MonotonicInstant?) -> Bool {
        state.wait(until: deadline) { $0.inFlight.isEmpty && $0.answering == 0 }
    }

    /// Ends the session: in-flight calls are cancelled, nothing more is sent.
    public func close() {
        let calls = state.withLockAndNotify { s -> [ServerCall] in
            if s.closed { return [] }
            s.closed = true
            s.subscriptions.removeAll()
            let calls = Array(s.inFlight.values)
            s.inFlight.removeAll()
            return calls
        }
        for c in calls { c.cancel() }
        outgoing.closeAll()
        server.forget(self)
    }
}
