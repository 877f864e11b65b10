import MCPRuntime
/// One client's session with a server: lifecycle, negotiated revision, log
/// level, and the server's methods on top of a JSONRPCPeer (which keeps the
/// requests in flight both ways). Driven by bytes in (`receive`) and channels
/// for bytes out; it never does I/O itself.
public final class ServerSession: Sendable, PeerMethods {
    public let server: ServerCore
    /// A random identifier, for hosts that address a session later (and the
    /// HTTP Mcp-Session-Id).
    public let id: String
    /// Requests both ways, cancellation, progress, timeouts, close.
    let peer: JSONRPCPeer
    /// Messages unrelated to any request (list changes, server-initiated traffic).
    public let defaultChannel: MessageChannel
    let state: LockedState<State>

    struct State {
        enum Phase { case awaitingInitialize, initialized }
        var phase = Phase.awaitingInitialize
        var version = ProtocolVersion.latest
        var clientCapabilities = JSONObject()
        var clientInfo = JSONObject()
        var logLevel = LoggingLevel.info
        var stateless = false
        var subscriptions: Set<String> = []
        /// Which era this connection speaks; decided by its first request.
        var era = Era.undecided
        /// Whether its record goes to the server's durable store (ServerCore.makeSession).
        var persistent = false
        /// The principal the transport bound this session to, saved with its record.
        /// (Here rather than in locked states of their own: a 2026-07-28 POST
        /// makes a session, and each lock is two allocations and a mutex and
        /// condition set up and torn down.)
        var owner: JSONValue?
        /// When the record was last saved (wall clock ms), for touchRecord.
        var lastSaved: Int64 = 0
    }

    /// A connection's era. Over stdio the first request decides (NOTES.md):
    /// `initialize` makes it 2025, `server/discover` or a request with the
    /// modern `_meta` makes it modern; anything else decides nothing.
    enum Era { case undecided, legacy, modern }

    /// `id` nil: a fresh random one. A session for one stateless POST passes
    /// "" instead: it is never addressed, and the random id cost 2.6% of the
    /// server's CPU per 2026-07-28 call.
    init(server: ServerCore, defaultChannel: MessageChannel, id: String? = nil) {
        self.server = server
        self.defaultChannel = defaultChannel
        let sessionID = id ?? SessionID.random()
        self.id = sessionID
        let state = LockedState(State())
        self.state = state
        // Metrics see each request's era as the session decided it (read
        // when the request ends: the first request decides an undecided one).
        let observer = server.observer.map { base in
            SessionObserver(base: base) { state.withLock { $0.era == .modern ? .v2026 : .v2025 } }
        }
        // Spans name the session's revision, and its id only in the 2025 era
        // (a modern request belongs to no session). Made only while tracing is
        // on: two closures per session were measurable on a POST's session.
        let scope = !Tracing.isOn ? TraceScope.none : TraceScope(
            protocolVersion: { state.withLock { $0.version.rawValue } },
            sessionID: { state.withLock { $0.era == .legacy } ? sessionID : nil })
        peer = JSONRPCPeer(executor: server.executor, timers: server.scheduler, defaultChannel: defaultChannel,
                           observer: observer, traceScope: scope)
    }

    public var protocolVersion: ProtocolVersion { state.withLock { $0.version } }
    public var isInitialized: Bool { state.withLock { $0.phase == .initialized } && !peer.isClosed }
    public var isClosed: Bool { peer.isClosed }
    /// Requests of the client not yet answered.
    public var inFlightCount: Int { peer.incomingCount }
    public var clientCapabilities: JSONObject { state.withLock { $0.clientCapabilities } }
    /// Whether this connection serves the stateless revision (2026-07-28).
    public var isModern: Bool { state.withLock { $0.era == .modern } }

    /// The record a durable store keeps of this session (SessionRecord).
    public func record(owner: JSONValue?) -> SessionRecord {
        state.withLock { s in
            SessionRecord(id: id, protocolVersion: s.version.rawValue, clientCapabilities: s.clientCapabilities,
                          clientInfo: s.clientInfo, logLevel: s.logLevel.rawValue,
                          subscriptions: s.subscriptions.sorted(), owner: owner)
        }
    }

    /// The principal the transport bound this session to (HTTP "auth"),
    /// saved with its record; set once, before the first request is served.
    public func setOwner(_ owner: JSONValue?) { state.withLock { $0.owner = owner } }

    /// Saves this session's record to the durable store, if it has one; the
    /// caller answers the client only after (so a restart cannot lose what
    /// the client was told). Throws what the store threw.
    func saveRecord() throws(StoreError) {
        guard state.withLock({ $0.persistent }), let slot = server.sessionStore.withLock({ $0 }) else { return }
        try slot.store.saveSession(record(owner: state.withLock { $0.owner }), ttlMs: slot.ttlMs)
        state.withLock { $0.lastSaved = Timestamp.nowMs() }
    }

    /// Pushes the record's expiry forward (a session in use must not expire
    /// in the store); at most once per quarter of the TTL, so it costs a
    /// write now and then, not one per request. Errors are left to readiness.
    public func touchRecord() {
        guard let slot = server.sessionStore.withLock({ $0 }), state.withLock({ $0.persistent && $0.phase == .initialized })
        else { return }
        let now = Timestamp.nowMs()
        let due = state.withLock { s -> Bool in
            guard now - s.lastSaved >= Int64(slot.ttlMs / 4) else { return false }
            s.lastSaved = now
            return true
        }
        if due { try? saveRecord() }
    }

    /// Whether its record goes to a store (a Streamable HTTP session).
    var isStoredSession: Bool { state.withLock { $0.persistent } }

    /// A fleet: messages for requests this process neither sent nor holds
    /// go to `relay` (JSONRPCPeer.relayUnmatched).
    public func relayUnmatched(_ relay: @escaping @Sendable (Message) -> Void) { peer.relayUnmatched(relay) }

    /// A response or cancellation another process relayed (JSONRPCPeer.receiveRelayed).
    @discardableResult
    public func receiveRelayed(_ message: Message) -> Bool { peer.receiveRelayed(message) }

    /// Takes the log level and subscriptions of its stored record: another
    /// process sharing the store may have changed them (a fleet).
    public func refresh(from record: SessionRecord) {
        state.withLock { s in
            s.logLevel = LoggingLevel(rawValue: record.logLevel) ?? s.logLevel
            s.subscriptions = Set(record.subscriptions)
        }
    }

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
        return peer.receive(message, channel: channel, methods: self)
    }

    /// Answers an oversized message that was skipped by the transport.
    public func rejectOversized(limit: Int, channel: MessageChannel? = nil) {
        (channel ?? defaultChannel).finish(Message.errorResponse(id: nil, error: .invalidRequest(
            "Message larger than the \(limit)-byte limit; skipped")).serialized())
    }

    // MARK: output

    /// Sends a message that is not an answer (default channel unless given).
    func send(_ message: Message, on channel: MessageChannel? = nil) {
        peer.send(message, on: channel)
    }

    /// Answers a request (once; dropped if it was cancelled). A result of
    /// the stateless revision is stamped (resultType, serverInfo) and, for a
    /// cacheable method, carries `cache`.
    func reply(_ request: InboundRequest, _ outcome: Result<JSONValue, JSONRPCError>, cache: CacheHint? = nil) {
        guard request.modern != nil, case .success(.object(let result)) = outcome else {
            try? request.answer(outcome)
            return
        }
        try? request.answer(.success(.object(stampModern(result, cache: cache,
                                                         fullIdentity: request.method == "server/discover"))))
    }

    func log(level: LoggingLevel, logger: String?, data: JSONValue, on channel: MessageChannel? = nil) {
        guard level >= state.withLock({ $0.logLevel }) else { return }
        send(.notification(method: "notifications/message",
                           params: .object(Self.logParams(level: level, logger: logger, data: data))), on: channel)
    }

    static func logParams(level: LoggingLevel, logger: String?, data: JSONValue) -> JSONObject {
        var p = JSONObject()
        p["level"] = .string(level.rawValue)
        if let logger { p["logger"] = .string(logger) }
        p["data"] = data
        return p
    }

    // MARK: lifetime

    /// Waits until no call is in flight, or the deadline passes.
    public func waitForInFlight(until deadline: MonotonicInstant?) -> Bool {
        peer.waitUntilIdle(until: deadline)
    }

    /// Waits until fewer than `limit` calls are in flight or being answered
    /// (or the session closed), or the deadline passes; false on the deadline.
    /// A transport that reads on its own thread calls it before reading more,
    /// so requests cannot pile up faster than they are answered.
    public func waitForInFlight(below limit: Int, until deadline: MonotonicInstant?) -> Bool {
        peer.waitUntilIncoming(below: limit, until: deadline)
    }

    /// Ends the session: in-flight calls are cancelled, nothing more is sent.
    public func close() {
        peer.close()
        let listed = state.withLock { s -> Bool in
            s.subscriptions.removeAll()
            return !s.stateless
        }
        // A stateless session (one per POST) was never listed: no lookup.
        if listed { server.forget(self) }
    }
}
