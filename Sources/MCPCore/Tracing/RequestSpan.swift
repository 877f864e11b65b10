import Glibc
import Synchronization
import W3CTraceContext

/// A span's role, as OpenTelemetry names it: `client` for a request this
/// side sent (until its answer), `server` for one it received (until it
/// answered).
public enum SpanKind: String, Sendable {
    case client, server
}

/// One request's span while it runs: its identity (W3C trace context), its
/// parent, start time and the attributes known at the start. Ended once,
/// from any thread, by whoever settles the request; the end turns it into a
/// `SpanRecord` for the hook. Exists only while tracing is on.
final class RequestSpan: Sendable {
    /// This span's context: what goes into `traceparent` of requests made on its behalf.
    let context: TraceContext
    let parentSpanID: SpanID?
    /// The parent came from the other end (`_meta` or an HTTP header).
    let remoteParent: Bool
    let kind: SpanKind
    let name: String
    let method: String
    let startNanos: Int64
    let attributes: [(String, SpanValue)]
    private let ended = Atomic<Bool>(false)

    /// Starts a span for `method` with `params`. `parent`: the context it
    /// continues (nil: a new trace); `scope` gives the session's revision and
    /// id; `transport` how the request travels (nil: the scope's).
    init(kind: SpanKind, method: String, params: JSONObject?, id: RequestID?, parent: TraceContext?,
         remoteParent: Bool, scope: TraceScope, transport: SpanTransport? = nil)
    {
        self.kind = kind
        self.method = method
        self.remoteParent = parent != nil && remoteParent
        parentSpanID = parent?.spanID
        var ids = SpanIDGenerator()
        context = TraceContext(traceID: parent?.traceID ?? .random(using: &ids), spanID: .random(using: &ids),
                               flags: parent?.flags ?? .sampled, state: parent?.state ?? TraceState())
        startNanos = Self.now()
        let described = SpanConventions.describe(method: method, params: params, id: id, scope: scope)
        name = described.name
        attributes = described.attributes + ((transport ?? scope.transport)?.attributes(for: kind) ?? [])
    }

    /// The `traceparent` that makes the other end's span a child of this one.
    var traceParent: String { context.traceParentHeaderValue }
    var traceState: String? { context.traceStateHeaderValue }

    /// Ends the span with `failure` (nil: it succeeded) and hands it to the
    /// hook. Only the first end counts.
    func end(_ failure: SpanFailure?) {
        guard !ended.exchange(true, ordering: .relaxed) else { return }
        Tracing.emit(SpanRecord(span: self, end: Self.now(), failure: failure))
    }

    /// Wall-clock time in nanoseconds since 1970 (OpenTelemetry's time base).
    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }
}

/// The revision and session a span belongs to, asked when it starts. A
/// session made while tracing was off has `.none` (its spans lack both).
struct TraceScope: Sendable {
    /// The session's negotiated revision (a modern request's own `_meta` wins).
    var protocolVersion: @Sendable () -> String?
    /// The 2025-era session's id (nil for stateless requests).
    var sessionID: @Sendable () -> String?
    /// How this side's requests travel (a client's connection); a received
    /// request's own channel says how it came.
    var transport: SpanTransport? = nil

    static let none = TraceScope(protocolVersion: { nil }, sessionID: { nil })
}

/// An attribute value: OpenTelemetry attributes here are strings or integers.
public enum SpanValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
}

/// How a request failed, for `error.type` and the span's status.
struct SpanFailure: Sendable {
    /// `error.type`: the JSON-RPC code as text, or a word (tool_error, timeout, cancelled, ...).
    var type: String
    /// The JSON-RPC code, when the other end answered with an error (`rpc.response.status_code`).
    var code: Int64?
    /// The status description: the JSON-RPC error message, when there is one.
    var message: String?
}

/// A finished span, as handed to the host.
public struct SpanRecord: Sendable {
    public let traceID: String
    public let spanID: String
    public let parentSpanID: String?
    public let remoteParent: Bool
    public let traceFlags: UInt8
    public let traceState: String?
    public let name: String
    public let kind: SpanKind
    public let startNanos: Int64
    public let endNanos: Int64
    public let attributes: [(String, SpanValue)]
    /// nil: status unset (success); else the status is error, with this description.
    public let errorMessage: String?
    public let failed: Bool

    init(span: RequestSpan, end: Int64, failure: SpanFailure?) {
        traceID = span.context.traceID.description
        spanID = span.context.spanID.description
        parentSpanID = span.parentSpanID?.description
        remoteParent = span.remoteParent
        traceFlags = span.context.flags.rawValue
        traceState = span.traceState
        name = span.name
        kind = span.kind
        startNanos = span.startNanos
        endNanos = max(end, span.startNanos)
        var attributes = span.attributes
        if let failure {
            attributes.append(("error.type", .string(failure.type)))
            if let code = failure.code { attributes.append(("rpc.response.status_code", .string(String(code)))) }
        }
        self.attributes = attributes
        failed = failure != nil
        errorMessage = failure.map { $0.message ?? $0.type }
    }

    /// The span as one JSON object (the shape mcp.h documents for mcp_set_trace_hook).
    public var json: JSONValue {
        var o = JSONObject()
        o["traceId"] = .string(traceID)
        o["spanId"] = .string(spanID)
        if let parentSpanID { o["parentSpanId"] = .string(parentSpanID) }
        o["parentIsRemote"] = .bool(remoteParent)
        o["traceFlags"] = .int(Int64(traceFlags))
        if let traceState { o["traceState"] = .string(traceState) }
        o["name"] = .string(name)
        o["kind"] = .string(kind.rawValue)
        o["startTimeUnixNano"] = .int(startNanos)
        o["endTimeUnixNano"] = .int(endNanos)
        var a = JSONObject()
        for (k, v) in attributes {
            switch v {
            case .string(let s): a[k] = .string(s)
            case .int(let i): a[k] = .int(i)
            }
        }
        o["attributes"] = .object(a)
        var status = JSONObject()
        status["code"] = .string(failed ? "error" : "unset")
        if let errorMessage { status["message"] = .string(errorMessage) }
        o["status"] = .object(status)
        return .object(o)
    }
}
