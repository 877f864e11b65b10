import Glibc
import CMCP
import MCPCore

/// A failed C call: the status it returns and the message for *out_error.
struct ABIError: Error {
    var status: mcp_status
    var message: String

    static func invalidArgument(_ m: String) -> ABIError { ABIError(status: MCP_ERR_INVALID_ARG, message: m) }
    static func state(_ m: String) -> ABIError { ABIError(status: MCP_ERR_STATE, message: m) }

    init(status: mcp_status, message: String) {
        self.status = status
        self.message = message
    }

    init(_ e: DefinitionError) {
        switch e {
        case .invalid(let m): self.init(status: MCP_ERR_INVALID_ARG, message: m)
        case .duplicate(let m): self.init(status: MCP_ERR_EXISTS, message: m)
        case .notFound(let m): self.init(status: MCP_ERR_NOT_FOUND, message: m)
        }
    }

    init(_ e: CallFailure) {
        switch e {
        case .alreadyAnswered: self.init(status: MCP_ERR_STATE, message: "The call was already answered")
        case .invalidResult(let m): self.init(status: MCP_ERR_INVALID_ARG, message: m)
        case .invalidArgument(let m): self.init(status: MCP_ERR_INVALID_ARG, message: m)
        case .unsupported(let m): self.init(status: MCP_ERR_UNSUPPORTED, message: m)
        case .inputRequired:
            self.init(status: MCP_ERR_INPUT_REQUIRED,
                      message: "The client's input is needed: return from the handler; the call is answered with input_required")
        }
    }
}

/// A string the host will own, to be released with mcp_string_free.
func hostString(_ s: String) -> UnsafeMutablePointer<CChar>? {
    strdup(s)
}

/// Runs `body` and turns its outcome into a status and *out_error.
func withStatus(_ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                _ body: () throws(ABIError) -> Void) -> mcp_status
{
    outError?.pointee = nil
    do {
        try body()
        return MCP_OK
    } catch {
        outError?.pointee = hostString(error.message)
        return error.status
    }
}

/// A required C string argument, copied.
func requiredString(_ p: UnsafePointer<CChar>?, _ name: String) throws(ABIError) -> String {
    guard let p else { throw .invalidArgument("\(name) must not be NULL") }
    return String(cString: p)
}

/// A JSON argument; NULL gives nil.
func optionalJSON(_ p: UnsafePointer<CChar>?, _ name: String) throws(ABIError) -> JSONValue? {
    guard let p else { return nil }
    let r = Result { () throws(JSONParseError) in
        try JSONParser.parse(UnsafeRawBufferPointer(start: p, count: strlen(p)))
    }
    switch r {
    case .success(let v): return v
    case .failure(let e): throw ABIError(status: MCP_ERR_INVALID_JSON, message: "\(name) is not valid JSON: \(e)")
    }
}

func requiredObject(_ p: UnsafePointer<CChar>?, _ name: String) throws(ABIError) -> JSONObject {
    guard let p else { throw .invalidArgument("\(name) must not be NULL") }
    guard case .object(let o) = try optionalJSON(p, name) else {
        throw .invalidArgument("\(name) must be a JSON object")
    }
    return o
}

/// Calls `body` with a NUL-terminated copy of a JSON value's text.
func withJSONText<R>(_ value: JSONValue, _ body: (UnsafePointer<CChar>) -> R) -> R {
    var bytes = JSONSerializer.bytes(value, extra: 1)
    bytes.append(0)
    return bytes.withUnsafeBufferPointer { buf in
        buf.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
    }
}
