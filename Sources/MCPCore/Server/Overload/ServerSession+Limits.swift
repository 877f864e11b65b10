import MCPRuntime

extension ServerSession {
    /// Applies the call limits to a call about to run host code: the bound
    /// on calls in flight, the tool's circuit breaker, the tool's timeout.
    /// False (and the request answered) when the call is refused.
    func admit(_ request: InboundRequest, kind: ServerCall.Kind) -> Bool {
        let limits = server.options.callLimits
        let tool: String?
        if case .tool(let name) = kind { tool = name } else { tool = nil }
        guard server.callGate.tryEnter() else {
            reply(request, .failure(CallLimits.error(.overloaded,
                "Server overloaded: \(server.callGate.limit) calls in flight; retry later",
                retryAfterMs: limits.retryAfterMs)))
            return false
        }
        if let tool, let wait = server.breakers.admit(tool) {
            server.callGate.leave()
            reply(request, .failure(CallLimits.error(.circuitOpen,
                "Tool \(tool) is failing: its calls are refused for another \(wait) ms", retryAfterMs: wait)))
            return false
        }
        let server = self.server
        // The timer may be armed after a quick answer: whichever comes second cancels it.
        let timer = LockedState<(token: TimerToken?, settled: Bool)>((nil, false))
        request.whenSettled { outcome in
            server.callGate.leave()
            if let t = timer.withLock({ s -> TimerToken? in s.settled = true; return s.token }) {
                server.scheduler.cancel(t)
            }
            guard let tool else { return }
            if case .failure = outcome { server.breakers.record(tool, failed: true) } else {
                server.breakers.record(tool, failed: false)
            }
        }
        if let tool, let ms = limits.timeoutMs(forTool: tool) {
            let token = server.scheduler.schedule(after: ms) { [weak request] in
                request?.expire(CallLimits.error(.timeout, "Tool \(tool) timed out after \(ms) ms", timeoutMs: ms))
            }
            let late = timer.withLock { s -> Bool in
                if s.settled { return true }
                s.token = token
                return false
            }
            if late { server.scheduler.cancel(token) }
        }
        return true
    }
}
