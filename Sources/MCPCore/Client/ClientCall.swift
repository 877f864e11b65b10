/// A request from the server that the client's host answers: sampling,
/// elicitation, roots. Answered exactly once, from any thread.
public final class ClientCall: AnswerableCall {
    let request: InboundRequest

    init(_ request: InboundRequest) {
        self.request = request
    }

    public var id: RequestID { request.id }
    public var method: String { request.method }
    public var meta: JSONObject? { request.meta }
    public var isCancelled: Bool { request.isCancelled }
    public var isAnswered: Bool { request.isAnswered }

    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        request.onCancel(handler)
    }

    public func respond(_ result: JSONValue) throws(CallFailure) {
        guard case .object = result else {
            try? request.answer(.failure(.internalError("The client produced an invalid result")))
            throw .invalidResult("The result must be a JSON object")
        }
        try request.answer(.success(result))
    }

    public func fail(_ error: JSONRPCError) throws(CallFailure) {
        try request.answer(.failure(error))
    }
}
