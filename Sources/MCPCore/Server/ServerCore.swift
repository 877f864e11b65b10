import Synchronization
/// What a server says about itself and the limits it applies.
public struct ServerOptions: Sendable {
    /// serverInfo: name, version and the optional title, description, websiteUrl, icons.
    public var info: JSONObject
    public var instructions: String?
    public var pageSize: Int = 100
    public var maxDepth: Int = JSONParser.defaultMaxDepth
    public var taskLimits = TaskLimits()
    /// Extensions the host supports (`capabilities.extensions`, both eras):
    /// identifier -> settings object.
    public var extensions = JSONObject()
    /// Caching hints of cacheable results at 2026-07-28 when a feature sets
    /// none of its own.
    public var cacheDefault = CacheHint()
    /// How MRTR's requestState is sealed (keys, expiry, size).
    public var requestState = RequestStateOptions()
    /// Capabilities declared even when nothing of the kind is registered at
    /// handshake time; `logging` is declared only from here (ServerCapabilities).
    public var declaredCapabilities: Set<DeclarableCapability> = []
    /// Calls in flight, tool timeouts, circuit breakers (Server/Overload).
    public var callLimits = CallLimits()
    /// Whether tool arguments, tool results and elicitation answers are
    /// checked against their schemas (ToolValidation.swift); a tool may also
    /// opt out on its own (ToolEntry `validation: nil`).
    public var validatesSchemas = true
    /// The bounds every schema the server checks is made with (SEP-2106).
    public var schemaLimits = SchemaLimits()

    public init(name: String, version: String) {
        info = JSONObject()
        info["name"] = .string(name)
        info["version"] = .string(version)
    }
}

/// A server: its features and the sessions that use them. Features may change
/// while sessions run; every initialized session hears of it.
public final class ServerCore: Sendable {
    public let options: ServerOptions
    let executor: HandlerExecutor
    /// Request timeouts and task expiry (injected: MCPCore starts no thread).
    let scheduler: any TimerService
    let features = LockedState(FeatureSet())
    /// The tools with `x-mcp-header` parameters, apart from the feature
    /// table: a 2026-07-28 tools/call checks its headers against them before
    /// the engine looks the tool up, and a scan of these few (usually none)
    /// costs less than the table's lock and a hash of the name (~1.5K
    /// instructions a call, callgrind).
    private let headerParameterTools = LockedState<[(name: String, parameters: [HeaderParameter])]>([])

    /// The `x-mcp-header` parameters of tool `name` (empty for most tools).
    func headerParameters(ofTool name: String) -> [HeaderParameter] {
        let n = name.utf8.count
        return headerParameterTools.withLock { tools in
            tools.first { $0.name.utf8.count == n && $0.name == name }?.parameters ?? []
        }
    }
    let cursors = CursorCodec()
    /// Seals the requestState of MRTR rounds (Server/MRTR).
    let requestStates: RequestStateCodec
    let tasks = TaskStore()
    /// The durable store of 2025-era session records (StateStore), when one
    /// is attached; nil keeps sessions in memory only.
    let sessionStore = LockedState<SessionStoreSlot?>(nil)
    /// Set by a transport serving a fleet: resource changes of stored
    /// sessions go through it to every process (notifyResourceUpdated).
    let resourceRelay = LockedState<(@Sendable (String) -> Void)?>(nil)
    /// Open subscriptions/listen streams (2026-07-28); they hear list changes
    /// and resource updates like initialized 2025 sessions do.
    let listeners = ListenerRegistry()
    /// Live sessions, held strongly until they close (every transport closes
    /// its sessions; mcp_session_free does too). Strong rather than weak: Swift's
    /// weak side tables are reached through a tagged pointer, which leak
    /// checkers report as lost memory.
    private let sessions = LockedState([ObjectIdentifier: ServerSession]())
    /// Boxed: a function stored directly in a generic container and read
    /// back per request was seen to grow memory per call (reabstraction).
    private let completion = LockedState<CompletionBox?>(nil)
    /// Where requests, bytes, streams and refusals are counted (the server's
    /// metrics); nil keeps none, at no cost.
    public let observer: (any ServerObserver)?

    /// The serverInfo of server/discover's `_meta`, shaped once.
    let modernServerInfo: JSONValue
    /// The serverInfo stamp of every other 2026-07-28 result: its name and
    /// version, what the spec's table of per-response fields asks for
    /// (basic/index.mdx). Title, description, icons and the rest are for
    /// display: server/discover has them, and repeating them in every
    /// result tripled the size of a small tools/call answer.
    let modernServerIdentity: JSONValue
    /// Whether the host declared the tasks extension (ModernTasks.swift),
    /// read once: every 2026-07-28 tools/call asks.
    let servesTasksExtension: Bool
    /// The `_meta` of a 2026-07-28 result that has none of its own (most):
    /// the identity stamp alone, built once.
    let modernMetaStamp: JSONValue
    /// Calls into host code in flight, against options.callLimits.maxInFlight.
    let callGate: CallGate
    let breakers: CircuitBreakers

    public init(options: ServerOptions, executor: HandlerExecutor, scheduler: any TimerService,
                observer: (any ServerObserver)? = nil)
    {
        self.options = options
        let info = RevisionGate.implementation(options.info, for: .modern)
        modernServerInfo = .object(info)
        var identity = JSONObject()
        for key in ["name", "version"] { identity[key] = info[key] }
        modernServerIdentity = .object(identity)
        modernMetaStamp = [ModernContext.serverInfoKey: .object(identity)]
        servesTasksExtension = options.extensions[ServerSession.tasksExtension] != nil
        requestStates = RequestStateCodec(options: options.requestState)
        self.executor = executor
        self.scheduler = scheduler
        self.observer = observer
        callGate = CallGate(limit: options.callLimits.maxInFlight)
        breakers = CircuitBreakers(failures: options.callLimits.breakerFailures,
                                   openMs: options.callLimits.breakerOpenMs, clock: scheduler)
    }

    /// True when a call into host code would be refused now (the HTTP
    /// transport answers 503 before parsing further).
    public var isAtCallLimit: Bool { callGate.isFull }
    public var callRetryAfterMs: Int { options.callLimits.retryAfterMs }

    /// Whether `method` runs host code (and so counts against the call limits).
    public static func callsHost(_ method: String) -> Bool {
        switch method {
        case "tools/call", "resources/read", "prompts/get", "completion/complete": return true
        default: return false
        }
    }

    /// A session whose messages unrelated to any request go to `defaultChannel`.
    /// Its first request decides its era (stdio), unless `legacyOnly` (a
    /// transport that serves only the 2025 era: WebSocket, HTTP+SSE, a
    /// Streamable HTTP session).
    /// `persistent`: its record is saved to the attached durable store (a
    /// Streamable HTTP session, which another process may serve next).
    public func makeSession(defaultChannel: MessageChannel, legacyOnly: Bool = false,
                            persistent: Bool = false) -> ServerSession
    {
        let session = ServerSession(server: self, defaultChannel: defaultChannel)
        session.state.withLock { s in
            if legacyOnly { s.era = .legacy }
            s.persistent = persistent
        }
        sessions.withLock { $0[ObjectIdentifier(session)] = session }
        return session
    }

    /// Makes `store` where this server keeps what must outlive the process:
    /// tasks (both eras) and, for sessions made with `persistent`, their
    /// records (`ttlMs`: how long a record outlives its last use). A store
    /// that is not durable (`memory:`) changes nothing. Called by the
    /// transport that opened the store, before it serves requests.
    public func attachStore(_ store: any StateStore, sessionTTLMs: Int) {
        tasks.attach(store)
        sessionStore.withLock { $0 = store.isDurable ? SessionStoreSlot(store: store, ttlMs: sessionTTLMs) : nil }
    }

    /// A session restored from its stored record (another process made it,
    /// or this one before a restart): initialized at the recorded revision,
    /// with the client's capabilities, info, log level and subscriptions.
    /// nil when the record names a revision this engine does not speak.
    public func restoreSession(_ record: SessionRecord, defaultChannel: MessageChannel) -> ServerSession? {
        guard let version = ProtocolVersion(rawValue: record.protocolVersion), !version.isModern else { return nil }
        let session = ServerSession(server: self, defaultChannel: defaultChannel, id: record.id)
        session.state.withLock { s in
            s.phase = .initialized
            s.era = .legacy
            s.version = version
            s.clientCapabilities = record.clientCapabilities
            s.clientInfo = record.clientInfo
            s.logLevel = LoggingLevel(rawValue: record.logLevel) ?? .info
            s.subscriptions = Set(record.subscriptions)
            s.persistent = true
        }
        sessions.withLock { $0[ObjectIdentifier(session)] = session }
        return session
    }

    /// A session for one self-contained request of a stateless transport (no
    /// session ids): it acts as initialized at `version`, answers initialize
    /// as often as asked, and is not kept in the list of sessions.
    public func makeStatelessSession(defaultChannel: MessageChannel, version: ProtocolVersion) -> ServerSession {
        let session = ServerSession(server: self, defaultChannel: defaultChannel)
        session.state.withLock { s in
            s.phase = .initialized
            s.version = version
            s.stateless = true
            s.era = .legacy
        }
        return session
    }

    /// A session that serves only requests of the stateless revision: one per
    /// HTTP POST that carries one (a request without the modern `_meta` gets
    /// -32602). Not kept in the list of sessions: it hears no broadcasts.
    public func makeModernSession(defaultChannel: MessageChannel) -> ServerSession {
        let session = ServerSession(server: self, defaultChannel: defaultChannel, id: "")
        session.state.withLock { s in
            s.era = .modern
            s.stateless = true
        }
        return session
    }

    func forget(_ session: ServerSession) {
        sessions.withLock { $0[ObjectIdentifier(session)] = nil }
    }

    /// Ends the server: every session closes and every feature is dropped, so
    /// host data is released as soon as no running call uses it, even while
    /// sessions the host has not freed still point here.
    public func shutdown() {
        endListeners()
        closeAllSessions()
        features.withLock { $0 = FeatureSet() }
        completion.withLock { $0 = nil }
    }

    /// Closes every session (in-flight calls are cancelled).
    public func closeAllSessions() {
        let all = sessions.withLock { s -> [ServerSession] in
            let live = Array(s.values)
            s.removeAll()
            return live
        }
        for s in all { s.close() }
    }

    public var sessionCount: Int { sessions.withLock { $0.count } }

    // MARK: features

    public func addTool(_ entry: ToolEntry) throws(DefinitionError) {
        // Listed before the tool is visible, so no call to it skips the check.
        let parameters = entry.headerParameters
        if !parameters.isEmpty { headerParameterTools.withLock { $0.append((entry.name, parameters)) } }
        do {
            try insert(\.tools, key: entry.name, entry, list: .tools)
        } catch {
            if !parameters.isEmpty { dropHeaderParameters(of: entry.name) }
            throw error
        }
    }

    public func removeTool(named name: String) throws(DefinitionError) {
        try remove(\.tools, key: name, list: .tools)
        dropHeaderParameters(of: name)
    }

    /// The latest listing of `name` (an add that failed listed one more).
    private func dropHeaderParameters(of name: String) {
        headerParameterTools.withLock { tools in
            if let i = tools.lastIndex(where: { $0.name == name }) { tools.remove(at: i) }
        }
    }

    public func addResource(_ entry: ResourceEntry) throws(DefinitionError) {
        try insert(\.resources, key: entry.uri, entry, list: .resources)
    }

    public func removeResource(uri: String) throws(DefinitionError) {
        try remove(\.resources, key: uri, list: .resources)
    }

    public func addTemplate(_ entry: TemplateEntry) throws(DefinitionError) {
        try insert(\.templates, key: entry.template.text, entry, list: .templates)
    }

    public func removeTemplate(uriTemplate: String) throws(DefinitionError) {
        try remove(\.templates, key: uriTemplate, list: .templates)
    }

    public func addPrompt(_ entry: PromptEntry) throws(DefinitionError) {
        try insert(\.prompts, key: entry.name, entry, list: .prompts)
    }

    public func removePrompt(named name: String) throws(DefinitionError) {
        try remove(\.prompts, key: name, list: .prompts)
    }

    private func insert<E>(_ path: WritableKeyPath<FeatureSet, OrderedDictionaryOf<E>>, key: String, _ entry: E,
                           list: FeatureList) throws(DefinitionError)
    {
        let added = features.withLock { f -> Bool in
            guard f[keyPath: path][key] == nil else { return false }
            f[keyPath: path][key] = entry
            return true
        }
        guard added else { throw .duplicate("\"\(key)\" is already registered") }
        broadcast(.notification(method: list.changedNotification, params: nil))
    }

    private func remove<E>(_ path: WritableKeyPath<FeatureSet, OrderedDictionaryOf<E>>, key: String,
                           list: FeatureList) throws(DefinitionError)
    {
        // The entry (and the host data its handler holds) is released outside
        // the lock, and only once no running call still uses it.
        let removed = features.withLock { f in f[keyPath: path].removeValue(forKey: key) }
        guard removed != nil else { throw .notFound("\"\(key)\" is not registered") }
        broadcast(.notification(method: list.changedNotification, params: nil))
    }

    /// Sends a notification to every initialized session, and to every
    /// listen stream whose filter asked for it.
    public func broadcast(_ message: Message) {
        for s in liveSessions where s.isInitialized { s.send(message) }
        _ = listeners.deliver(message)
    }

    var liveSessions: [ServerSession] { sessions.withLock { Array($0.values) } }

    // MARK: completion

    /// Sets (or with nil removes) the completion handler. Sessions initialized
    /// before it was set do not see the `completions` capability.
    public func setCompletionHandler(_ handler: CompletionHandler?) {
        let box = handler.map(CompletionBox.init)
        completion.withLock { $0 = box }
    }

    var completionHandler: CompletionHandler? { completion.withLock { $0 }?.handler }
}

import OrderedCollections
import MCPRuntime

/// The durable store sessions are saved to, and how long a record outlives its last use.
struct SessionStoreSlot: Sendable {
    let store: any StateStore
    let ttlMs: Int
}

typealias OrderedDictionaryOf<E> = OrderedDictionary<String, E>

final class CompletionBox: Sendable {
    let handler: CompletionHandler
    init(_ handler: @escaping CompletionHandler) { self.handler = handler }
}
