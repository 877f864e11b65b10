/// Why a host's action on a call was refused.
public enum CallFailure: Error, Sendable, Equatable {
    case alreadyAnswered
    case invalidResult(String)
    case invalidArgument(String)
    /// The peer did not declare what this needs (e.g. the sampling capability).
    case unsupported(String)
    /// A 2026-07-28 call needs the client's input (MRTR): the handler must
    /// stop; the engine answers the call with an InputRequiredResult.
    case inputRequired
}

/// A request from the peer that host code answers exactly once: a tool call on
/// a server, a sampling request on a client. The C layer hands these out as
/// mcp_call_t handles.
public protocol AnswerableCall: AnyObject, Sendable {
    var isCancelled: Bool { get }
    var isAnswered: Bool { get }
    var meta: JSONObject? { get }
    /// The `traceparent` of the call's span (nil while tracing is off).
    var traceParent: String? { get }
    func respond(_ result: JSONValue) throws(CallFailure)
    func fail(_ error: JSONRPCError) throws(CallFailure)
    func onCancel(_ handler: @escaping @Sendable () -> Void)
}
