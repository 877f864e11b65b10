/// A request from the server that the client's host answers: sampling,
/// elicitation, roots. Answered exactly once, from any thread.
public final class ClientCall: AnswerableCall {
    let request: InboundRequest
    /// The request's params (elicitation answers are completed from its schema).
    let params: JSONObject

    init(_ request: InboundRequest, params: JSONObject = JSONObject()) {
        self.request = request
        self.params = params
    }

    public var id: RequestID { request.id }
    public var method: String { request.method }
    public var meta: JSONObject? { request.meta }
    public var traceParent: String? { request.traceParent }
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
        var answer = result
        if request.method == "elicitation/create" {
            answer = ElicitationDefaults.apply(to: result, schema: params["requestedSchema"])
        }
        try request.answer(.success(answer))
    }

    public func fail(_ error: JSONRPCError) throws(CallFailure) {
        try request.answer(.failure(error))
    }
}
