internal import NIOHTTP1

/// The admin listener's routes: the status page, metrics, liveness, readiness. Readiness: the listener is bound and
/// not draining, and the owner's own checks pass (the worker queue).
enum AdminRoutes {
    static func answer(_ path: String, transport: HTTPServerTransport?, source: AdminSource?) -> AdminResponse {
        switch path {
        case "/", "/index.html":
            return AdminResponse(status: .ok, contentType: "text/html; charset=utf-8", body: StatusPage.html)
        case "/metrics":
            return AdminResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                 body: source?.metrics() ?? "")
        case "/healthz":
            return .json(.ok, #"{"status":"alive"}"#)
        case "/readyz":
            var reasons = transport?.notReady ?? ["not listening"]
            reasons += source?.notReady() ?? []
            if reasons.isEmpty { return .json(.ok, #"{"status":"ready"}"#) }
            let list = reasons.map { "\"\($0.replacingQuotes())\"" }.joined(separator: ",")
            return .json(.serviceUnavailable, #"{"status":"not ready","reasons":["# + list + "]}")
        default:
            return .json(.notFound, #"{"error":"not found: use /, /metrics, /healthz or /readyz"}"#)
        }
    }
}

private extension String {
    /// Reasons are the engine's own words; quotes and backslashes are dropped
    /// rather than escaped, to keep the JSON valid whatever they say.
    func replacingQuotes() -> String { String(filter { $0 != "\"" && $0 != "\\" && $0 >= " " }) }
}
