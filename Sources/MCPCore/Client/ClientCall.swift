import MCPRuntime
/// A request from the server that the client's host answers: sampling,
/// elicitation, roots. Answered exactly once, from any thread.
public final class ClientCall: AnswerableCall {
    public let id: RequestID
    public let method: String
    public let meta: JSONObject?
    private let session: ClientSession
    private let state = LockedState(State())

    private struct State {
        var answered = false
        var cancelled = false
        var cancelHandlers: [@Sendable () -> Void] = []
    }

    init(session: ClientSession, id: RequestID, method: String, meta: JSONObject?) {
        self.session = session
        self.id = id
        self.method = method
        self.meta = meta
    }

    public var isCancelled: Bool { state.withLock { $0.cancelled } }
    public var isAnswered: Bool { state.withLock { $0.answered } }

    func cancel() {
        let handlers = state.withLock { s -> [@Sendable () -> Void]? in
            if s.answered || s.cancelled { return nil }
            s.cancelled = true
            defer { s.cancelHandlers = [] }
            return s.cancelHandlers
        }
        for h in handlers ?? [] { session.executor.execute(h) }
    }

    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.cancelled { return true }
            if !s.answered { s.cancelHandlers.append(handler) }
            return false
        }
        if now { session.executor.execute(handler) }
    }

    public func respond(_ result: JSONValue) throws(CallFailure) {
        guard case .object = result else {
            try? finish(.failure(.internalError("The client produced an invalid result")))
            throw .invalidResult("The result must be a JSON object")
        }
        try finish(.success(result))
    }

    public func fail(_ error: JSONRPCError) throws(CallFailure) {
        try finish(.failure(error))
    }

    private func finish(_ outcome: Result<JSONValue, JSONRPCError>) throws(CallFailure) {
        let cancelled = state.withLock { s -> Bool? in
            if s.answered { return nil }
            s.answered = true
            s.cancelHandlers = []
            return s.cancelled
        }
        guard let cancelled else { throw .alreadyAnswered }
        session.complete(self, outcome: cancelled ? nil : outcome)
    }
}
