internal import NIOHTTP1
import MCPCore
import MCPRuntime

/// The OAuth side of the HTTP client: the bearer token on every request to
/// the MCP server, and a refusal (401, or 403 insufficient_scope) turned
/// into an authorization run by the connection's OAuthClient, after which
/// the refused messages go again (and the legacy transport's SSE GET, when
/// that was refused). Messages sent meanwhile are held.
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
        let challenge = BearerChallenge.parse(challenges)
        guard let oauth = options.oauth, isOAuthRefusal(status: status, challenge) else { return false }
        guard message.authAttempts < oauth.config.maxAttempts else {
            EngineLog.warning("oauth", "The server still refuses after re-authorizing; giving up on this message",
                              ["status": .int(status), "attempts": .int(message.authAttempts)])
            return false
        }
        var m = message
        m.authAttempts += 1
        awaitAuthorization(.message(m), oauth: oauth, status: status, challenge: challenge, sentAuthorization: sentAuthorization)
        return true
    }

    /// The legacy transport's SSE GET was refused: authorize, then open it
    /// again. False leaves the refusal fatal, as for a message.
    func legacyStreamAuthorizationNeeded(status: Int, challenges: [String], sentAuthorization: String?) -> Bool {
        let challenge = BearerChallenge.parse(challenges)
        guard let oauth = options.oauth, isOAuthRefusal(status: status, challenge) else { return false }
        let attempts = state.withLockedValue { s -> Int in
            s.legacyAuthAttempts += 1
            return s.legacyAuthAttempts
        }
        guard attempts <= oauth.config.maxAttempts else {
            EngineLog.warning("oauth", "The server still refuses the legacy SSE stream after re-authorizing; giving up",
                              ["status": .int(status), "attempts": .int(attempts - 1)])
            return false
        }
        awaitAuthorization(.legacyStream, oauth: oauth, status: status, challenge: challenge, sentAuthorization: sentAuthorization)
        return true
    }

    /// Whether OAuth answers this refusal: 401, or 403 insufficient_scope.
    private func isOAuthRefusal(status: Int, _ challenge: BearerChallenge?) -> Bool {
        status == 401 || (status == 403 && challenge?.error == "insufficient_scope")
    }

    /// Queues `waiter` behind the authorization run under way, or starts one.
    private func awaitAuthorization(_ waiter: AuthWaiter, oauth: OAuthClient, status: Int, challenge: BearerChallenge?,
                                    sentAuthorization: String?)
    {
        let current = authorization(for: url)
        enum Action { case drop, queued, resend, start }
        let action = state.withLockedValue { s -> Action in
            if s.closed { return .drop }
            if s.authorizing {
                s.authQueue.append(waiter)
                return .queued
            }
            // Another run brought a newer token since this one was sent.
            if current != nil, current != sentAuthorization { return .resend }
            s.authorizing = true
            s.authQueue.append(waiter)
            return .start
        }
        switch action {
        case .drop, .queued: break
        case .resend: sendAgain(waiter)
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
    }

    /// Sends again what waited for a token.
    private func sendAgain(_ waiter: AuthWaiter) {
        switch waiter {
        case .message(let m): dispatch(m)
        case .legacyStream: startLegacy()
        }
    }

    /// The run ended: the refused messages go again, or fail with its reason.
    private func authorizationDone(_ error: OAuthError?) {
        let queue = state.withLockedValue { s -> [AuthWaiter] in
            s.authorizing = false
            defer { s.authQueue = [] }
            return s.closed ? [] : s.authQueue
        }
        if let error {
            EngineLog.warning("oauth", "Authorization failed", ["reason": .string(error.description)])
            for waiter in queue {
                switch waiter {
                case .message(let m): lost(m, "OAuth authorization failed: \(error.description)")
                case .legacyStream: fatal("OAuth authorization for the legacy SSE stream failed: \(error.description)")
                }
            }
        } else {
            for waiter in queue { sendAgain(waiter) }
        }
        releaseHeld()
    }
}

/// What waits for an authorization run: a refused message, or the legacy
/// transport's SSE stream (its GET was refused).
enum AuthWaiter: Sendable {
    case message(OutgoingMessage)
    case legacyStream
}
