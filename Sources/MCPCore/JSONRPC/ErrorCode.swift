/// JSON-RPC error codes used by MCP. Wire data, named once here.
public enum ErrorCode {
    public static let parseError: Int64 = -32700
    public static let invalidRequest: Int64 = -32600
    public static let methodNotFound: Int64 = -32601
    public static let invalidParams: Int64 = -32602
    public static let internalError: Int64 = -32603
    public static let resourceNotFound: Int64 = -32002
    public static let urlElicitationRequired: Int64 = -32042
    /// 2026-07-28: HTTP headers missing or disagreeing with the body.
    public static let headerMismatch: Int64 = -32020
    /// 2026-07-28: the request needs a client capability its `_meta` lacks.
    public static let missingRequiredClientCapability: Int64 = -32021
    /// 2026-07-28: the request's protocol version is not served.
    public static let unsupportedProtocolVersion: Int64 = -32022

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
        case headerMismatch: return "Header mismatch"
        case missingRequiredClientCapability: return "Missing required client capability"
        case unsupportedProtocolVersion: return "Unsupported protocol version"
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

    public static func headerMismatch(_ message: String) -> JSONRPCError {
        JSONRPCError(code: ErrorCode.headerMismatch, message: "Header mismatch: \(message)")
    }

    /// UnsupportedProtocolVersionError: names what was asked and what is served.
    public static func unsupportedProtocolVersion(requested: String) -> JSONRPCError {
        let supported = ProtocolVersion.supportedNewestFirst.map { JSONValue.string($0.rawValue) }
        return JSONRPCError(
            code: ErrorCode.unsupportedProtocolVersion,
            message: "Unsupported protocol version: \(requested) (supported: "
                + ProtocolVersion.supportedNewestFirst.map(\.rawValue).joined(separator: ", ") + ")",
            data: .object(JSONObject(["supported": .array(supported), "requested": .string(requested)])))
    }

    /// MissingRequiredClientCapabilityError; `required` is a ClientCapabilities object.
    public static func missingClientCapability(_ required: JSONObject, _ message: String) -> JSONRPCError {
        JSONRPCError(code: ErrorCode.missingRequiredClientCapability, message: message,
                     data: .object(JSONObject(["requiredCapabilities": .object(required)])))
    }

    public static func internalError(_ message: String) -> JSONRPCError {
        JSONRPCError(code: ErrorCode.internalError, message: message)
    }
}
