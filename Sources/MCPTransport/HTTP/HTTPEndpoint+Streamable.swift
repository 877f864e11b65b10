internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOHTTP1
import MCPCore

// The Streamable HTTP endpoint of revision 2025-11-25: POST carries client
// messages, GET opens (or resumes) a server stream, DELETE ends a session.
extension HTTPEndpoint {
    func streamable(_ request: HTTPRequest, sink: ResponseSink) {
        if request.head.method == .POST, refusedByRateLimit(request, sink: sink) { return }
        switch request.head.method {
        case .POST: post(request, sink: sink)
        case .GET: get(request, sink: sink)
        case .DELETE: delete(request, sink: sink)
        default:
            let methods = config.stateless ? "POST" : "GET, POST, DELETE"
            if request.head.method == .OPTIONS, let cors {
                return preflight(request, sink: sink, cors: cors, methods: methods)
            }
            fail(sink, request, .methodNotAllowed, ErrorCode.invalidRequest, "Method not allowed",
                 extra: [("Allow", methods)])
        }
    }

    /// The MCP-Protocol-Version header: nil when absent (a session's own
    /// revision then applies; without a session 2025-03-26 is assumed), a 400
    /// already sent when unsupported.
    private func protocolVersion(_ request: HTTPRequest, sink: ResponseSink) -> ProtocolVersion?? {
        guard let text = request.header("mcp-protocol-version") else { return .some(nil) }
        guard let v = ProtocolVersion(rawValue: text) ?? ProtocolVersion(rawValue: text.trimmingOWS()) else {
            fail(sink, request, .badRequest, ErrorCode.invalidRequest,
                 "Unsupported MCP-Protocol-Version: \(text) (supported: \(ProtocolVersion.allCases.map(\.rawValue).joined(separator: ", ")))")
            return nil
        }
        return .some(v)
    }

    /// The session a request names in Mcp-Session-Id: 400 when missing, 404 when
    /// unknown, 400 when `version` (its MCP-Protocol-Version) is not the revision
    /// the session negotiated. No header is no conflict: the session itself
    /// tells which revision is spoken, the "other way to identify the version"
    /// that the assumption of 2025-03-26 gives way to.
    private func session(_ request: HTTPRequest, version: ProtocolVersion?, sink: ResponseSink) -> HTTPSession? {
        guard let id = request.header("mcp-session-id") else {
            fail(sink, request, .badRequest, ErrorCode.invalidRequest, "Missing Mcp-Session-Id header")
            return nil
        }
        let found: HTTPSession?
        if let cached = sessions.get(id) {
            found = isCurrent(cached, request, sink: sink) ? cached : nil
        } else {
            found = restoredSession(id, request, sink: sink)
        }
        guard let s = found else { return nil }
        guard s.streams != nil, ownsSession(request, s) else {
            fail(sink, request, .notFound, ErrorCode.invalidRequest, "Session not found (it ended or expired)")
            return nil
        }
        if let version {
            let negotiated = s.core.protocolVersion
            if version != negotiated {
                versionMismatch(request, sent: version, negotiated: negotiated, sink: sink)
                return nil
            }
        }
        return s
    }

    /// A session this process does not hold, read back from the durable
    /// store (another process made it, or this one before a restart); a 404
    /// already sent when there is none, a 503 when the store fails.
    private func restoredSession(_ id: String, _ request: HTTPRequest, sink: ResponseSink) -> HTTPSession? {
        let notFound = { [self] in
            fail(sink, request, .notFound, ErrorCode.invalidRequest, "Session not found (it ended or expired)")
        }
        guard store.isDurable else {
            notFound()
            return nil
        }
        let restored: HTTPSession?
        do throws(StoreError) {
            guard let record = try store.loadSession(id) else {
                notFound()
                return nil
            }
            restored = try HTTPSession(restoring: record, server: core, store: store, retryMs: config.sseRetryMs,
                                       fleet: fleet)
        } catch {
            storeUnavailable(request, error, sink: sink)
            return nil
        }
        guard let restored else {
            notFound()
            return nil
        }
        guard let kept = sessions.adopt(restored) else {
            restored.close(forget: false)
            fail(sink, request, .serviceUnavailable, ErrorCode.internalError,
                 "Too many sessions (limit \(config.maxSessions)); try again later")
            return nil
        }
        // Another request restored it first: this copy goes, the stored state stays.
        if kept !== restored { restored.close(forget: false) }
        return kept
    }

    /// Whether a session this process holds is still current: with a durable
    /// store another process may have ended it (DELETE) or changed its log
    /// level or subscriptions, so its record is read again (one indexed read
    /// per request). A 404 or 503 already sent when not.
    private func isCurrent(_ s: HTTPSession, _ request: HTTPRequest, sink: ResponseSink) -> Bool {
        guard store.isDurable, s.streams != nil else { return true }
        do throws(StoreError) {
            guard let record = try store.loadSession(s.id) else {
                if sessions.remove(s.id) === s { s.close(forget: false) }
                fail(sink, request, .notFound, ErrorCode.invalidRequest, "Session not found (it ended or expired)")
                return false
            }
            s.core.refresh(from: record)
            return true
        } catch {
            storeUnavailable(request, error, sink: sink)
            return false
        }
    }

    /// 503 with a JSON-RPC -32603 naming what the store said.
    func storeUnavailable(_ request: HTTPRequest, _ error: StoreError, sink: ResponseSink) {
        fail(sink, request, .serviceUnavailable, ErrorCode.internalError, error.rpcError.message,
             extra: [("Retry-After", "1")])
    }

    /// True (503 sent) when a durable store cannot serve now: requests that
    /// need it are refused up front rather than failing half-way.
    func refusedForStore(_ request: HTTPRequest, sink: ResponseSink) -> Bool {
        guard store.isDurable else { return false }
        do throws(StoreError) {
            try store.check()
            return false
        } catch {
            storeUnavailable(request, error, sink: sink)
            return true
        }
    }

    /// 400 for a request whose MCP-Protocol-Version is another supported
    /// revision than its session's; the error names both (also in `data`).
    private func versionMismatch(_ request: HTTPRequest, sent: ProtocolVersion, negotiated: ProtocolVersion,
                                 sink: ResponseSink)
    {
        let error = JSONRPCError(
            code: ErrorCode.invalidRequest,
            message: "MCP-Protocol-Version \(sent.rawValue) does not match the protocol version"
                + " this session negotiated, \(negotiated.rawValue)",
            data: .object(JSONObject(["received": .string(sent.rawValue), "negotiated": .string(negotiated.rawValue)])))
        respond(sink, request, .badRequest, headers: Self.jsonHeaders,
                body: Message.errorResponse(id: nil, error: error).serialized())
    }

    // MARK: POST

    private func post(_ request: HTTPRequest, sink: ResponseSink) {
        guard checkContentType(request, sink: sink) else { return }
        let accept = AcceptedTypes(request.header("accept"))
        guard accept.json || accept.sse else {
            return fail(sink, request, .notAcceptable, ErrorCode.invalidRequest,
                        "Accept must include application/json or text/event-stream")
        }
        let json = accept.json && (config.jsonResponse || !accept.sse)
        guard let value = parseBody(request, sink: sink) else { return }
        // A single message is decoded once, here (a batch is left to the engine).
        var single: Message?
        if value.arrayValue == nil {
            do throws(MessageError) {
                single = try Message(json: value)
            } catch {
                return respond(sink, request, .badRequest, headers: Self.jsonHeaders,
                               body: Message.errorResponse(id: error.id, error: error.error).serialized())
            }
        }
        // Overload: a call into host code beyond the server's bound on calls
        // in flight is refused before any session work (pings still pass).
        if case .request(_, let method, _)? = single, ServerCore.callsHost(method), core.isAtCallLimit {
            let retry = max(1, (core.callRetryAfterMs + 999) / 1000)
            return fail(sink, request, .serviceUnavailable, ErrorCode.internalError,
                        "Server overloaded: too many calls in flight; retry in \(retry) s",
                        extra: [("Retry-After", String(retry))])
        }
        if refusedForScope(request, value, single, sink: sink) { return }
        // Both eras share the endpoint: a 2026-07-28 request is served
        // statelessly, whatever session id it carries.
        if isModern(request, single) {
            return postModern(request, value, single, accept: accept, sink: sink)
        }
        guard let headerVersion = protocolVersion(request, sink: sink) else { return }
        if config.stateless {
            return postStateless(request, value, version: headerVersion ?? .v2025_03_26, json: json, sink: sink)
        }
        if refusedForStore(request, sink: sink) { return }
        if Message.isInitializeRequest(value), request.header("mcp-session-id") == nil {
            return initialize(request, value, json: json, sink: sink)
        }
        guard let s = session(request, version: headerVersion, sink: sink) else { return }
        s.begin()
        sink.onDone { s.end() }
        let channel = PostChannel(sink: sink, streams: s.streams, version: request.head.version, json: json,
                                  primes: { s.core.protocolVersion >= .v2025_11_25 },
                                  principal: request.principal, traceHeaders: request.traceHeaders,
                                  spanTransport: request.spanTransport, requests: Self.requestIDs(single, value))
        let answers = single.map { s.core.receive($0, channel: channel) } ?? s.core.receive(value, channel: channel)
        if answers == 0 {
            respond(sink, request, .accepted)
        } else if !json {
            channel.openStream()
        }
    }

    /// The ids of the requests in a POST body (one message or a batch).
    static func requestIDs(_ single: Message?, _ value: JSONValue) -> [JSONValue] {
        if let single {
            if case .request(let id, _, _) = single { return [id.json] }
            return []
        }
        return (value.arrayValue ?? []).compactMap { item in
            guard let o = item.objectValue, o["method"] != nil, let id = o["id"], id != .null else { return nil }
            return id
        }
    }

    /// initialize without a session id opens a session; it is kept (and its
    /// id sent in Mcp-Session-Id) only if the engine accepted the initialize.
    private func initialize(_ request: HTTPRequest, _ value: JSONValue, json: Bool, sink: ResponseSink) {
        guard sessions.reserve() else {
            return fail(sink, request, .serviceUnavailable, ErrorCode.internalError,
                        "Too many sessions (limit \(config.maxSessions)); try again later")
        }
        let s = HTTPSession(server: core, store: store, retryMs: config.sseRetryMs, owner: request.principal,
                            fleet: fleet)
        let kept = NIOLockedValueBox<Bool?>(nil)
        let table = sessions
        // Runs when the answer's head is written (or the response ends first).
        let decide: @Sendable () -> HTTPHeaders = {
            let keep = kept.withLockedValue { k -> Bool? in
                if k != nil { return nil }
                k = s.core.isInitialized
                return k
            }
            guard let keep else { return HTTPHeaders() }
            table.commit(keep ? s : nil)
            return keep ? HTTPHeaders([("Mcp-Session-Id", s.id)]) : HTTPHeaders()
        }
        s.begin()
        sink.onDone {
            _ = decide()
            s.end()
            // A refused initialize leaves no session behind (closed only now,
            // so its error answer was still written).
            if kept.withLockedValue({ $0 }) == false { s.close() }
        }
        // The head waits for the answer (immediate for initialize), so it can carry the id.
        let channel = PostChannel(sink: sink, streams: s.streams, version: request.head.version, json: json,
                                  primes: { s.core.protocolVersion >= .v2025_11_25 }, extraHeaders: decide,
                                  principal: request.principal, traceHeaders: request.traceHeaders,
                                  spanTransport: request.spanTransport)
        s.core.receive(value, channel: channel)
    }

    /// Stateless: a fresh engine session per POST, closed with the response.
    private func postStateless(_ request: HTTPRequest, _ value: JSONValue, version: ProtocolVersion, json: Bool,
                               sink: ResponseSink)
    {
        let channel = PostChannel(sink: sink, streams: nil, version: request.head.version, json: json,
                                  primes: { false }, principal: request.principal,
                                  traceHeaders: request.traceHeaders,
                                  spanTransport: request.spanTransport)
        let session = core.makeStatelessSession(defaultChannel: channel, version: version)
        // A client gone before its answer cannot come back for it: cancel.
        sink.onDone { session.close() }
        let answers = session.receive(value, channel: channel)
        if answers == 0 {
            respond(sink, request, .accepted)
        } else if !json {
            channel.openStream()
        }
    }

    // MARK: GET

    private func get(_ request: HTTPRequest, sink: ResponseSink) {
        if namesModernVersion(request) { return modernOnlyPost(request, sink: sink) }
        guard !config.stateless, config.enableGetStream else {
            return fail(sink, request, .methodNotAllowed, ErrorCode.invalidRequest,
                        "This server offers no standalone GET stream", extra: [("Allow", config.stateless ? "POST" : "POST, DELETE")])
        }
        guard AcceptedTypes(request.header("accept")).sse else {
            return fail(sink, request, .notAcceptable, ErrorCode.invalidRequest, "Accept must include text/event-stream")
        }
        guard !refusedForStore(request, sink: sink), let version = protocolVersion(request, sink: sink),
              let s = session(request, version: version, sink: sink), let streams = s.streams
        else { return }
        let head = HTTPResponseHead(version: request.head.version, status: .ok, headers: Self.sseHeaders)
        s.begin()
        sink.onDone { s.end() }
        if let last = request.header("last-event-id") {
            guard let id = EventID(last.trimmingOWS()) else {
                return fail(sink, request, .badRequest, ErrorCode.invalidRequest, "Malformed Last-Event-ID: \(last)")
            }
            sink.isLongLived = id.stream == 0
            switch streams.resume(after: id, sink: sink, head: head) {
            case .resumed: break
            case .unknown:
                fail(sink, request, .badRequest, ErrorCode.invalidRequest,
                     "Cannot resume after event \(last): unknown, or no longer stored")
            case .storeFailed(let error):
                storeUnavailable(request, error, sink: sink)
            }
            return
        }
        sink.isLongLived = true
        let primes = s.core.protocolVersion >= .v2025_11_25
        if !streams.attachStandalone(sink: sink, head: head, prime: primes) {
            fail(sink, request, .conflict, ErrorCode.invalidRequest, "A GET stream is already open for this session")
        }
    }

    // MARK: DELETE

    private func delete(_ request: HTTPRequest, sink: ResponseSink) {
        if namesModernVersion(request) { return modernOnlyPost(request, sink: sink) }
        guard !config.stateless else {
            return fail(sink, request, .methodNotAllowed, ErrorCode.invalidRequest,
                        "Stateless server: there is no session to end", extra: [("Allow", "POST")])
        }
        guard let version = protocolVersion(request, sink: sink),
              let s = session(request, version: version, sink: sink)
        else { return }
        _ = sessions.remove(s.id)
        s.close()
        respond(sink, request, .ok)
    }
}
