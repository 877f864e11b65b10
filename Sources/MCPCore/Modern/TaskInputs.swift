import OrderedCollections
import MCPRuntime

/// The input requests a task of the tasks extension (2026-07-28, SEP-2663)
/// waits on. That revision has no server-to-client requests: a request the
/// host's handler makes while its call runs as a task (elicitation,
/// sampling, roots) is kept here under a key unique over the task's life,
/// shown in tasks/get's `inputRequests`, and answered by the
/// `inputResponses` of a tasks/update. The handler writes the same code as
/// in the 2025 era (mcp_call_request); only the delivery differs.
final class TaskInputs: Sendable {
    struct Pending: Sendable {
        /// The InputRequest as tasks/get shows it: `{method, params}`.
        let request: JSONObject
        let completion: JSONRPCPeer.Completion
    }

    private struct State {
        var pending = OrderedDictionary<String, Pending>()
        /// Keys are never reused (the spec: unique over a task's lifetime).
        var issued = 0
        var closed = false
    }

    private let state = LockedState(State())

    /// Keeps a request; its key, or nil when the task is over.
    func add(method: String, params: JSONObject?, completion: @escaping JSONRPCPeer.Completion) -> String? {
        var request = JSONObject()
        request["method"] = .string(method)
        request["params"] = .object(params ?? JSONObject())
        return state.withLock { s -> String? in
            guard !s.closed else { return nil }
            s.issued += 1
            let key = "\(Self.prefix(method))-\(s.issued)"
            s.pending[key] = Pending(request: request, completion: completion)
            return key
        }
    }

    /// The outstanding requests, key -> InputRequest.
    var requests: JSONObject {
        state.withLock { s in
            var o = JSONObject()
            for (k, p) in s.pending { o[k] = .object(p.request) }
            return o
        }
    }

    var isEmpty: Bool { state.withLock { $0.pending.isEmpty } }

    /// Takes the requests `responses` answers. Keys not outstanding (never
    /// issued, already answered) are ignored, as the extension says.
    func take(_ responses: JSONObject) -> [(Pending, JSONValue)] {
        state.withLock { s in
            var answered: [(Pending, JSONValue)] = []
            for m in responses.members {
                if let p = s.pending.removeValue(forKey: m.key) { answered.append((p, m.value)) }
            }
            return answered
        }
    }

    /// No more requests; the outstanding ones are returned to be failed.
    func close() -> [Pending] {
        state.withLock { s in
            s.closed = true
            defer { s.pending = [:] }
            return Array(s.pending.values)
        }
    }

    private static func prefix(_ method: String) -> String {
        switch method {
        case "elicitation/create": return "elicit"
        case "sampling/createMessage": return "sample"
        case "roots/list": return "roots"
        default: return "input"
        }
    }
}

extension ServerCall {
    /// A request of a call that runs as a 2026-07-28 task: it waits in the
    /// task's `inputRequests` until tasks/update answers it, the task is
    /// cancelled or it expires (the request's own timeout does not apply:
    /// the task's TTL bounds it). The capability checks are the 2025 era's,
    /// against the capabilities of the request that created the task; the
    /// call is already answered (CreateTaskResult), so a refusal goes to the
    /// host only.
    func requestThroughTask(_ task: TaskRecord, method: String, params: JSONObject?,
                            completion: @escaping JSONRPCPeer.Completion) throws(Failure)
    {
        guard Self.requiredCapability(for: method) != nil else {
            throw .unsupported("\(method) is not an input request of protocol revision 2026-07-28")
        }
        try ClientCapabilityCheck.check(method: method, params: params ?? JSONObject(),
                                        capabilities: clientCapabilities, version: protocolVersion)
        let executor = session.peer.executor
        guard task.inputs.add(method: method, params: params, completion: { outcome in
            executor.execute { completion(outcome) }
        }) != nil else {
            throw .invalidArgument("The task is over")
        }
        _ = task.inputRequest(started: true)
    }
}
