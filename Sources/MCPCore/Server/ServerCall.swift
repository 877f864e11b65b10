import MCPRuntime
/// One request from a client that host code answers: a tool call, a resource
/// read or a prompt get. It is answered exactly once, from any thread.
public final class ServerCall: AnswerableCall {
    public enum Kind: Sendable, Equatable {
        case tool(name: String)
        case resourceRead(uri: String)
        case promptGet(name: String)
        case completion
    }

    public typealias Failure = CallFailure

    public let kind: Kind
    let session: ServerSession
    /// The request's state: answered once, cancellation, its channel.
    let request: InboundRequest
    /// Set when the call runs as a task: its answer goes to the task.
    let task: TaskRecord?
    /// The request's own context at the stateless revision (2026-07-28), read
    /// once when the call starts; nil for a call of a 2025-era session.
    public let modern: ModernContext?
    /// The request's params as received (`arguments`, and at 2026-07-28
    /// `inputResponses` and `requestState` for multi round-trip requests).
    public let params: JSONObject
    /// The caching hint a 2026-07-28 answer carries (resources/read).
    let cache: CacheHint?
    /// MRTR: set for a 2026-07-28 tool call, prompt get or resource read,
    /// which may ask the client for input (Server/MRTR); nil in the 2025 era.
    public let inputRound: InputRound?
    /// A tool call's outputSchema, made ready at registration: the result's
    /// structuredContent is checked against it (ToolValidation.swift).
    let outputChecker: JSONSchema?

    init(session: ServerSession, request: InboundRequest, kind: Kind, task: TaskRecord? = nil,
         params: JSONObject = JSONObject(), cache: CacheHint? = nil, inputRound: InputRound? = nil,
         outputChecker: JSONSchema? = nil)
    {
        self.outputChecker = outputChecker
        self.session = session
        self.request = request
        self.kind = kind
        self.task = task
        self.modern = request.modern
        self.params = params
        self.cache = cache
        self.inputRound = inputRound
    }

    public var id: RequestID { request.id }
    /// The request's `_meta`: progressToken, W3C trace context (`traceparent`,
    /// `tracestate`, `baggage`), the 2026-07-28 envelope, the client's own keys.
    public var meta: JSONObject? { request.meta }
    public var traceParent: String? { request.traceParent }
    public var isCancelled: Bool { request.isCancelled }
    public var isAnswered: Bool { request.isAnswered }
    /// The revision this call is served at: its own at 2026-07-28, else its session's.
    public var protocolVersion: ProtocolVersion { modern?.version ?? session.protocolVersion }
    /// The client's capabilities for this call: from the request at
    /// 2026-07-28, from initialize in the 2025 era.
    public var clientCapabilities: JSONObject { modern?.clientCapabilities ?? session.clientCapabilities }
    /// The client's clientInfo (empty when it gave none).
    public var clientInfo: JSONObject { modern?.clientInfo ?? session.state.withLock { $0.clientInfo } }
    public var sessionID: String { session.id }
    /// Who the request acts for (its access token's subject, client, scopes,
    /// claims), when the transport checked one; nil without authorization.
    public var principal: Principal? { request.channel.principal }
    /// Where this call's answer and related messages go.
    var channel: MessageChannel { request.channel }

    /// Marks the call cancelled; its answer will not be sent.
    func cancel() { request.cancel() }

    /// Params for a message this call sends; a task's messages carry its tag.
    func relatedToTask(_ params: JSONObject?) -> JSONObject? {
        guard let task else { return params }
        var p = params ?? JSONObject()
        var meta = p["_meta"]?.objectValue ?? JSONObject()
        meta[ServerSession.relatedTaskKey] = ["taskId": .string(task.id)]
        p["_meta"] = .object(meta)
        return p
    }

    /// Runs `handler` once if the call is cancelled (at once, on a worker, if it
    /// already was). It may run while the host is answering; that race is benign.
    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        request.onCancel(handler)
    }

    /// Answers with a result, after checking its shape for this kind of call.
    /// An unusable result still consumes the call: the client gets -32603.
    public func respond(_ result: JSONValue) throws(Failure) {
        if let round = inputRound, let answer = round.engineAnswer() { return try answerRound(answer) }
        if let checker = outputChecker, case .tool(let name) = kind,
            let reason = Self.outputMismatch(result, tool: name, checker: checker)
        {
            try request.answer(.failure(.internalError("Tool \"\(name)\" produced a result that does not match its outputSchema")))
            throw .invalidResult(reason)
        }
        let shaped: JSONObject
        do {
            shaped = try ResultShape.check(result, for: kind, version: protocolVersion)
        } catch {
            try request.answer(.failure(.internalError("The server produced an invalid result")))
            throw error
        }
        guard modern != nil else { return try request.answer(.success(.object(shaped))) }
        try request.answer(.success(.object(session.stampModern(shaped, cache: cache))))
    }

    /// Answers with a JSON-RPC error. At 2026-07-28 a resource read's -32002
    /// (resource not found, retired) becomes -32602, as that revision says.
    public func fail(_ error: JSONRPCError) throws(Failure) {
        if let round = inputRound, let answer = round.engineAnswer() { return try answerRound(answer) }
        var e = error
        if modern != nil, case .resourceRead = kind, e.code == ErrorCode.resourceNotFound { e.code = ErrorCode.invalidParams }
        try request.answer(.failure(e))
    }

    /// MRTR: the engine's answer in place of the host's. An InputRequiredResult
    /// gets the serverInfo stamp of every modern result but no cache hints.
    private func answerRound(_ outcome: Result<JSONValue, JSONRPCError>) throws(Failure) {
        guard case .success(.object(let o)) = outcome else { return try request.answer(outcome) }
        var stamped = session.stampModern(o, cache: nil)
        stamped["resultType"] = "input_required"
        try request.answer(.success(.object(stamped)))
    }

    /// Sends notifications/progress if the request asked for it (else does nothing).
    public func progress(_ progress: Double, total: Double?, message: String?) throws(Failure) {
        try request.sendProgress(progress, total: total,
                                 message: protocolVersion >= .v2025_03_26 ? message : nil) { p in
            relatedToTask(p) ?? p
        }
    }

    /// Sends a log message to this call's client, subject to its log level:
    /// the session's (logging/setLevel) in the 2025 era, the request's own
    /// `io.modelcontextprotocol/logLevel` at 2026-07-28, where a request
    /// without one gets no log messages at all.
    public func log(level: LoggingLevel, logger: String?, data: JSONValue) throws(Failure) {
        if isAnswered { throw .alreadyAnswered }
        guard let modern else { return session.log(level: level, logger: logger, data: data, on: channel) }
        guard let minimum = modern.logLevel, level >= minimum else { return }
        session.send(.notification(method: "notifications/message",
                                   params: .object(ServerSession.logParams(level: level, logger: logger, data: data))),
                     on: channel)
    }
}
