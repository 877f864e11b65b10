internal import NIOCore
internal import NIOHTTP1
import MCPCore
import MCPRuntime

// The OAuth 2.1 resource server in front of every route of the listener
// (Streamable HTTP in both eras, legacy HTTP+SSE, the WebSocket upgrade):
// protected resource metadata (RFC 9728) at the well-known paths, 401 with a
// Bearer challenge for a missing or refused token, 403 insufficient_scope for
// a token that lacks what the operation needs.
extension HTTPEndpoint {
    /// Serves the metadata document when `request` asks for it: at
    /// /.well-known/oauth-protected-resource, and with the endpoint's path
    /// (or the resource URL's path) appended. Returns whether it answered.
    func serveResourceMetadata(_ request: HTTPRequest, sink: ResponseSink, auth: AuthConfig) -> Bool {
        let prefix = AuthConfig.wellKnownPrefix
        let path = request.path
        guard path.hasPrefix(prefix) else { return false }
        let suffix = path.dropFirst(prefix.count)
        guard suffix.isEmpty || suffix == Substring(config.path) || suffix == Substring(auth.resourcePath) else { return false }
        guard request.head.method == .GET || request.head.method == .HEAD else {
            fail(sink, request, .methodNotAllowed, ErrorCode.invalidRequest, "Use GET", extra: [("Allow", "GET")])
            return true
        }
        var h = Self.jsonHeaders
        h.add(name: "Cache-Control", value: "public, max-age=3600")
        respond(sink, request, .ok, headers: h, body: request.head.method == .HEAD ? [] : auth.metadataDocument)
        return true
    }

    /// Authenticates `request`, then `next` runs with its principal set, on
    /// the sink's event loop; a refusal is answered here (401, or 403 for
    /// the scopes every request needs).
    func authenticated(_ request: HTTPRequest, sink: ResponseSink, auth: TokenAuthenticator,
                       _ next: @escaping @Sendable (HTTPRequest) -> Void)
    {
        auth.authenticate(request.header("authorization"), path: request.path) { [self] result in
            let go: @Sendable () -> Void = { [self] in
                switch result {
                case .failure(let f):
                    unauthorized(request, sink: sink, auth.config, f)
                case .success(let principal):
                    let missing = principal.missingScopes(auth.config.requiredScopes)
                    if !missing.isEmpty {
                        return insufficientScope(request, sink: sink, auth.config,
                                                 ScopeRequirement(what: "This server", scopes: auth.config.requiredScopes))
                    }
                    var r = request
                    r.principal = principal
                    next(r)
                }
            }
            if sink.eventLoop.inEventLoop { go() } else { sink.eventLoop.execute(go) }
        }
    }

    func unauthorized(_ request: HTTPRequest, sink: ResponseSink, _ auth: AuthConfig, _ failure: AuthFailure) {
        let message = failure.reason == .missing ? "Authorization required: send an OAuth access token (Authorization: Bearer)"
                                                 : "Invalid access token: \(failure.detail)"
        fail(sink, request, .unauthorized, ErrorCode.invalidRequest, message,
             extra: [("WWW-Authenticate", auth.unauthorizedChallenge(failure))])
    }

    func insufficientScope(_ request: HTTPRequest, sink: ResponseSink, _ auth: AuthConfig, _ need: ScopeRequirement) {
        EngineLog.warning("auth", "Insufficient scope", ["reason": .string("scope"), "need": .string(need.scopes.joined(separator: " ")),
                                                         "what": .string(need.what), "subject": .string(request.principal?.subject ?? "")])
        fail(sink, request, .forbidden, ErrorCode.invalidRequest,
             "Insufficient scope: \(need.what) requires scope \(need.scopes.joined(separator: " "))",
             extra: [("WWW-Authenticate", auth.insufficientScopeChallenge(need.scopes, what: need.what))])
    }

    /// 403 when a POSTed message (or any message of a batch) needs scopes
    /// the request's principal lacks; all the operation's scopes are named
    /// at once. Returns whether it answered.
    func refusedForScope(_ request: HTTPRequest, _ value: JSONValue, _ single: Message?, sink: ResponseSink) -> Bool {
        guard let auth = authenticator, let principal = request.principal else { return false }
        var messages: [Message] = []
        if let single { messages = [single] } else if let items = value.arrayValue {
            messages = items.compactMap { try? Message(json: $0) }
        }
        for m in messages {
            if let need = core.unmetScopes(for: m, principal: principal) {
                insufficientScope(request, sink: sink, auth.config, need)
                return true
            }
        }
        return false
    }

    /// A 2025-era session belongs to the principal that opened it: another
    /// principal naming its id is told it does not exist (404), as an
    /// unknown id would be.
    func ownsSession(_ request: HTTPRequest, _ session: HTTPSession) -> Bool {
        guard let owner = session.owner, let p = request.principal else { return true }
        return owner.isSameParty(as: p)
    }
}
