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

    init(session: ServerSession, request: InboundRequest, kind: Kind, task: TaskRecord? = nil) {
        self.session = session
        self.request = request
        self.kind = kind
        self.task = task
    }

    public var id: RequestID { request.id }
    /// The request's `_meta` (progressToken and anything else the client sent).
    public var meta: JSONObject? { request.meta }
    public var isCancelled: Bool { request.isCancelled }
    public var isAnswered: Bool { request.isAnswered }
    public var protocolVersion: ProtocolVersion { session.protocolVersion }
    public var sessionID: String { session.id }
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
        let shaped: JSONObject
        do {
            shaped = try ResultShape.check(result, for: kind, version: session.protocolVersion)
        } catch {
            try request.answer(.failure(.internalError("The server produced an invalid result")))
            throw error
        }
        try request.answer(.success(.object(shaped)))
    }

    /// Answers with a JSON-RPC error.
    public func fail(_ error: JSONRPCError) throws(Failure) {
        try request.answer(.failure(error))
    }

    /// Sends notifications/progress if the request asked for it (else does nothing).
    public func progress(_ progress: Double, total: Double?, message: String?) throws(Failure) {
        try request.sendProgress(progress, total: total,
                                 message: session.protocolVersion >= .v2025_03_26 ? message : nil) { p in
            relatedToTask(p) ?? p
        }
    }

    /// Sends a log message to this call's client, subject to its log level.
    public func log(level: LoggingLevel, logger: String?, data: JSONValue) throws(Failure) {
        if isAnswered { throw .alreadyAnswered }
        session.log(level: level, logger: logger, data: data, on: channel)
    }
}
