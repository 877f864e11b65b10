import CMCP
import Glibc
import MCPCore
import MCPRuntime
import MCPTransport

// mcp_client_set_oauth_handler, mcp_oauth_prompt_answer / _refuse,
// mcp_client_set_oauth_store, and the "oauth" member of
// mcp_client_connect_http's options: validate, convert, forward. The flow
// lives in MCPTransport/HTTPClient/OAuth.

/// Authorization prompts waiting for the host, by never-reused handle (as
/// TokenCheckTable: a handle answered twice gives MCP_ERR_STATE).
enum OAuthPromptTable {
    typealias Answer = @Sendable (Result<String?, OAuthError>) -> Void
    private struct Table {
        var next: UInt = 0x4000
        var pending: [UInt: Answer] = [:]
    }

    private static let table = LockedState(Table())

    static func register(_ answer: @escaping Answer) -> UInt {
        table.withLock { t -> UInt in
            t.next += 8
            t.pending[t.next] = answer
            return t.next
        }
    }

    static func take(_ id: UInt) -> Answer? { table.withLock { $0.pending.removeValue(forKey: id) } }

    static func id(_ handle: OpaquePointer?) -> UInt? {
        guard let handle else { return nil }
        return UInt(bitPattern: Int(bitPattern: handle))
    }
}

/// The OAuth flow's host: the client's C callbacks.
struct ClientOAuthHost: OAuthHost {
    weak var handle: ClientHandle?
    let authorizeTimeoutMs: Int

    func authorize(url: String, redirectURI: String, answer: @escaping @Sendable (Result<String?, OAuthError>) -> Void) {
        guard let handle, let cb = handle.state.withLock({ $0.oauthHandler }) else {
            // No handler: with the loopback listener the URL is logged and
            // the listener waits; without it the flow cannot go on.
            EngineLog.warning("oauth", "Open this URL to authorize the MCP client", ["url": .string(url)])
            return answer(.success(nil))
        }
        let id = OAuthPromptTable.register(answer)
        // The flow gives up after its own timeout; the handle goes then.
        _ = handle.scheduler.schedule(after: authorizeTimeoutMs + 1000) { _ = OAuthPromptTable.take(id) }
        handle.pool.execute {
            url.withCString { u in redirectURI.withCString { r in cb.fn(cb.userData, u, r, OpaquePointer(bitPattern: id)) } }
        }
    }

    func store(issuer: String, credentials: OAuthCredentials) {
        guard let cb = handle?.state.withLock({ $0.oauthStore }) else { return }
        let json = JSONSerializer.string(.object(credentials.json))
        issuer.withCString { i in json.withCString { j in cb.fn(cb.userData, i, j) } }
    }
}

/// A file's text, or nil when it cannot be read or is larger than maxBytes.
private func readSmallFile(_ path: String, maxBytes: Int) -> String? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
        if bytes.count > maxBytes { return nil }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The "oauth" object of the connect options.
func readOAuthOptions(_ o: JSONObject) throws(ABIError) -> OAuthClientConfig {
    var c = OAuthClientConfig()
    try OptionsReader.read(object: o, noun: "oauth option") { (r: inout OptionsReader) throws(ABIError) in
        c.grant = try r.choice("grant", "\"authorization_code\" or \"client_credentials\"",
                               OAuthClientConfig.Grant.init(rawValue:)) ?? c.grant
        c.clientID = try r.string("client_id", nonEmpty: true)
        c.clientSecret = try r.string("client_secret", nonEmpty: true)
        c.tokenEndpointAuthMethod = try r.choice("token_endpoint_auth_method",
                                                 "\"client_secret_basic\", \"client_secret_post\", \"private_key_jwt\" or \"none\"") { m in
            ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"].contains(m) ? m : nil
        }
        if let path = try r.string("private_key_file", nonEmpty: true) {  // 1.5
            guard let pem = readSmallFile(path, maxBytes: 64 * 1024), ClientAssertion.isUsable(pem: pem) else {
                throw .invalidArgument("oauth option \"private_key_file\": \(path) holds no readable RSA or P-256 private key (PEM)")
            }
            c.privateKeyPEM = pem
        }
        c.privateKeyID = try r.string("private_key_id", nonEmpty: true)
        c.issuer = try r.string("issuer", nonEmpty: true)
        c.clientMetadataURL = try r.checked("client_metadata_url", "an https URL with a path") { v in
            v.stringValue.flatMap { s in
                guard let u = OAuthDiscovery.SplitURL(s), s.lowercased().hasPrefix("https://"), !u.path.isEmpty else { return nil }
                return s
            }
        }
        c.clientName = try r.string("client_name", nonEmpty: true) ?? c.clientName
        c.applicationType = try r.choice("application_type", "\"native\" or \"web\"") { ["native", "web"].contains($0) ? $0 : nil }
            ?? c.applicationType
        c.redirectURI = try r.checked("redirect_uri", "an http(s) URL") { v in
            v.stringValue.flatMap { OAuthDiscovery.SplitURL($0) != nil ? $0 : nil }
        }
        c.loopback = try r.bool("loopback") ?? c.loopback
        if let scope = try r.string("scope") { c.scopes = OAuthScopes.split(scope) }
        c.maxAttempts = try r.int("max_attempts", 1...10) ?? c.maxAttempts
        c.httpTimeoutMs = try r.int("http_timeout_ms", 1...600_000) ?? c.httpTimeoutMs
        c.authorizeTimeoutMs = try r.int("authorize_timeout_ms", 1...86_400_000) ?? c.authorizeTimeoutMs
        c.maxDocumentBytes = try r.int("max_document_bytes", 1024...(64 << 20)) ?? c.maxDocumentBytes
        if let stored = try r.object("credentials") {
            for m in stored.members {
                guard let o = m.value.objectValue else {
                    throw .invalidArgument("oauth option \"credentials\" must map each issuer to an object")
                }
                c.credentials[m.key] = OAuthCredentials(json: o)
            }
        }
    }
    if c.grant == .clientCredentials, c.clientID == nil || (c.clientSecret == nil && c.privateKeyPEM == nil) {
        throw .invalidArgument("oauth grant \"client_credentials\" needs \"client_id\" and \"client_secret\" or \"private_key_file\"")
    }
    if c.tokenEndpointAuthMethod == "private_key_jwt", c.privateKeyPEM == nil {
        throw .invalidArgument("oauth \"token_endpoint_auth_method\" \"private_key_jwt\" needs \"private_key_file\"")
    }
    if c.clientSecret != nil, c.clientID == nil {
        throw .invalidArgument("oauth option \"client_secret\" needs \"client_id\"")
    }
    if let r = c.redirectURI, !c.loopback, !OAuthDiscovery.isSecureEnough(r) {
        throw .invalidArgument("oauth option \"redirect_uri\" must be https or a loopback address")
    }
    if let r = c.redirectURI, c.loopback, !r.lowercased().hasPrefix("http://127.0.0.1:") {
        throw .invalidArgument("oauth option \"loopback\" needs a \"redirect_uri\" of the form http://127.0.0.1:PORT/path")
    }
    return c
}

@c @implementation
public func mcp_client_set_oauth_handler(_ client: OpaquePointer?, _ fn: mcp_oauth_authorize_fn?,
                                         _ userData: UnsafeMutableRawPointer?, _ freeFn: mcp_free_fn?,
                                         _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        let cb = fn.map { HostCallback(fn: $0, userData: userData, free: freeFn) }
        let old = h.state.withLock { s -> HostCallback<mcp_oauth_authorize_fn>? in
            defer { s.oauthHandler = cb }
            return s.oauthHandler
        }
        _ = old
    }
}

@c @implementation
public func mcp_oauth_prompt_answer(_ prompt: OpaquePointer?, _ redirectURL: UnsafePointer<CChar>?,
                                    _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        guard let id = OAuthPromptTable.id(prompt) else { throw .invalidArgument("prompt must not be NULL") }
        let url = redirectURL.map { String(cString: $0) }
        if let url, OAuthDiscovery.SplitURL(url) == nil {
            throw .invalidArgument("redirect_url must be the http(s) URL the authorization server redirected to")
        }
        guard let answer = OAuthPromptTable.take(id) else { throw .state("This prompt was already answered, or timed out") }
        answer(.success(url))
    }
}

@c @implementation
public func mcp_oauth_prompt_refuse(_ prompt: OpaquePointer?, _ reason: UnsafePointer<CChar>?,
                                    _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        guard let id = OAuthPromptTable.id(prompt) else { throw .invalidArgument("prompt must not be NULL") }
        guard let answer = OAuthPromptTable.take(id) else { throw .state("This prompt was already answered, or timed out") }
        let text = reason.map { String(cString: $0) } ?? ""
        answer(.failure(OAuthError(text.isEmpty ? "The host refused to authorize" : "The host refused to authorize: \(text)")))
    }
}

@c @implementation
public func mcp_client_set_oauth_store(_ client: OpaquePointer?, _ fn: mcp_oauth_store_fn?,
                                       _ userData: UnsafeMutableRawPointer?, _ freeFn: mcp_free_fn?,
                                       _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        let cb = fn.map { HostCallback(fn: $0, userData: userData, free: freeFn) }
        let old = h.state.withLock { s -> HostCallback<mcp_oauth_store_fn>? in
            defer { s.oauthStore = cb }
            return s.oauthStore
        }
        _ = old
    }
}
