internal import NIOHTTP1
import MCPCore

extension HTTPEndpoint {
    /// The client a rate limit counts for: its principal when authenticated
    /// (the same party on any connection or session), else its session, else
    /// its address.
    func rateLimitKey(_ request: HTTPRequest) -> String {
        if let p = request.principal {
            return "p:" + [p.issuer ?? "", p.subject ?? "", p.clientID ?? ""].joined(separator: "\u{0}")
        }
        if let s = request.header("mcp-session-id") { return "s:" + s }
        return "a:" + (request.remoteAddress ?? "?")
    }

    /// Answers 429 with Retry-After when the client is over its rate; true then.
    func refusedByRateLimit(_ request: HTTPRequest, sink: ResponseSink) -> Bool {
        guard let limiter = rateLimiter, let wait = limiter.take(rateLimitKey(request)) else { return false }
        let retry = max(1, Int(wait.rounded(.up)))
        fail(sink, request, .tooManyRequests, ErrorCode.internalError,
             "Rate limit: at most \(limiter.policy.rate) requests per second (burst \(Int(limiter.policy.burst))); retry in \(retry) s",
             extra: [("Retry-After", String(retry))])
        return true
    }
}
