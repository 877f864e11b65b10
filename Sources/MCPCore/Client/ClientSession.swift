import MCPRuntime
/// What a client says about itself and how long it waits.
public struct ClientOptions: Sendable {
    /// clientInfo: name, version and the optional title.
    public var info: JSONObject
    public var capabilities = JSONObject()
    /// The revision offered in initialize; the server may answer an older one.
    public var protocolVersion = ProtocolVersion.latest
    public var timing = RequestTiming()
    public var maxDepth = JSONParser.defaultMaxDepth
    /// How the era is chosen (see ClientEra).
    public var era = ClientEra.auto
    /// How long the auto probe (server/discover) waits before the server
    /// counts as legacy.
    public var discoverTimeoutMs = 10_000
    /// Rounds of an InputRequiredResult the engine answers for one call
    /// before failing it; 0: the host gets the InputRequiredResult itself.
    public var maxInputRounds = 10
    /// Sent as io.modelcontextprotocol/logLevel in every modern request
    /// (logging/setLevel once after initialize at the 2025 era).
    public var logLevel: LoggingLevel?
    /// The transport mirrors x-mcp-header parameters into HTTP headers
    /// (Streamable HTTP): tools whose annotations break the rules are dropped
    /// from tools/list at the modern revision.
    public var mirrorsToolHeaders = false
    /// Times a modern request whose answer stream broke is issued again
    /// (with a new id) before it fails.
    public var maxReissues = 2
    /// A tools/call result whose structuredContent does not match the
    /// outputSchema the tool was listed with fails the call (tools.mdx).
    public var validatesToolOutput = true
    /// Bounds of the response cache (caching.mdx); nil: no cache (the default).
    public var cache: ResultCache.Limits?
    /// Declares the tasks extension (io.modelcontextprotocol/tasks) in every
    /// modern request: a tool call the server turns into a task is followed
    /// (tasks/get, tasks/update, tasks/cancel) and the host sees one call.
    public var followsTasks = false

    public init(name: String, version: String) {
        info = JSONObject()
        info["name"] = .string(name)
        info["version"] = .string(version)
    }
}

/// Host code for a request from the server (sampling/createMessage,
/// elicitation/create, roots/list): it answers the call.
public typealias ClientRequestHandler = @Sendable (ClientCall, String, JSONObject) -> Void
/// Host code for notifications from the server.
public typealias ClientNotificationHandler = @Sendable (String, JSONObject) -> Void

/// The client side of one connection: the initialize handshake, the server's
/// capabilities, and the server's requests and notifications handed to host
/// code. Requests, cancellation, progress, timeouts and close are the
/// JSONRPCPeer's, the same as the server's. Driven by bytes in (`receive`) and
/// an output closure; no I/O of its own.
public final class ClientSession: Sendable, PeerMethods {
    public let options: ClientOptions
    let executor: HandlerExecutor
    /// The server's notifications reach host code one at a time, in order.
    private let notifications: OrderedExecutor
    let peer: JSONRPCPeer
    let scheduler: any TimerService
    let state: LockedState<State>
    /// The response cache, when the options ask for one.
    public let cache: ResultCache?

    struct State {
        var initializeResult: JSONObject?
        var version = ProtocolVersion.latest
        var serverCapabilities = JSONObject()
        var requestHandlers: [String: ClientRequestHandler] = [:]
        var notificationHandler: ClientNotificationHandler?
        /// Set once the era is settled (either way).
        var negotiated: NegotiatedServer?
        /// Modern: the x-mcp-header parameters of each listed tool.
        var toolHeaders: [String: [ToolHeaders.Parameter]] = [:]
        /// Modern requests whose answer stream broke: re-issued, not failed.
        var broken: Set<RequestID> = []
        /// Modern calls in progress, by the id the host knows (their first id).
        var calls: [RequestID: ModernCall] = [:]
        /// Each listed tool's outputSchema, ready to check (or why it cannot be used).
        var outputSchemas: [String: Result<JSONSchema, JSONSchemaError>] = [:]
        /// Open subscriptions, by the id the host unsubscribes with.
        var subscriptions: [RequestID: ClientSubscription] = [:]
        /// Notifications naming a subscription id not registered yet.
        var earlyNotifications: [(id: RequestID, method: String, params: JSONObject)] = []
        /// 2025-era subscription ids are local: -1, -2, ...
        var nextLocalSubscription: Int64 = 0
        var watchesClose = false
    }

    /// `transport`: how the connection travels, for the network attributes
    /// of the client's spans (nil: none recorded).
    public init(options: ClientOptions, executor: HandlerExecutor, scheduler: any TimerService,
                transport: SpanTransport? = nil, output: @escaping @Sendable ([UInt8]) -> Void)
    {
        self.options = options
        self.executor = executor
        self.scheduler = scheduler
        cache = options.cache.map { ResultCache(limits: $0) }
        notifications = OrderedExecutor(base: executor)
        // Spans name the negotiated revision (a modern request's own `_meta` wins).
        let state = LockedState(State())
        self.state = state
        let scope = !Tracing.isOn ? TraceScope.none : TraceScope(
            protocolVersion: { state.withLock { $0.negotiated?.protocolVersion } }, sessionID: { nil },
            transport: transport)
        peer = JSONRPCPeer(executor: executor, timers: scheduler, defaultChannel: ClosureChannel(output),
                           observer: nil, traceScope: scope)
    }

    public var initializeResult: JSONObject? { state.withLock { $0.initializeResult } }
    /// The era, revision and server description, once connected.
    public var negotiated: NegotiatedServer? { state.withLock { $0.negotiated } }
    /// True once the era settled on the modern revision.
    public var isModern: Bool { state.withLock { $0.negotiated?.era == .modern } }
    public var protocolVersion: ProtocolVersion { state.withLock { $0.version } }
    public var isClosed: Bool { peer.isClosed }

    public func setRequestHandler(method: String, _ handler: ClientRequestHandler?) {
        state.withLock { $0.requestHandlers[method] = handler }
    }

    public func setNotificationHandler(_ handler: ClientNotificationHandler?) {
        state.withLock { $0.notificationHandler = handler }
    }

    /// Runs once when the session closes (the server went away, or close()).
    public func onClose(_ body: @escaping @Sendable () -> Void) {
        peer.onClose(body)
    }

    // MARK: handshake

    /// Sends initialize, checks the answer, then sends notifications/initialized.
    /// The protocol forbids cancelling initialize: its timeout fails it here
    /// without notifications/cancelled.
    public func initialize(completion: @escaping @Sendable (Result<JSONObject, RequestFailure>) -> Void) {
        initialize(offering: options.protocolVersion, completion: completion)
    }

    func initialize(offering offered: ProtocolVersion,
                    completion: @escaping @Sendable (Result<JSONObject, RequestFailure>) -> Void)
    {
        let params: JSONObject = JSONObject([
            "protocolVersion": .string(offered.rawValue),
            "capabilities": .object(options.capabilities),
            "clientInfo": .object(options.info),
        ])
        peer.request(method: "initialize", params: params, timing: options.timing, cancellable: false) {
            [weak self] outcome in
            guard let self else { return }
            switch outcome {
            case .failure(let f): completion(.failure(f))
            case .success(let result):
                guard case .object(let r) = result, let v = r["protocolVersion"]?.stringValue else {
                    return completion(.failure(.peer(.internalError("The initialize result has no protocolVersion"))))
                }
                guard let version = ProtocolVersion(rawValue: v) else {
                    // A revision we cannot speak: disconnect, as the spec says.
                    self.close()
                    return completion(.failure(.unsupported("The server chose protocol version \(v), which this client does not support")))
                }
                let caps = r["capabilities"]?.objectValue ?? JSONObject()
                self.state.withLock { s in
                    s.initializeResult = r
                    s.version = version
                    s.serverCapabilities = caps
                    s.negotiated = NegotiatedServer(era: .legacy, protocolVersion: version.rawValue, capabilities: caps,
                                                    serverInfo: r["serverInfo"], instructions: r["instructions"]?.stringValue,
                                                    supportedVersions: [], raw: r)
                }
                self.peer.send(.notification(method: "notifications/initialized", params: nil))
                // The 2025 way to the per-request log level of the modern era.
                if let level = self.options.logLevel, caps["logging"] != nil {
                    self.peer.request(method: "logging/setLevel", params: JSONObject(["level": .string(level.rawValue)]),
                                      timing: self.options.timing) { _ in }
                }
                completion(.success(r))
            }
        }
    }

    // MARK: requests

    /// Sends a request; `completion` runs once on a worker thread. Returns the
    /// request id (nil when the session is closed), or throws when the server
    /// did not declare the capability.
    ///
    /// `inline`: the completion only hands the outcome on (it never blocks), so
    /// it may run on the thread that read the answer, saving a thread hop; host
    /// callbacks always run on a worker instead.
    @discardableResult
    public func request(method: String, params: JSONObject?, timing: RequestTiming? = nil,
                        progress: JSONRPCPeer.ProgressHandler? = nil, inline: Bool = false,
                        completion: @escaping JSONRPCPeer.Completion) throws(CallFailure) -> RequestID?
    {
        let (caps, negotiated) = state.withLock { ($0.serverCapabilities, $0.negotiated) }
        try ServerCapabilityCheck.check(method: method, capabilities: caps, initialized: negotiated != nil,
                                        modern: negotiated?.era == .modern)
        let executor = self.executor
        var checked = checkingToolOutput(method: method, params: params, completion)
        var retried: LockedState<Bool>?
        if throughCache(method: method, params: params, &checked, retried: &retried) { return nil }
        let completion = checked
        let hop: JSONRPCPeer.Completion = { outcome in
            if inline { completion(outcome) } else { executor.execute { completion(outcome) } }
        }
        if let negotiated, negotiated.era == .modern {
            return startModern(method: method, params: params, revision: negotiated.protocolVersion,
                               timing: timing ?? options.timing, progress: progress, retried: retried, completion: hop)
        }
        return peer.request(method: method, params: params, timing: timing ?? options.timing, progress: progress,
                            completion: hop)
    }

    public func notify(method: String, params: JSONObject?) {
        peer.send(.notification(method: method, params: params.map { .object($0) }))
    }

    /// Cancels a request we sent (the server is told; its late answer is dropped).
    public func cancel(_ id: RequestID, reason: String?) {
        if let call = state.withLock({ $0.calls[id] }) { return call.cancel(reason: reason, session: self) }
        peer.cancel(id, reason: reason)
    }

    /// Whether a request we sent still waits for its answer (a transport that
    /// resumes a broken answer stream stops once it has arrived elsewhere or
    /// the request timed out).
    public func isAwaiting(_ id: RequestID) -> Bool {
        peer.isAwaiting(id)
    }

    /// The transport lost a request or its answer stream for good: it fails
    /// now with .closed instead of waiting for its timeout.
    public func transportLost(_ id: RequestID, reason: String) {
        peer.fail(id, with: .lost(reason))
    }

    // MARK: input

    /// Handles one complete message from the server.
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let value = try? JSONParser.parse(bytes, maxDepth: options.maxDepth) else {
            // A server that sends garbage gets no answer: there is no id to use.
            return
        }
        let items: [JSONValue]
        if case .array(let a) = value { items = a } else { items = [value] }
        for item in items {
            guard let message = try? Message(json: item) else { continue }
            peer.receive(message, channel: peer.defaultChannel, methods: self)
        }
    }

    func handleRequest(_ request: InboundRequest, params: JSONObject) {
        guard let handler = state.withLock({ $0.requestHandlers[request.method] }) else {
            try? request.answer(.failure(.methodNotFound(request.method)))
            return
        }
        let call = ClientCall(request, params: params)
        executor.execute { handler(call, request.method, params) }
    }

    func handleNotification(method: String, params: JSONObject) {
        if method == "notifications/tools/list_changed" { forgetOutputSchemas() }
        cache?.invalidate(notification: method, params: params)
        if routeToSubscription(method, params) { return }
        deliverToLegacySubscriptions(method, params)
        if let h = state.withLock({ $0.notificationHandler }) {
            notifications.execute { h(method, params) }
        }
    }

    /// Ends the session: waiters fail with .closed, server requests are cancelled.
    public func close() {
        peer.close()
    }
}

/// Which server capability each client request needs (use only what was negotiated).
enum ServerCapabilityCheck {
    static func check(method: String, capabilities: JSONObject, initialized: Bool, modern: Bool = false)
        throws(CallFailure)
    {
        if modern, ModernProtocol.removedMethods.contains(method) {
            throw .unsupported("\(method) does not exist at protocol revision \(ModernProtocol.newest)")
        }
        let needed: String?
        switch method {
        case "ping": return
        case "server/discover": return
        case "initialize": throw .invalidArgument("initialize is sent by the engine when connecting")
        case _ where method.hasPrefix("tools/"): needed = "tools"
        case "resources/subscribe", "resources/unsubscribe":
            guard initialized else { throw .invalidArgument("The session is not initialized") }
            guard capabilities["resources"]?["subscribe"] == .bool(true) else {
                throw .unsupported("The server does not support resource subscriptions")
            }
            return
        case _ where method.hasPrefix("resources/"): needed = "resources"
        case _ where method.hasPrefix("prompts/"): needed = "prompts"
        case "logging/setLevel": needed = "logging"
        case "completion/complete": needed = "completions"
        case _ where method.hasPrefix("tasks/"): needed = "tasks"
        default: needed = nil
        }
        guard initialized else { throw .invalidArgument("The session is not initialized") }
        if let needed, capabilities[needed] == nil {
            throw .unsupported("The server did not declare the \(needed) capability needed by \(method)")
        }
    }
}
