import W3CTraceContext

/// The OpenTelemetry semantic conventions for MCP (gen-ai/mcp.md of
/// semantic-conventions-genai; attribute names as in swift-otel's
/// semantic-conventions 1.44): span names, attributes, `error.type`, and
/// the trace context carried in `params._meta` (SEP-414).
enum SpanConventions {
    static let traceParentKey = "traceparent"
    static let traceStateKey = "tracestate"

    /// `{mcp.method.name} {target}` (the tool or prompt name) and the
    /// attributes known when the request starts.
    static func describe(method: String, params: JSONObject?, id: RequestID?, scope: TraceScope)
        -> (name: String, attributes: [(String, SpanValue)])
    {
        var a: [(String, SpanValue)] = [("mcp.method.name", .string(method))]
        var name = method
        if let id {
            switch id {
            case .int(let i): a.append(("jsonrpc.request.id", .string(String(i))))
            case .string(let s): a.append(("jsonrpc.request.id", .string(s)))
            }
        }
        switch method {
        case "tools/call":
            if let tool = params?["name"]?.stringValue {
                a.append(("gen_ai.tool.name", .string(tool)))
                name += " " + tool
            }
            a.append(("gen_ai.operation.name", .string("execute_tool")))
        case "prompts/get":
            if let prompt = params?["name"]?.stringValue {
                a.append(("gen_ai.prompt.name", .string(prompt)))
                name += " " + prompt
            }
        case "resources/read", "resources/subscribe", "resources/unsubscribe":
            if let uri = params?["uri"]?.stringValue { a.append(("mcp.resource.uri", .string(uri))) }
        default:
            break
        }
        let meta = params?["_meta"]?.objectValue
        if let version = meta?[ModernProtocol.protocolVersionKey]?.stringValue ?? scope.protocolVersion() {
            a.append(("mcp.protocol.version", .string(version)))
        }
        if let session = scope.sessionID(), !session.isEmpty { a.append(("mcp.session.id", .string(session))) }
        return (name, a)
    }

    /// The W3C trace context in a request's `_meta`, if it is well formed
    /// (one that is not is ignored, as W3C Trace Context says: a new trace starts).
    static func parent(in meta: JSONObject?) -> TraceContext? {
        guard let tp = meta?[traceParentKey]?.stringValue else { return nil }
        return parent(traceParent: tp, traceState: meta?[traceStateKey]?.stringValue)
    }

    static func parent(traceParent: String, traceState: String?) -> TraceContext? {
        if let ctx = try? TraceContext(traceParentHeaderValue: traceParent, traceStateHeaderValue: traceState) {
            return ctx
        }
        // A tracestate that does not parse is dropped, not the traceparent.
        return try? TraceContext(traceParentHeaderValue: traceParent)
    }

    /// `params` with `_meta.traceparent` (and `tracestate`) naming `span`.
    static func inject(_ span: RequestSpan, into params: JSONObject?) -> JSONObject {
        var p = params ?? JSONObject()
        var meta = p["_meta"]?.objectValue ?? JSONObject()
        meta[traceParentKey] = .string(span.traceParent)
        if let state = span.traceState { meta[traceStateKey] = .string(state) } else { meta.removeValue(forKey: traceStateKey) }
        p["_meta"] = .object(meta)
        return p
    }

    /// How a request we answered ended, for its server span (nil: success).
    static func failure(answered outcome: Result<JSONValue, JSONRPCError>?, method: String) -> SpanFailure? {
        switch outcome {
        case nil: return SpanFailure(type: "cancelled", code: nil, message: "cancelled before an answer was sent")
        case .failure(let e)?: return SpanFailure(type: String(e.code), code: e.code, message: e.message)
        case .success(let r)?: return toolError(r, method: method)
        }
    }

    /// How a request we sent ended, for its client span (nil: success).
    static func failure(received outcome: Result<JSONValue, RequestFailure>, method: String) -> SpanFailure? {
        switch outcome {
        case .success(let r): return toolError(r, method: method)
        case .failure(let f):
            switch f {
            case .peer(let e): return SpanFailure(type: String(e.code), code: e.code, message: e.message)
            case .timeout: return SpanFailure(type: "timeout", message: "no answer in time")
            case .cancelled: return SpanFailure(type: "cancelled", message: "cancelled")
            case .closed: return SpanFailure(type: "closed", message: "the connection closed before an answer")
            case .lost(let why): return SpanFailure(type: "closed", message: why)
            case .unsupported(let why): return SpanFailure(type: "unsupported", message: why)
            case .limit(let why): return SpanFailure(type: "limit", message: why)
            }
        }
    }

    /// A tools/call result with `isError: true` is `error.type` tool_error.
    private static func toolError(_ result: JSONValue, method: String) -> SpanFailure? {
        guard method == "tools/call", result["isError"] == .bool(true) else { return nil }
        return SpanFailure(type: "tool_error", message: "the tool reported an error")
    }
}

extension SpanFailure {
    init(type: String, message: String?) { self.init(type: type, code: nil, message: message) }
}
