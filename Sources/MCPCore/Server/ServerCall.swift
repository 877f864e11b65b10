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

    public let id: RequestID
    public let kind: Kind
    /// The request's `_meta` (progressToken and anything else the client sent).
    public let meta: JSONObject?
    let session: ServerSession
    /// Where this call's answer and related messages go.
    let channel: MessageChannel
    /// Set when the call runs as a task: its answer goes to the task.
    let task: TaskRecord?
    private let state = LockedState(State())

    private struct State {
        var answered = false
        var cancelled = false
        var lastProgress: Double?
        var cancelHandlers: [@Sendable () -> Void] = []
        var outgoing: Set<RequestID> = []
    }

    init(session: ServerSession, id: RequestID, kind: Kind, meta: JSONObject?, channel: MessageChannel,
         task: TaskRecord? = nil) {
        self.session = session
        self.channel = channel
        self.task = task
        self.id = id
        self.kind = kind
        self.meta = meta
    }

    var progressToken: JSONValue? {
        guard let t = meta?["progressToken"] else { return nil }
        switch t {
        case .string, .int: return t
        default: return nil
        }
    }

    public var isCancelled: Bool { state.withLock { $0.cancelled } }
    public var isAnswered: Bool { state.withLock { $0.answered } }
    public var protocolVersion: ProtocolVersion { session.protocolVersion }
    public var sessionID: String { session.id }

    /// Marks the call cancelled; its answer will not be sent. Returns false if
    /// it was already answered.
    /// The call's stream ends at once (no answer will be sent on it).
    @discardableResult
    func cancel() -> Bool {
        let first = state.withLock { s -> Bool in
            if s.answered || s.cancelled { return false }
            s.cancelled = true
            return true
        }
        guard first else { return false }
        channel.finish(nil)
        let (handlers, requests) = state.withLock { s in
            defer {
                s.cancelHandlers = []
                s.outgoing = []
            }
            return (s.cancelHandlers, s.outgoing)
        }
        // Requests this call made to the client are cancelled with it.
        for r in requests { session.outgoing.cancel(r, reason: "The request that needed it was cancelled") }
        for h in handlers { session.server.executor.execute(h) }
        return true
    }

    func trackOutgoing(_ id: RequestID) { state.withLock { _ = $0.outgoing.insert(id) } }
    func forgetOutgoing(_ id: RequestID) { state.withLock { _ = $0.outgoing.remove(id) } }

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
        let now = state.withLock { s -> Bool in
            if s.cancelled { return true }
            if !s.answered { s.cancelHandlers.append(handler) }
            return false
        }
        if now { session.server.executor.execute(handler) }
    }

    /// Answers with a result, after checking its shape for this kind of call.
    /// An unusable result still consumes the call: the client gets -32603.
    public func respond(_ result: JSONValue) throws(Failure) {
        let shaped: JSONObject
        do {
            shaped = try ResultShape.check(result, for: kind, version: session.protocolVersion)
        } catch {
            try finish(.failure(.internalError("The server produced an invalid result")))
            throw error
        }
        try finish(.success(.object(shaped)))
    }

    /// Answers with a JSON-RPC error.
    public func fail(_ error: JSONRPCError) throws(Failure) {
        try finish(.failure(error))
    }

    private func finish(_ outcome: Result<JSONValue, JSONRPCError>) throws(Failure) {
        let wasCancelled = state.withLock { s -> Bool? in
            if s.answered { return nil }
            s.answered = true
            s.cancelHandlers = []
            return s.cancelled
        }
        guard let wasCancelled else { throw .alreadyAnswered }
        if let task {
            if !wasCancelled { session.finishTask(task, outcome: outcome) }
            return
        }
        session.complete(self, outcome: wasCancelled ? nil : outcome)
    }

    /// Sends notifications/progress if the request asked for it (else does nothing).
    public func progress(_ progress: Double, total: Double?, message: String?) throws(Failure) {
        guard progress.isFinite, total.map(\.isFinite) ?? true else {
            throw .invalidArgument("Progress values must be finite numbers")
        }
        let refusal = state.withLock { s -> Failure? in
            if s.answered { return .alreadyAnswered }
            if let last = s.lastProgress, progress <= last {
                return .invalidArgument("Progress must increase: \(progress) after \(last)")
            }
            s.lastProgress = progress
            return nil
        }
        if let refusal { throw refusal }
        guard let token = progressToken, !isCancelled else { return }
        var p = JSONObject()
        p["progressToken"] = token
        p["progress"] = .double(progress)
        if let total { p["total"] = .double(total) }
        if let message, session.protocolVersion >= .v2025_03_26 { p["message"] = .string(message) }
        session.send(.notification(method: "notifications/progress", params: relatedToTask(p).map { .object($0) }),
                     on: channel)
    }

    /// Sends a log message to this call's client, subject to its log level.
    public func log(level: LoggingLevel, logger: String?, data: JSONValue) throws(Failure) {
        if isAnswered { throw .alreadyAnswered }
        session.log(level: level, logger: logger, data: data, on: channel)
    }
}
