import Glibc
import MCPCore
import MCPRuntime

/// The OAuth client of one HTTP connection (spec 2026-07-28
/// basic/authorization): holds the credentials by issuer and runs the flow
/// when the server answers 401 or 403 insufficient_scope. The flow blocks
/// (metadata requests, the person's authorization), so it runs on a thread of
/// its own, never on the event loop; the transport holds the messages it
/// refused meanwhile and sends them again with the new token.
public final class OAuthClient: Sendable {
    let config: OAuthClientConfig
    let host: (any OAuthHost)?
    let serverURL: String
    /// The flow's own thread (and the loopback listener's).
    let threads = WorkerPool(maxThreads: 2, idleTimeoutMs: 2000)
    private let state: LockedState<State>

    struct State {
        var credentials: [String: OAuthCredentials]
        /// The authorization server whose token is in use.
        var issuer: String?
        /// The scopes asked for last: a step-up asks for these and the new ones.
        var requestedScopes: [String] = []
    }

    public init(config: OAuthClientConfig, host: (any OAuthHost)?, serverURL: String) {
        self.config = config
        self.host = host
        self.serverURL = serverURL
        // Stored tokens are used from the first request when they were
        // issued for this server (their resource covers it): the configured
        // issuer's, else the first such issuer's. Others wait for discovery,
        // which names the authorization server whose tokens may be sent.
        let fits = { (i: String) -> Bool in
            config.credentials[i]?.resource.map { OAuthDiscovery.resourceCovers($0, serverURL: serverURL) } ?? false
        }
        let issuer = config.issuer.flatMap { fits($0) ? $0 : nil } ?? config.credentials.keys.sorted().first(where: fits)
        var s = State(credentials: config.credentials, issuer: issuer)
        if let issuer, let scope = s.credentials[issuer]?.scope { s.requestedScopes = OAuthScopes.split(scope) }
        state = LockedState(s)
    }

    deinit { threads.shutdown() }

    /// The access token to send now, if any.
    public var accessToken: String? {
        state.withLock { s in s.issuer.flatMap { s.credentials[$0]?.accessToken } }
    }

    /// Obtains a new token after `status` (401, or 403 insufficient_scope)
    /// with `challenge`: refresh when it can, else the whole flow.
    func authorize(status: Int, challenge: BearerChallenge?, http: OAuthHTTP) throws(OAuthError) {
        let forbidden = status == 403
        // 1. Protected-resource metadata.
        var prm: JSONObject?
        let prmURLs = OAuthDiscovery.resourceMetadataURLs(serverURL: serverURL, challenge: challenge)
        for u in prmURLs {
            guard let r = try? http.get(u), r.status == 200, let o = r.object else { continue }
            prm = o
            break
        }
        let resource: String
        let servers: [String]
        var legacyOrigin = false
        if let prm {
            guard let res = prm["resource"]?.stringValue else {
                throw OAuthError("The protected-resource metadata has no \"resource\"")
            }
            guard OAuthDiscovery.resourceCovers(res, serverURL: serverURL) else {
                throw OAuthError("The protected-resource metadata is for \(res), not \(serverURL): refused (RFC 9728 section 3.3)")
            }
            resource = res
            servers = prm["authorization_servers"]?.arrayValue?.compactMap(\.stringValue) ?? []
            guard !servers.isEmpty else { throw OAuthError("The protected-resource metadata names no authorization server") }
        } else if let issuer = config.issuer {
            resource = OAuthDiscovery.canonicalResource(serverURL)
            servers = [issuer]
        } else if challenge?.resourceMetadata == nil, let origin = OAuthDiscovery.SplitURL(serverURL)?.origin {
            // A 2025-03-26 server publishes no resource metadata: its own
            // origin is the authorization server.
            EngineLog.info("oauth", "No protected-resource metadata; trying the server's origin as authorization server",
                           ["tried": .string(prmURLs.joined(separator: " "))])
            resource = OAuthDiscovery.canonicalResource(serverURL)
            servers = [origin]
            legacyOrigin = true
        } else {
            throw OAuthError("No protected-resource metadata at \(prmURLs.joined(separator: " or "))")
        }

        // 2. The authorization server: credentials are bound to one issuer.
        let issuer: String
        if let configured = config.issuer, config.clientID != nil {
            guard servers.contains(configured) else {
                throw OAuthError("The server's authorization server is \(servers.joined(separator: ", ")); the configured client "
                    + "belongs to \(configured): its credentials are not sent elsewhere")
            }
            issuer = configured
        } else {
            let known = state.withLock { s in s.issuer.flatMap { servers.contains($0) ? $0 : nil }
                ?? servers.first(where: { s.credentials[$0] != nil }) }
            issuer = known ?? servers[0]
        }
        guard OAuthDiscovery.isSecureEnough(issuer) else { throw OAuthError("The authorization server \(issuer) is not https") }

        // 3. Its metadata, whose issuer must be the one asked for.
        var meta: JSONObject?
        var refusal = "No authorization-server metadata for \(issuer)"
        for u in OAuthDiscovery.authorizationServerMetadataURLs(issuer: issuer) {
            guard let r = try? http.get(u), r.status == 200, let o = r.object else { continue }
            guard o["issuer"]?.stringValue == issuer else {
                refusal = "The metadata at \(u) names issuer \"\(o["issuer"]?.stringValue ?? "")\", not \"\(issuer)\": refused"
                continue
            }
            meta = o
            break
        }
        if meta == nil, legacyOrigin {
            // 2025-03-26 "Fallbacks for Servers without Metadata Discovery".
            meta = JSONObject(["issuer": .string(issuer), "authorization_endpoint": .string(issuer + "/authorize"),
                               "token_endpoint": .string(issuer + "/token"),
                               "registration_endpoint": .string(issuer + "/register"),
                               "code_challenge_methods_supported": ["S256"]])
        }
        guard let meta else { throw OAuthError(refusal) }
        guard let tokenEndpoint = meta["token_endpoint"]?.stringValue, OAuthDiscovery.isSecureEnough(tokenEndpoint) else {
            throw OAuthError("The authorization server's metadata has no usable https token_endpoint")
        }

        var creds = state.withLock { s -> OAuthCredentials in
            s.issuer = issuer
            return s.credentials[issuer] ?? OAuthCredentials()
        }
        if creds.resource != nil, creds.resource != resource {
            creds.accessToken = nil
            creds.refreshToken = nil
        }

        // 4. Scopes: least privilege first; a step-up keeps what was asked before.
        let resourceScopes = prm?["scopes_supported"]?.arrayValue?.compactMap(\.stringValue)
        var scopes: [String]
        if forbidden {
            let before = state.withLock { $0.requestedScopes }
            let wanted = challenge?.scopes.isEmpty == false ? challenge?.scopes ?? [] : resourceScopes ?? []
            scopes = OAuthScopes.union(before.isEmpty ? OAuthScopes.split(creds.scope ?? "") : before, wanted)
        } else {
            scopes = OAuthDiscovery.initialScopes(configured: config.scopes, challenge: challenge, resourceScopes: resourceScopes)
        }

        // 5. A refresh token answers a 401 without a person.
        if !forbidden, let refresh = creds.refreshToken, creds.clientID != nil {
            var pairs = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("resource", resource)]
            if !scopes.isEmpty { pairs.append(("scope", scopes.joined(separator: " "))) }
            if let answer = try? tokenRequest(tokenEndpoint, meta: meta, creds: creds, pairs, http: http) {
                try finish(issuer: issuer, creds: &creds, answer: answer, resource: resource, scopes: scopes)
                return
            }
            EngineLog.info("oauth", "The refresh token was refused; authorizing again", ["issuer": .string(issuer)])
            creds.refreshToken = nil
            creds.accessToken = nil
        }

        switch config.grant {
        case .clientCredentials:
            guard let id = config.clientID, config.clientSecret != nil || config.privateKeyPEM != nil else {
                throw OAuthError("The client_credentials grant needs a client_id and a client_secret or private key")
            }
            creds.clientID = id
            creds.clientSecret = config.clientSecret
            creds.tokenEndpointAuthMethod = config.tokenEndpointAuthMethod
            var pairs = [("grant_type", "client_credentials"), ("resource", resource)]
            if !scopes.isEmpty { pairs.append(("scope", scopes.joined(separator: " "))) }
            let answer = try tokenRequest(tokenEndpoint, meta: meta, creds: creds, pairs, http: http)
            try finish(issuer: issuer, creds: &creds, answer: answer, resource: resource, scopes: scopes)
        case .authorizationCode:
            try authorizationCode(issuer: issuer, meta: meta, tokenEndpoint: tokenEndpoint, resource: resource,
                                  scopes: scopes, creds: &creds, http: http)
        }
    }

    /// Authorization code with PKCE S256, `resource`, `state` and the RFC 9207 `iss` check.
    private func authorizationCode(issuer: String, meta: JSONObject, tokenEndpoint: String, resource: String,
                                   scopes: [String], creds: inout OAuthCredentials, http: OAuthHTTP) throws(OAuthError)
    {
        guard let authorizationEndpoint = meta["authorization_endpoint"]?.stringValue,
              OAuthDiscovery.isSecureEnough(authorizationEndpoint) else {
            throw OAuthError("The authorization server's metadata has no usable https authorization_endpoint")
        }
        // security-considerations.mdx: no advertised S256, no flow.
        guard meta["code_challenge_methods_supported"]?.arrayValue?.contains(where: { $0.stringValue == "S256" }) == true else {
            throw OAuthError("The authorization server does not advertise PKCE S256 (code_challenge_methods_supported): refused")
        }
        let listener: LoopbackRedirectListener?
        var redirectURI = config.redirectURI
        // Without a redirect URI of the host's, the loopback listener serves one.
        if config.loopback || redirectURI == nil {
            var port = 0
            var path = "/callback"
            // The host's URI, else the one this client id was registered
            // with: authorization servers compare redirect URIs exactly.
            if let r = redirectURI ?? (config.clientID == nil ? creds.redirectURI : nil), let u = try? HTTPURL(parsing: r) {
                port = u.port
                path = String(u.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
            }
            let l: LoopbackRedirectListener
            do throws(OAuthError) {
                l = try LoopbackRedirectListener(port: port, path: path)
            } catch where redirectURI == nil && port != 0 {
                l = try LoopbackRedirectListener(port: 0, path: path)
            }
            listener = l
            redirectURI = l.redirectURI
        } else {
            listener = nil
        }
        defer { listener?.stop() }
        guard let redirectURI else { throw OAuthError("No redirect_uri: set one, or use the loopback listener") }
        guard host != nil || listener != nil else {
            throw OAuthError("Authorization needs a person: set an authorization handler or the loopback listener")
        }

        try register(issuer: issuer, meta: meta, redirectURI: redirectURI, scopes: scopes, creds: &creds, http: http)
        guard let clientID = creds.clientID else { throw OAuthError("No client id") }

        var asked = scopes
        // index.mdx "Refresh Tokens": offline_access only when the server lists it.
        if meta["scopes_supported"]?.arrayValue?.contains(where: { $0.stringValue == "offline_access" }) == true,
           !asked.isEmpty, !asked.contains("offline_access")
        {
            asked.append("offline_access")
        }
        let pkce = PKCE()
        var q = [("response_type", "code"), ("client_id", clientID), ("redirect_uri", redirectURI),
                 ("code_challenge", pkce.challenge), ("code_challenge_method", "S256"), ("state", pkce.state),
                 ("resource", resource)]
        if !asked.isEmpty { q.append(("scope", asked.joined(separator: " "))) }
        let url = FormEncoding.appending(q, to: authorizationEndpoint)

        let answer = LockedState<Result<String, OAuthError>?>(nil)
        let settle: @Sendable (Result<String, OAuthError>) -> Void = { r in
            answer.withLockAndNotify { a in if a == nil { a = r } }
        }
        listener?.run(on: threads) { settle(.success($0)) }
        if let host {
            let hasListener = listener != nil
            host.authorize(url: url, redirectURI: redirectURI) { r in
                switch r {
                case .success(let u?): settle(.success(u))
                case .success(nil): if !hasListener { settle(.failure(OAuthError("The host gave no redirect URL"))) }
                case .failure(let e): settle(.failure(e))
                }
            }
        } else {
            EngineLog.warning("oauth", "Open this URL to authorize the MCP client", ["url": .string(url)])
        }
        guard answer.wait(until: MonotonicInstant.now().adding(milliseconds: config.authorizeTimeoutMs), for: { $0 != nil }),
              let result = answer.withLock({ $0 }) else {
            throw OAuthError("Nobody authorized within \(config.authorizeTimeoutMs) ms")
        }
        let redirect: String
        switch result {
        case .success(let u): redirect = u
        case .failure(let e): throw e
        }

        let params = FormEncoding.query(of: redirect)
        // RFC 9207 first: a response from the wrong server is not even read.
        let advertised = meta["authorization_response_iss_parameter_supported"]?.boolValue == true
        if let why = OAuthDiscovery.checkIssuerParameter(iss: params["iss"], expected: issuer, advertised: advertised) {
            throw OAuthError(why)
        }
        guard params["state"] == pkce.state else { throw OAuthError("The authorization response's state does not match") }
        if let error = params["error"] {
            throw OAuthError("Authorization refused: \(error)" + (params["error_description"].map { ": " + $0 } ?? ""))
        }
        guard let code = params["code"], !code.isEmpty else { throw OAuthError("The authorization response has no code") }
        let pairs = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
                     ("code_verifier", pkce.verifier), ("resource", resource)]
        let tokens = try tokenRequest(tokenEndpoint, meta: meta, creds: creds, pairs, http: http)
        try finish(issuer: issuer, creds: &creds, answer: tokens, resource: resource, scopes: scopes)
    }

    /// Gives `creds` a client id (client-registration.mdx, in its priority
    /// order): pre-registered, kept from before for this issuer, a Client ID
    /// Metadata Document the server supports, then dynamic registration.
    private func register(issuer: String, meta: JSONObject, redirectURI: String, scopes: [String],
                          creds: inout OAuthCredentials, http: OAuthHTTP) throws(OAuthError)
    {
        if let id = config.clientID {
            creds.clientID = id
            creds.clientSecret = config.clientSecret
            creds.tokenEndpointAuthMethod = config.tokenEndpointAuthMethod
            return
        }
        if creds.clientID != nil { return }
        if let cimd = config.clientMetadataURL, meta["client_id_metadata_document_supported"]?.boolValue == true {
            creds.clientID = cimd
            creds.clientSecret = nil
            creds.tokenEndpointAuthMethod = "none"
            return
        }
        guard let endpoint = meta["registration_endpoint"]?.stringValue else {
            throw OAuthError("The authorization server offers no way to register (no Client ID Metadata Document support, "
                + "no registration_endpoint): configure a client_id")
        }
        guard OAuthDiscovery.isSecureEnough(endpoint) else { throw OAuthError("The registration endpoint is not https") }
        var body = JSONObject([
            "client_name": .string(config.clientName),
            "redirect_uris": .array([.string(redirectURI)]),
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "application_type": .string(config.applicationType),
        ])
        if let m = config.tokenEndpointAuthMethod { body["token_endpoint_auth_method"] = .string(m) }
        if !scopes.isEmpty { body["scope"] = .string(scopes.joined(separator: " ")) }
        let r = try http.postJSON(endpoint, .object(body))
        guard r.status == 200 || r.status == 201, let o = r.object, let id = o["client_id"]?.stringValue else {
            throw OAuthError("Dynamic client registration failed: " + Self.errorText(r))
        }
        creds.clientID = id
        creds.clientSecret = o["client_secret"]?.stringValue
        creds.tokenEndpointAuthMethod = o["token_endpoint_auth_method"]?.stringValue
        creds.redirectURI = redirectURI
        let saved = creds
        state.withLock { $0.credentials[issuer] = saved }
        host?.store(issuer: issuer, credentials: saved)
    }

    /// POSTs to the token endpoint with the client's authentication method.
    private func tokenRequest(_ endpoint: String, meta: JSONObject, creds: OAuthCredentials,
                              _ pairs: [(String, String)], http: OAuthHTTP) throws(OAuthError) -> JSONObject
    {
        guard let id = creds.clientID else { throw OAuthError("No client id for the token request") }
        let supported = meta["token_endpoint_auth_methods_supported"]?.arrayValue?.compactMap(\.stringValue)
        let method = OAuthDiscovery.tokenEndpointAuthMethod(
            registered: creds.tokenEndpointAuthMethod ?? (config.privateKeyPEM != nil ? "private_key_jwt" : nil),
            hasSecret: creds.clientSecret != nil, supported: supported)
        var form = pairs
        var basic: (String, String)?
        switch method {
        case "client_secret_basic":
            guard let secret = creds.clientSecret else { throw OAuthError("client_secret_basic needs a client secret") }
            basic = (id, secret)
        case "client_secret_post":
            guard let secret = creds.clientSecret else { throw OAuthError("client_secret_post needs a client secret") }
            form += [("client_id", id), ("client_secret", secret)]
        case "private_key_jwt":
            guard let pem = config.privateKeyPEM, let issuer = meta["issuer"]?.stringValue,
                  let assertion = ClientAssertion.sign(pem: pem, kid: config.privateKeyID, clientID: id, audience: issuer,
                                                       now: Int64(time(nil))) else {
                throw OAuthError("private_key_jwt needs a usable private key")
            }
            form += [("client_id", id), ("client_assertion_type", ClientAssertion.type), ("client_assertion", assertion)]
        case "none":
            form.append(("client_id", id))
        default:
            throw OAuthError("Token endpoint authentication method \(method) is not supported")
        }
        let r = try http.postForm(endpoint, form, basic: basic)
        guard r.status == 200, let o = r.object, let token = o["access_token"]?.stringValue, !token.isEmpty else {
            throw OAuthError("The token endpoint refused: " + Self.errorText(r))
        }
        if let type = o["token_type"]?.stringValue, type.lowercased() != "bearer" {
            throw OAuthError("The token endpoint gave a \(type) token, not Bearer")
        }
        return o
    }

    /// Keeps the new tokens and hands them to the host's store.
    private func finish(issuer: String, creds: inout OAuthCredentials, answer: JSONObject, resource: String,
                        scopes: [String]) throws(OAuthError)
    {
        creds.accessToken = answer["access_token"]?.stringValue
        if let r = answer["refresh_token"]?.stringValue { creds.refreshToken = r }
        creds.expiresAt = answer["expires_in"]?.intValue.map { Int64(time(nil)) + $0 }
        creds.scope = answer["scope"]?.stringValue ?? (scopes.isEmpty ? creds.scope : scopes.joined(separator: " "))
        creds.resource = resource
        let saved = creds
        state.withLock { s in
            s.credentials[issuer] = saved
            s.issuer = issuer
            s.requestedScopes = OAuthScopes.union(scopes, [])
        }
        EngineLog.info("oauth", "Access token obtained", [
            "issuer": .string(issuer), "token": .string(OAuthCredentials.redact(saved.accessToken ?? "")),
            "scope": .string(saved.scope ?? ""),
        ])
        host?.store(issuer: issuer, credentials: saved)
    }

    static func errorText(_ r: OAuthHTTP.Response) -> String {
        var t = "HTTP \(r.status)"
        if let o = r.object {
            if let e = o["error"]?.stringValue { t += " " + e }
            if let d = o["error_description"]?.stringValue { t += ": " + d }
        }
        return t
    }
}
