internal import NIOCore
internal import NIOHTTP1
import MCPCore

// The 2026-07-28 side of the Streamable HTTP endpoint: every request is its
// own POST, served without a session; its answer is JSON, or an SSE stream
// once the call sends progress or logs before it. Check order (NOTES.md):
// transport (403, 413, 415, 406: already done), headers against the body
// (-32020), the version (-32022), then the engine: envelope (-32602), method
// (-32601, 404), capabilities (-32021), params.
extension HTTPEndpoint {
    /// Whether a POST is of the stateless revision: its body's `_meta` names a
    /// protocol version, or its MCP-Protocol-Version header names the modern
    /// revision. A header naming an unknown version decides by the session id:
    /// with one, the request belongs to that 2025 session (400 there, as
    /// before); without, it is answered as modern (-32022 naming the versions
    /// served).
    func isModern(_ request: HTTPRequest, _ single: Message?) -> Bool {
        if case .request(_, _, let params)? = single, ModernContext.isModern(params?["_meta"]?.objectValue) { return true }
        if case .notification(_, let params)? = single, ModernContext.isModern(params?["_meta"]?.objectValue) { return true }
        guard let text = request.header("mcp-protocol-version") else { return false }
        guard let v = ProtocolVersion(rawValue: text.trimmingOWS()) else {
            return request.header("mcp-session-id") == nil
        }
        return v.isModern
    }

    /// A GET or DELETE naming the modern revision: the stateless revision
    /// has no GET stream and no session to end.
    func namesModernVersion(_ request: HTTPRequest) -> Bool {
        guard let text = request.header("mcp-protocol-version"),
              let v = ProtocolVersion(rawValue: text.trimmingOWS()) else { return false }
        return v.isModern
    }

    func modernOnlyPost(_ request: HTTPRequest, sink: ResponseSink) {
        fail(sink, request, .methodNotAllowed, ErrorCode.invalidRequest,
             "Protocol revision 2026-07-28 serves POST only (no GET stream, no sessions)", extra: [("Allow", "POST")])
    }

    func postModern(_ request: HTTPRequest, _ value: JSONValue, _ single: Message?, accept: AcceptedTypes,
                    sink: ResponseSink)
    {
        let id: RequestID
        let method: String
        let params: JSONObject?
        let message: Message
        switch single {
        case .request(let i, let m, let p)?:
            (id, method, params) = (i, m, p?.objectValue)
            message = .request(id: i, method: m, params: p)
        case .notification?:
            // No client notification is defined over HTTP at this revision
            // (closing the stream cancels); accepted and ignored.
            return respond(sink, request, .accepted)
        default:
            return fail(sink, request, .badRequest, ErrorCode.invalidRequest,
                        "A 2026-07-28 POST carries one JSON-RPC request or notification (no batches, no responses)")
        }
        // Looked up once: both checks below read it (each lookup scans
        // every header without case, ~400 instructions).
        let versionHeader = request.header("mcp-protocol-version")
        if let mismatch = HeaderCheck.validate(method: method, params: params, server: core, header: { name in
            name == "mcp-protocol-version" ? versionHeader : request.header(name)
        }) {
            return answer(sink, request, id: id, mismatch)
        }
        if let text = versionHeader?.trimmingOWS(),
           !(ProtocolVersion(rawValue: text)?.isModern ?? false)
        {
            var e = JSONRPCError.unsupportedProtocolVersion(requested: text)
            e.message = "Unsupported MCP-Protocol-Version: " + e.message.dropFirst("Unsupported protocol version: ".count)
            return answer(sink, request, id: id, e)
        }
        // JSON first when the client takes it: a message sent before the
        // answer turns the response into an SSE stream (PostChannel).
        let channel = PostChannel(sink: sink, streams: nil, version: request.head.version, json: accept.json,
                                  primes: { false },
                                  errorStatus: Self.modernStatus, principal: request.principal,
                                  traceHeaders: request.traceHeaders,
                                  spanTransport: request.spanTransport)
        let session = core.makeModernSession(defaultChannel: channel)
        // A closed response stream cancels its request (the spec's cancellation).
        sink.onDone { session.close() }
        session.receive(message, channel: channel)
        if !accept.json { channel.openStream() }
    }

    /// An error answered before the engine sees the request, with its id.
    private func answer(_ sink: ResponseSink, _ request: HTTPRequest, id: RequestID, _ error: JSONRPCError) {
        respond(sink, request, Self.modernStatus(error.code), headers: Self.jsonHeaders,
                body: Message.errorResponse(id: id, error: error).serialized())
    }

    /// The HTTP status of a 2026-07-28 error answer: 400 for malformed or
    /// refused requests (header mismatch, version, envelope, capability,
    /// params), 404 for an unknown or removed method, 200 for the rest
    /// (the error is the request's outcome, not the transport's).
    static func modernStatus(_ code: Int64) -> HTTPResponseStatus {
        switch code {
        case ErrorCode.methodNotFound: return .notFound
        case ErrorCode.parseError, ErrorCode.invalidRequest, ErrorCode.invalidParams, ErrorCode.headerMismatch,
             ErrorCode.missingRequiredClientCapability, ErrorCode.unsupportedProtocolVersion:
            return .badRequest
        default: return .ok
        }
    }
}
