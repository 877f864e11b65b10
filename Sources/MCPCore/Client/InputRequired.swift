/// What a modern result is: complete, or an InputRequiredResult asking for
/// input (resultType, SEP-2322). A result without resultType is complete
/// (servers of older revisions omit it).
enum ModernResult: Sendable {
    case complete(JSONValue)
    case inputRequired(InputRequired)
    /// A CreateTaskResult of the tasks extension: the call runs as a task.
    case task(JSONObject)
    /// The answer breaks the rules; the text says how.
    case invalid(String)

    static func classify(_ value: JSONValue, method: String) -> ModernResult {
        guard case .object(let r) = value else { return .invalid("The result of \(method) is not a JSON object") }
        switch r["resultType"] {
        case nil, .string("complete")?:
            return .complete(value)
        case .string("input_required")?:
            guard ModernProtocol.inputRequiredMethods.contains(method) else {
                return .invalid("The server answered \(method) with input_required, which only tools/call, prompts/get and resources/read may get")
            }
            do throws(InputRequired.Invalid) {
                return .inputRequired(try InputRequired(r))
            } catch {
                return .invalid("The server's InputRequiredResult for \(method) is malformed: \(error.text)")
            }
        case .string("task")? where method == "tools/call":
            guard r["taskId"]?.stringValue != nil else {
                return .invalid("The server's CreateTaskResult for \(method) has no string taskId")
            }
            return .task(r)
        case .string(let other)?:
            return .invalid("The result of \(method) has an unknown resultType \"\(other.prefix(100))\"")
        case let other?:
            return .invalid("The resultType of \(method) is a \(other.kindName), not a string")
        }
    }
}

/// An InputRequiredResult: the requests to answer (by the server's keys, in
/// the server's order) and the state to echo exactly.
struct InputRequired: Sendable {
    struct Request: Sendable {
        var key: String
        var method: String
        var params: JSONObject
    }

    struct Invalid: Error {
        var text: String
    }

    var requests: [Request]
    /// The requestState string as sent (never looked into), if any.
    var requestState: String?
    /// Whether the server sent an inputRequests member (even an empty one).
    var hadRequests: Bool

    init(_ r: JSONObject) throws(Invalid) {
        requests = []
        hadRequests = false
        switch r["inputRequests"] {
        case nil, .null?: break
        case .object(let o)?:
            hadRequests = true
            for m in o.members {
                guard case .object(let req) = m.value, let method = req["method"]?.stringValue else {
                    throw Invalid(text: "inputRequests[\"\(m.key.prefix(100))\"] is not a request with a method")
                }
                var params = JSONObject()
                switch req["params"] {
                case .object(let p)?: params = p
                case nil, .null?: break
                default: throw Invalid(text: "the params of inputRequests[\"\(m.key.prefix(100))\"] are not an object")
                }
                requests.append(Request(key: m.key, method: method, params: params))
            }
        default:
            throw Invalid(text: "inputRequests is not an object")
        }
        switch r["requestState"] {
        case nil, .null?: requestState = nil
        case .string(let s)?: requestState = s
        default: throw Invalid(text: "requestState is not a string")
        }
        if requests.isEmpty && requestState == nil {
            throw Invalid(text: "it holds neither inputRequests nor requestState")
        }
    }
}
