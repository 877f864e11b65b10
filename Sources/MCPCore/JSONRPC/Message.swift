/// One JSON-RPC 2.0 message, classified and checked.
public enum Message: Sendable, Equatable {
    case request(id: RequestID, method: String, params: JSONValue?)
    case notification(method: String, params: JSONValue?)
    case response(id: RequestID, result: JSONValue)
    case errorResponse(id: RequestID?, error: JSONRPCError)
}

/// Why an incoming JSON value is not a message; `id` is set when it could be read,
/// so the error answer can carry it.
public struct MessageError: Error, Sendable {
    public var id: RequestID?
    public var error: JSONRPCError
}

extension Message {
    /// The members JSON-RPC 2.0 gives meaning to.
    static let memberNames: Set<String> = ["jsonrpc", "id", "method", "params", "result", "error"]

    /// Classifies a parsed JSON value. Lenient where the spec allows (an error
    /// response with `"id": null`), strict elsewhere.
    public init(json: JSONValue) throws(MessageError) {
        guard case .object(let o) = json else {
            throw MessageError(id: nil, error: .invalidRequest("A JSON-RPC message must be an object"))
        }
        let rawID = o["id"]
        let id = rawID.flatMap(RequestID.init)
        if !o.duplicateKeys.isEmpty, let name = o.duplicateKeys.first(where: { Self.memberNames.contains($0) }) {
            // Which copy a reader takes is a guess, so the message is refused;
            // with "id" repeated, no id can be trusted in the answer either.
            throw MessageError(id: o.duplicateKeys.contains("id") ? nil : id,
                               error: .invalidRequest("The \"\(name)\" member appears more than once"))
        }
        guard o["jsonrpc"] == .string("2.0") else {
            throw MessageError(id: id, error: .invalidRequest("The \"jsonrpc\" member must be \"2.0\""))
        }
        if let methodValue = o["method"] {
            guard case .string(let method) = methodValue else {
                throw MessageError(id: id, error: .invalidRequest("The \"method\" member must be a string"))
            }
            let params = o["params"]
            if let params {
                switch params {
                case .object: break
                case .array:
                    throw MessageError(id: id, error: .invalidParams("MCP params must be an object, not an array"))
                default:
                    throw MessageError(id: id, error: .invalidRequest("The \"params\" member must be an object"))
                }
            }
            guard rawID != nil else {
                self = .notification(method: method, params: params)
                return
            }
            guard let id else {
                throw MessageError(id: nil, error: .invalidRequest("A request id must be a string or an integer"))
            }
            self = .request(id: id, method: method, params: params)
            return
        }
        if let result = o["result"] {
            guard let id else {
                throw MessageError(id: nil, error: .invalidRequest("A response needs a string or integer id"))
            }
            self = .response(id: id, result: result)
            return
        }
        if let err = o["error"] {
            guard case .object(let eo) = err, let code = eo["code"]?.intValue,
                case .string(let message) = eo["message"] ?? .null
            else {
                throw MessageError(id: id, error: .invalidRequest("Malformed error object"))
            }
            if rawID != nil, rawID != .null, id == nil {
                throw MessageError(id: nil, error: .invalidRequest("A response id must be a string or an integer"))
            }
            self = .errorResponse(id: id, error: JSONRPCError(code: code, message: message, data: eo["data"]))
            return
        }
        throw MessageError(id: id, error: .invalidRequest("Not a request, notification or response"))
    }

    /// Built member by member in one array (the names are distinct by
    /// construction): through the subscript setter each member was a search
    /// and a regrowth, ~1.9K instructions an answer.
    public var json: JSONValue {
        typealias M = JSONObject.Member
        let version = M(key: "jsonrpc", value: "2.0")
        switch self {
        case .request(let id, let method, let params):
            var m = [version, M(key: "id", value: id.json), M(key: "method", value: .string(method))]
            if let params { m.append(M(key: "params", value: params)) }
            return .object(JSONObject(uniqueMembers: m))
        case .notification(let method, let params):
            var m = [version, M(key: "method", value: .string(method))]
            if let params { m.append(M(key: "params", value: params)) }
            return .object(JSONObject(uniqueMembers: m))
        case .response(let id, let result):
            return .object(JSONObject(uniqueMembers: [version, M(key: "id", value: id.json), M(key: "result", value: result)]))
        case .errorResponse(let id, let error):
            // An unreadable id is left out rather than sent as null (schema 2025-11-25).
            guard let id else { return .object(JSONObject(uniqueMembers: [version, M(key: "error", value: error.json)])) }
            return .object(JSONObject(uniqueMembers: [version, M(key: "id", value: id.json), M(key: "error", value: error.json)]))
        }
    }

    public func serialized() -> [UInt8] { JSONSerializer.bytes(json) }

    /// The text, written into a buffer of `channel`'s (see MessageChannel.outputBuffer).
    public func serialized(for channel: MessageChannel) -> [UInt8] {
        JSONSerializer.bytes(json, buffer: channel.outputBuffer(capacity:))
    }
}
