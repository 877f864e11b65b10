import MCPRuntime

/// What a server reports about its own work, for its metrics: MCPCore tells
/// where requests arrive and are answered, the transports where bytes,
/// streams and refusals happen. Implemented outside MCPCore (MCPMetrics),
/// so the protocol engine depends on no metrics library.
///
/// Calls come on I/O event loops and workers, many at once: implementations
/// must be thread-safe and cheap (an atomic, a short lock), and must never
/// call back into the engine.
public protocol ServerObserver: AnyObject, Sendable {
    /// A request arrived and will be answered (or cancelled).
    func requestStarted()
    /// A request started with `requestStarted` ended: answered, or cancelled
    /// (`.cancelled`). `toolName` for tools/call; `nanoseconds` since arrival.
    func requestFinished(method: String, toolName: String?, era: ProtocolEra, outcome: RequestOutcome,
                         nanoseconds: UInt64)
    /// A request or connection turned away by the transport or a limit.
    /// `cause` is the HTTP status ("413", "503", ...) or a word ("auth").
    /// With `asRequest` it also counts as a request with outcome `refused`
    /// (a limit refused an MCP message; not a 404 for a stray path).
    func refused(cause: String, method: String?, asRequest: Bool)
    func bytesReceived(_ count: Int)
    func bytesSent(_ count: Int)
    func streamOpened(_ kind: StreamKind)
    func streamClosed(_ kind: StreamKind)
    func eventsStored(_ count: Int)
    func eventsReplayed(_ count: Int)
}

/// The two protocol eras a request can belong to (DESIGN.md, "The two eras").
public enum ProtocolEra: String, Sendable {
    case v2025 = "2025"
    case v2026 = "2026-07-28"
    /// Refused before its era was known.
    case unknown

    /// Every revision up to 2025-11-25 is the 2025 era; 2026-07-28 (and
    /// anything newer) the stateless era.
    public init(_ version: ProtocolVersion) {
        self = version <= .v2025_11_25 ? .v2025 : .v2026
    }
}

/// How a request ended.
public enum RequestOutcome: Sendable, Hashable {
    case ok
    /// A tools/call answered with `isError: true`.
    case toolError
    /// A JSON-RPC error answer, by code.
    case error(Int64)
    /// Cancelled (by the client, or the session closed) before an answer went out.
    case cancelled
    /// Turned away by a limit.
    case refused

    /// Classifies an answer (nil: none was sent).
    init(_ answer: Result<JSONValue, JSONRPCError>?, method: String) {
        switch answer {
        case nil: self = .cancelled
        case .failure(let e)?: self = .error(e.code)
        case .success(let r)?:
            self = method == "tools/call" && r["isError"] == .bool(true) ? .toolError : .ok
        }
    }
}

/// Kinds of long-lived streams a server holds open.
public enum StreamKind: String, Sendable, CaseIterable {
    case sse, websocket, stdio
}

/// A session's view of its server's observer: stamps each request on arrival
/// and adds the era (the session's, read when the request ends, so a session
/// whose first request decides its era is still counted right).
final class SessionObserver: Sendable {
    let base: any ServerObserver
    private let era: @Sendable () -> ProtocolEra

    init(base: any ServerObserver, era: @escaping @Sendable () -> ProtocolEra) {
        self.base = base
        self.era = era
    }

    /// Called where a request enters the peer; the stamp travels with it.
    func start(method: String, params: JSONObject) -> RequestStamp {
        base.requestStarted()
        let tool = method == "tools/call" ? params["name"]?.stringValue : nil
        return RequestStamp(started: MonotonicInstant.now().nanoseconds, toolName: tool)
    }

    /// Called where the request's answer is settled (sent, or dropped).
    func finish(_ request: InboundRequest, _ stamp: RequestStamp, _ answer: Result<JSONValue, JSONRPCError>?) {
        let elapsed = MonotonicInstant.now().nanoseconds &- stamp.started
        base.requestFinished(method: request.method, toolName: stamp.toolName, era: era(),
                             outcome: RequestOutcome(answer, method: request.method), nanoseconds: elapsed)
    }
}

/// When a request arrived, and the tool it names.
struct RequestStamp: Sendable {
    let started: UInt64
    let toolName: String?
}
