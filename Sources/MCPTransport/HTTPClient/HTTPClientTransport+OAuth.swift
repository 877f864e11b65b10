internal import NIOHTTP1
import MCPCore
import MCPRuntime

/// The OAuth side of the HTTP client: the bearer token on every request to
/// the MCP server, and a refusal (401, or 403 insufficient_scope) turned
/// into an authorization run by the connection's OAuthClient, after which
/// the refused messages go again. Messages sent meanwhile are held.
extension HTTPClientTransport {
    /// The Authorization value for a request to `target`: only to the MCP
    /// server's own origin (a token is never sent anywhere else).
    func authorization(for target: HTTPURL) -> String? {
        guard let oauth = options.oauth, target.origin == url.origin, let token = oauth.accessToken else { return nil }
        return "Bearer " + token
    }

    /// Takes over a refused message when the refusal is OAuth's to answer;
    /// false leaves it to fail as any HTTP error (no OAuth configured, another
    /// status, or the message's attempts are used up).
    func authorizationNeeded(_ message: OutgoingMessage, status: Int, challenges: [String], sentAuthorization: String?) -> Bool {
        guard let oauth = options.oauth else { return false }
        let challenge = BearerChallenge.parse(challenges)
        switch status {
        case 401: break
        case 403 where challenge?.error == "insufficient_scope": break
        default: return false
        }
        guard message.authAttempts < oauth.config.maxAttempts else {
            EngineLog.warning("oauth", "The server still refuses after re-authorizing; giving up on this message",
                              ["status": .int(status), "attempts": .int(message.authAttempts)])
            return false
        }
        var m = message
        m.authAttempts += 1
        let current = authorization(for: url)
        enum Action { case drop, queued, resend, start }
        let action = state.withLockedValue { s -> Action in
            if s.closed { return .drop }
            if s.authorizing {
                s.authQueue.append(m)
                return .queued
            }
            // Another run brought a newer token since this one was sent.
            if current != nil, current != sentAuthorization { return .resend }
            s.authorizing = true
            s.authQueue.append(m)
            return .start
        }
        switch action {
        case .drop, .queued: break
        case .resend: dispatch(m)
        case .start:
            let http = OAuthHTTP(pool: pool, timeoutMs: oauth.config.httpTimeoutMs, maxBytes: oauth.config.maxDocumentBytes)
            oauth.threads.execute { [self] in
                do throws(OAuthError) {
                    try oauth.authorize(status: status, challenge: challenge, http: http)
                    authorizationDone(nil)
                } catch {
                    authorizationDone(error)
                }
            }
        }
        return true
    }

    /// The run ended: the refused messages go again, or fail with its reason.
    private func authorizationDone(_ error: OAuthError?) {
        let queue = state.withLockedValue { s -> [OutgoingMessage] in
            s.authorizing = false
            defer { s.authQueue = [] }
            return s.closed ? [] : s.authQueue
        }
        if let error {
            EngineLog.warning("oauth", "Authorization failed", ["reason": .string(error.description)])
            for m in queue { lost(m, "OAuth authorization failed: \(error.description)") }
        } else {
            for m in queue { dispatch(m) }
        }
        releaseHeld()
    }
}
