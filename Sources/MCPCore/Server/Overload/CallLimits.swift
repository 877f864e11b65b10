import MCPRuntime

/// How much host work a server takes on at once, and how long it waits for
/// it: the overload protection of the engine's side (rate limits per client
/// are the HTTP transport's). Each limit refuses fast and says so.
public struct CallLimits: Sendable {
    /// Calls into host code (tools, resource reads, prompts, completions)
    /// received and not yet answered, across every session and transport.
    /// Beyond it a call is refused at once (HTTP 503 with Retry-After over
    /// HTTP; a JSON-RPC error elsewhere) while pings and other engine-answered
    /// requests keep being served: memory stays bounded however fast calls come.
    public var maxInFlight = 4096
    /// The Retry-After hint of that refusal.
    public var retryAfterMs = 1000
    /// Tool name -> milliseconds after which a tool call is answered with an
    /// error and its cancel callbacks run; "*" is the default for the others.
    /// No entry: no timeout (tools may legitimately run long; the in-flight
    /// bound keeps stuck ones from taking the server down).
    public var toolTimeoutsMs: [String: Int] = [:]
    /// Consecutive failures (JSON-RPC errors or timeouts; not isError
    /// results, which are the tool's answer) after which a tool's calls are
    /// refused for `breakerOpenMs`, then one probe call decides. 0: off.
    public var breakerFailures = 0
    public var breakerOpenMs = 30_000

    public init() {}

    func timeoutMs(forTool name: String) -> Int? { toolTimeoutsMs[name] ?? toolTimeoutsMs["*"] }

    /// The reason a call was refused or ended by a limit, in the error's data.
    enum Reason: String { case overloaded, timeout, circuitOpen = "circuit_open" }

    static func error(_ reason: Reason, _ message: String, retryAfterMs: Int? = nil, timeoutMs: Int? = nil) -> JSONRPCError {
        var data = JSONObject()
        data["reason"] = .string(reason.rawValue)
        if let r = retryAfterMs { data["retryAfterMs"] = .int(Int64(r)) }
        if let t = timeoutMs { data["timeoutMs"] = .int(Int64(t)) }
        return JSONRPCError(code: ErrorCode.internalError, message: message, data: .object(data))
    }
}

/// The count of calls in flight against `CallLimits.maxInFlight`.
final class CallGate: Sendable {
    let limit: Int
    private let count = LockedState(0)

    init(limit: Int) { self.limit = limit }

    var inFlight: Int { count.withLock { $0 } }
    var isFull: Bool { count.withLock { $0 >= limit } }

    func tryEnter() -> Bool {
        count.withLock { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    func leave() { count.withLock { $0 -= 1 } }
}
