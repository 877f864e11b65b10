internal import NIOCore
internal import NIOHTTP1
import MCPCore
import MCPRuntime

/// What every connection of a listener shares: the configuration, the engine,
/// the session table, the event store and the Host/Origin policy. `handle`
/// routes one complete request by path; the routes live in the extensions
/// (Streamable HTTP, legacy HTTP+SSE). Runs on event loops; never blocks.
final class HTTPEndpoint: Sendable {
    let config: HTTPServerConfig
    let core: ServerCore
    let sessions: SessionTable
    /// Sessions, stream events and tasks that outlive the process ("store").
    let store: any StateStore
    /// The same store as a FleetStore, when it is one: streams are numbered
    /// through it, so several processes can serve one session (FleetRelay).
    let fleet: FleetLink?
    let policy: OriginPolicy
    /// nil: no CORS (no "cors_allowed_origins").
    let cors: CORSPolicy?
    let connections: ConnectionRegistry
    let budget: BufferBudget
    /// nil: no per-client rate limit ("rate_limit").
    let rateLimiter: RateLimiter?
    /// nil: no "auth" (every request is served without a token).
    let authenticator: TokenAuthenticator?
    /// One refusal record a second per cause (HTTPEndpoint+Observe.swift).
    let refusalLog = LogThrottle()

    /// `store` nil: the memory store of the config's event bounds.
    init(config: HTTPServerConfig, core: ServerCore, store: (any StateStore)? = nil,
         authenticator: TokenAuthenticator? = nil)
    {
        self.config = config
        self.authenticator = authenticator
        self.core = core
        sessions = SessionTable(maxSessions: config.maxSessions)
        let chosen = store ?? MemoryStore(events: InMemoryEventStore(maxEventsPerSession: config.eventStoreMaxEvents,
                                                                      maxBytesPerSession: config.eventStoreMaxBytes))
        self.store = core.observer.map { ObservedStore(base: chosen, observer: $0) } ?? chosen
        let observer = core.observer
        fleet = (chosen as? any FleetStore).map { f in
            FleetLink(store: f, stored: { observer?.eventsStored($0) }, shared: chosen.isDurable)
        }
        policy = OriginPolicy(config: config)
        cors = CORSPolicy(config: config)
        connections = ConnectionRegistry(maxConnections: config.effectiveMaxConnections)
        budget = BufferBudget(limit: config.maxBufferedBytes)
        rateLimiter = config.rateLimit.map(RateLimiter.init(policy:))
    }

    func handle(_ request: HTTPRequest, sink: ResponseSink) {
        if let refusal = policy.check(request.head.headers) {
            return fail(sink, request, refusal.status, ErrorCode.invalidRequest, refusal.reason)
        }
        guard let auth = authenticator else { return route(request, sink: sink) }
        if serveResourceMetadata(request, sink: sink, auth: auth.config) { return }
        // A CORS preflight carries no credentials and does nothing.
        if request.head.method == .OPTIONS, cors != nil { return route(request, sink: sink) }
        authenticated(request, sink: sink, auth: auth) { [self] r in route(r, sink: sink) }
    }

    private func route(_ request: HTTPRequest, sink: ResponseSink) {
        switch request.path {
        case Substring(config.path):
            streamable(request, sink: sink)
        case Substring(config.ssePath) where !config.stateless:
            legacyStream(request, sink: sink)
        case Substring(config.messagesPath) where !config.stateless:
            legacyPost(request, sink: sink)
        case Substring(config.websocketPath):
            // Upgrade requests never get here: the upgrader takes them first.
            fail(sink, request, .upgradeRequired, ErrorCode.invalidRequest,
                 "WebSocket endpoint: send an Upgrade request with subprotocol \"mcp\"",
                 extra: [("Upgrade", "websocket"), ("Sec-WebSocket-Protocol", "mcp")])
        default:
            fail(sink, request, .notFound, ErrorCode.invalidRequest, "Not found: \(request.path)")
        }
    }

    // MARK: shared pieces

    static let jsonHeaders = HTTPHeaders([("Content-Type", "application/json")])
    static let sseHeaders = HTTPHeaders([("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"),
                                         ("X-Accel-Buffering", "no")])

    /// A JSON-RPC error without id, the body of every refusal.
    static func errorBody(code: Int64, _ message: String) -> [UInt8] {
        Message.errorResponse(id: nil, error: JSONRPCError(code: code, message: message)).serialized()
    }

    func fail(_ sink: ResponseSink, _ request: HTTPRequest, _ status: HTTPResponseStatus, _ code: Int64,
              _ message: String, extra: [(String, String)] = [])
    {
        var h = Self.jsonHeaders
        for (k, v) in extra { h.add(name: k, value: v) }
        refusal(status, method: request.header("mcp-method"), message)
        sink.respond(status: status, headers: h, body: Self.errorBody(code: code, message), version: request.head.version)
    }

    func respond(_ sink: ResponseSink, _ request: HTTPRequest, _ status: HTTPResponseStatus,
                 headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [])
    {
        sink.respond(status: status, headers: headers, body: body, version: request.head.version)
    }

    /// Parses a request body as JSON; on failure answers 400 with -32700.
    /// The estimated parsed size is charged to the buffer budget while it is
    /// parsed: past the budget 503, and 413 if it could never fit.
    func parseBody(_ request: HTTPRequest, sink: ResponseSink) -> JSONValue? {
        let parsed = request.body.withUnsafeReadableBytes { bytes -> Result<JSONValue, JSONParseError>? in
            let cost = BufferBudget.parseEstimate(bytes)
            guard admitParse(cost: cost, sink: sink, request: request) else { return nil }
            defer { budget.release(cost) }
            return Result { () throws(JSONParseError) in try JSONParser.parse(bytes, maxDepth: core.options.maxDepth) }
        }
        switch parsed {
        case .success(let v): return v
        case .failure(let e):
            fail(sink, request, .badRequest, ErrorCode.parseError, "Parse error: \(e)")
            return nil
        case nil: return nil
        }
    }

    /// Charges a parse of estimated `cost` to the budget, or answers the refusal.
    private func admitParse(cost: Int, sink: ResponseSink, request: HTTPRequest) -> Bool {
        if cost > budget.limit {
            fail(sink, request, .payloadTooLarge, ErrorCode.invalidRequest,
                 "Request body has too many JSON values: parsed it would take about \(cost) bytes, "
                     + "over the \(budget.limit)-byte buffer budget")
            return false
        }
        guard budget.charge(cost) else {
            busy(sink, request)
            return false
        }
        return true
    }

    /// 503 with Retry-After: the buffer budget is spent for now.
    func busy(_ sink: ResponseSink, _ request: HTTPRequest) {
        fail(sink, request, .serviceUnavailable, ErrorCode.internalError,
             "Server busy: request buffers are full (\(budget.limit)-byte budget); retry shortly",
             extra: [("Retry-After", "1")])
    }

    /// The Content-Type of a POST must be application/json (415 otherwise).
    func checkContentType(_ request: HTTPRequest, sink: ResponseSink) -> Bool {
        guard let type = request.header("content-type"), MediaType.first(of: type, is: "application/json") else {
            fail(sink, request, .unsupportedMediaType, ErrorCode.invalidRequest,
                 "Content-Type must be application/json")
            return false
        }
        return true
    }
}

/// What an Accept header allows.
struct AcceptedTypes {
    var json: Bool
    var sse: Bool

    init(_ header: String?) {
        guard let header, !header.isEmpty else {
            json = true
            sse = true
            return
        }
        // What the spec tells clients to send, and nearly all do: one
        // comparison instead of a parse (~1.2K instructions a request).
        if header == "application/json, text/event-stream" || header == "text/event-stream, application/json" {
            json = true
            sse = true
            return
        }
        var j = false
        var s = false
        MediaType.each(in: header) { type in
            if MediaType.matches(type, "*/*") {
                j = true
                s = true
            } else if MediaType.matches(type, "application/json") || MediaType.matches(type, "application/*") {
                j = true
            } else if MediaType.matches(type, "text/event-stream") || MediaType.matches(type, "text/*") {
                s = true
            }
        }
        json = j
        sse = s
    }
}

/// Media types in header values, compared without case, parameters or
/// blanks. Byte-level over the header's contiguous UTF-8 and allocation-free:
/// these run for every request (over Substring.UTF8View indices the Accept and
/// Content-Type checks cost ~6K instructions of a ~130K-instruction call).
enum MediaType {
    /// Calls `body` with each comma-separated item of a list (Accept).
    static func each(in header: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var h = header
        h.withUTF8 { all in
            var start = 0
            while start < all.count {
                var end = start
                while end < all.count, all[end] != UInt8(ascii: ",") { end += 1 }
                body(UnsafeBufferPointer(rebasing: all[start..<end]))
                start = end + 1
            }
        }
    }

    /// Whether the first type of a header value (Content-Type) is `type`.
    static func first(of header: String, is type: StaticString) -> Bool {
        var h = header
        return h.withUTF8 { all in
            var end = 0
            while end < all.count, all[end] != UInt8(ascii: ",") { end += 1 }
            return matches(UnsafeBufferPointer(rebasing: all[..<end]), type)
        }
    }

    /// Whether an item (up to its parameters, blanks skipped, any case) is
    /// `type`, which is given in lowercase.
    static func matches(_ item: UnsafeBufferPointer<UInt8>, _ type: StaticString) -> Bool {
        let want = UnsafeBufferPointer(start: type.utf8Start, count: type.utf8CodeUnitCount)
        var i = 0
        for b in item {
            if b == UInt8(ascii: ";") { break }
            if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { continue }
            guard i < want.count, (b >= 0x41 && b <= 0x5A ? b + 0x20 : b) == want[i] else { return false }
            i += 1
        }
        return i == want.count
    }
}
