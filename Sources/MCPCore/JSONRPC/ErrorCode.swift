/// JSON-RPC error codes used by MCP. Wire data, named once here.
public enum ErrorCode {
    public static let parseError: Int64 = -32700
    public static let invalidRequest: Int64 = -32600
    public static let methodNotFound: Int64 = -32601
    public static let invalidParams: Int64 = -32602
    public static let internalError: Int64 = -32603
    public static let resourceNotFound: Int64 = -32002
    public static let urlElicitationRequired: Int64 = -32042

    /// The default message for a code, used when a host gives none.
    public static func defaultMessage(_ code: Int64) -> String {
        switch code {
        case parseError: return "Parse error"
        case invalidRequest: return "Invalid request"
        case methodNotFound: return "Method not found"
        case invalidParams: return "Invalid params"
        case internalError: return "Internal error"
        case resourceNotFound: return "Resource not found"
        case urlElicitationRequired: return "URL elicitation required"
        default: return "Error"
        }
    }
}

/// The `error` member of a JSON-RPC error response.
public struct JSONRPCError: Error, Sendable, Equatable {
    public var code: Int64
    public var message: String
    public var data: JSONValue?

    public init(code: Int64, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var json: JSONValue {
        var o = JSONObject()
        o["code"] = .int(code)
        o["message"] = .string(message)
        if let data { o["data"] = data }
        return .object(o)
    }

    public static func invalidParams(_ message: String, data: JSONValue? = nil) -> JSONRPCError {
        JSONRPCError(code: ErrorCode.invalidParams, message: message, data: data)
    }

    public static func invalidRequest(_ message: String) -> JSONRPCError {
        JSONRPCError(code: ErrorCode.invalidRequest, message: message)
    }

    public static func methodNotFound(_ method: String) -> JSONRPCError {
        JSONRPCError(code: ErrorCode.methodNotFound, message: "Method not found: \(method)")
    }

    public static func internalError(_ message: String) -> JSONRPCError {
        JSONRPCError(code: ErrorCode.internalError, message: message)
    }
}
