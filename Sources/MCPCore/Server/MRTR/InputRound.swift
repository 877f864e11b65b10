import MCPRuntime

/// One run of a handler for a 2026-07-28 request that may need the client
/// (multi round-trip requests, MRTR). The handler is written once for both
/// eras: it asks with `ServerCall.request` as in a 2025-era call; here each
/// request is looked up among the answers the client sent back (by its key),
/// and returned at once when there, or recorded when not. A call that
/// recorded any request is answered with an InputRequiredResult holding them
/// and a sealed requestState; the client retries, the handler runs again from
/// the top and this time finds its answers ("replay").
///
/// nil on a ServerCall of the 2025 era: that call behaves exactly as before.
public final class InputRound: Sendable {
    /// Which request the round belongs to (bound into requestState).
    let method: String
    let name: String
    /// The request's arguments, hashed into requestState only when a round
    /// is sealed or a state is opened: most calls never ask for input, and
    /// hashing every call's arguments cost a fifth of a 2026-07-28 tools/call
    /// (perf, bench/era_bench.py).
    private let arguments: JSONValue?
    private let openedDigest: String?
    var argumentsDigest: String { openedDigest ?? RequestStateCodec.digest(of: arguments) }
    let codec: RequestStateCodec
    /// The client's capabilities as this request declared them.
    let clientCapabilities: JSONObject
    /// Answers the handler may use: those of earlier rounds (from the
    /// verified requestState) and this request's inputResponses.
    private let available: JSONObject
    private let state: LockedState<State>

    private struct Pending {
        var key: String
        var method: String
        var params: JSONObject
    }

    private struct State {
        /// How many requests this run made: the default keys count them.
        var asked = 0
        /// Answers the handler used: carried into the next requestState so a
        /// later round need not be sent them again.
        var used = JSONObject()
        /// Requests with no answer yet, in the order the handler made them.
        var pending: [Pending] = []
        /// The client's input was unusable: the call is answered with this.
        var failure: JSONRPCError?
        var hostState: String?
    }

    /// The methods an input request may carry at 2026-07-28 (the schema's InputRequest).
    static let inputMethods: Set<String> = ["elicitation/create", "sampling/createMessage", "roots/list"]

    /// Verifies `requestState` and reads `inputResponses` from a request's params.
    /// - Throws: -32602 when either is unusable (tampered, expired, another
    ///   request's state; responses that are not objects).
    init(method: String, name: String, params: JSONObject, clientCapabilities: JSONObject,
         codec: RequestStateCodec) throws(JSONRPCError)
    {
        self.method = method
        self.name = name
        self.codec = codec
        self.clientCapabilities = clientCapabilities
        arguments = params["arguments"]
        var answers = JSONObject()
        var host: String?
        if let s = params["requestState"] {
            guard let text = s.stringValue else { throw .invalidParams("requestState must be a string") }
            let digest = RequestStateCodec.digest(of: arguments)
            openedDigest = digest
            let payload = try codec.open(text, method: method, name: name, argumentsDigest: digest)
            answers = payload.answers
            host = payload.hostState
        } else {
            openedDigest = nil
        }
        if let r = params["inputResponses"] {
            guard let responses = r.objectValue else {
                throw .invalidParams("inputResponses must be an object mapping the keys of inputRequests to results")
            }
            for m in responses.members {
                guard m.value.objectValue != nil else {
                    throw .invalidParams("inputResponses[\"\(m.key)\"] must be a result object, not a \(m.value.kindName)")
                }
                // An answer already carried in the state stands: the handler's
                // earlier rounds were decided on it.
                if answers[m.key] == nil { answers[m.key] = m.value }
            }
        }
        available = answers
        state = LockedState(State(hostState: host))
    }

    /// The key of a request the handler did not name: its method and its
    /// position in the run, so a handler that asks in the same order each run
    /// finds its answers, and one that changed what it asks at a position
    /// asks again instead of misreading another method's answer.
    static func defaultKey(method: String, position: Int) -> String {
        let stem: String
        switch method {
        case "elicitation/create": stem = "elicit"
        case "sampling/createMessage": stem = "sample"
        case "roots/list": stem = "roots"
        default: stem = "input"
        }
        return "\(stem)_\(position)"
    }

    /// The answer to a request the handler makes now.
    /// - Throws: `.inputRequired` when the client has not answered it yet (it
    ///   is recorded, and the handler must stop); `.unsupported` when the
    ///   client did not declare the capability (nothing is recorded);
    ///   `.invalidArgument` for bad params.
    func ask(key given: String?, method: String, params: JSONObject) throws(CallFailure) -> JSONValue {
        guard Self.inputMethods.contains(method) else {
            throw .unsupported("\(method) cannot be sent to a 2026-07-28 client: only elicitation/create, sampling/createMessage and roots/list are input requests")
        }
        if let given, given.isEmpty { throw .invalidArgument("An input request's key must not be empty") }
        // Capability rules are those of the newest 2025 revision, which 2026-07-28 keeps.
        try ClientCapabilityCheck.check(method: method, params: params, capabilities: clientCapabilities,
                                        version: .v2025_11_25)
        let outcome = state.withLock { s -> Result<JSONValue, CallFailure> in
            s.asked += 1
            let key = given ?? Self.defaultKey(method: method, position: s.asked)
            // A run that already failed stops at each request.
            if s.failure != nil { return .failure(.inputRequired) }
            if let a = available[key] {
                if let problem = Self.shapeProblem(a, for: method) {
                    s.failure = .invalidParams("inputResponses[\"\(key)\"] is not a result of \(method): \(problem)")
                    return .failure(.inputRequired)
                }
                s.used[key] = a
                return .success(a)
            }
            if !s.pending.contains(where: { $0.key == key }) {
                s.pending.append(Pending(key: key, method: method, params: params))
            }
            return .failure(.inputRequired)
        }
        return try outcome.get()
    }

    /// Why `answer` cannot be the client's result for `method`, or nil.
    static func shapeProblem(_ answer: JSONValue, for method: String) -> String? {
        switch method {
        case "elicitation/create":
            guard let action = answer["action"]?.stringValue, ["accept", "decline", "cancel"].contains(action) else {
                return "\"action\" must be \"accept\", \"decline\" or \"cancel\""
            }
            if let c = answer["content"], c.objectValue == nil { return "\"content\" must be an object" }
        case "sampling/createMessage":
            guard answer["role"]?.stringValue != nil else { return "\"role\" must be a string" }
            guard let c = answer["content"], c.objectValue != nil || c.arrayValue != nil else {
                return "\"content\" must be a content block or an array of them"
            }
        case "roots/list":
            guard answer["roots"]?.arrayValue != nil else { return "\"roots\" must be an array" }
        default:
            break
        }
        return nil
    }

    /// Whether the call's answer is the engine's rather than the host's.
    var decidesAnswer: Bool { state.withLock { $0.failure != nil || !$0.pending.isEmpty } }

    /// The host's own state: what it set in this run, else what the
    /// requestState it retried with carried.
    public var hostState: String? { state.withLock { $0.hostState } }

    public func setHostState(_ s: String?) { state.withLock { $0.hostState = s } }

    /// The answer that replaces the host's: the failure, or an
    /// InputRequiredResult with every request still open and the sealed
    /// state; nil when the handler found all it asked for.
    func engineAnswer() -> Result<JSONValue, JSONRPCError>? {
        let s = state.withLock { $0 }
        if let f = s.failure { return .failure(f) }
        guard !s.pending.isEmpty else { return nil }
        let payload = RequestStatePayload(method: method, name: name, argumentsDigest: argumentsDigest,
                                          expiresAtMs: codec.expiry(), answers: s.used,
                                          openKeys: s.pending.map(\.key), hostState: s.hostState)
        guard let sealed = codec.seal(payload) else {
            return .failure(.internalError("The requestState would exceed the \(codec.maxBytes) bytes this server allows (request_state_max_bytes)"))
        }
        var requests = JSONObject()
        for p in s.pending {
            requests[p.key] = .object(JSONObject(["method": .string(p.method), "params": .object(p.params)]))
        }
        // No cache hints: an input_required result must not be cached.
        return .success(.object(JSONObject([
            "resultType": "input_required",
            "inputRequests": .object(requests),
            "requestState": .string(sealed),
        ])))
    }
}
