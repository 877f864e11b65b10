import MCPCore

/// How an HTTP client obtains OAuth tokens when the server asks for them
/// (the "oauth" object of mcp_client_connect_http's options).
public struct OAuthClientConfig: Sendable {
    public enum Grant: String, Sendable {
        /// A person authorizes in a browser: authorization code with PKCE.
        case authorizationCode = "authorization_code"
        /// A machine client with its own credentials (extensions/auth,
        /// oauth-client-credentials): no person, no redirect.
        case clientCredentials = "client_credentials"
    }

    public var grant = Grant.authorizationCode
    /// A pre-registered client (client-registration.mdx, "Pre-registration").
    public var clientID: String?
    public var clientSecret: String?
    /// client_secret_basic, client_secret_post, private_key_jwt or none;
    /// nil: chosen from the server's metadata (private_key_jwt with a key).
    public var tokenEndpointAuthMethod: String?
    /// PEM of the private key (RSA or P-256) that signs private_key_jwt
    /// client assertions, and its key id.
    public var privateKeyPEM: String?
    public var privateKeyID: String?
    /// The issuer the pre-registered client belongs to: a server that names
    /// another authorization server is refused rather than sent these
    /// credentials.
    public var issuer: String?
    /// An https URL of this client's Client ID Metadata Document, used as the
    /// client id where the authorization server supports it.
    public var clientMetadataURL: String?
    /// For dynamic registration.
    public var clientName = "libmcp"
    public var applicationType = "native"
    /// Where the authorization server sends the browser back. nil: the
    /// loopback listener's http://127.0.0.1:<free port>/callback.
    public var redirectURI: String?
    /// Serve redirectURI (a http://127.0.0.1 URL) with the built-in loopback
    /// listener; always so when redirectURI is nil.
    public var loopback = false
    /// The scopes to ask for, overriding the server's guidance.
    public var scopes: [String]?
    /// Re-authorizations of one message (refresh, step-up) before its failure
    /// stands: with 2, a connect that is refused (401) and a call that keeps
    /// being refused (403) make at most three authorizations in all.
    public var maxAttempts = 2
    /// Each request to the authorization server or for metadata.
    public var httpTimeoutMs = 10_000
    /// How long the person has to authorize.
    public var authorizeTimeoutMs = 300_000
    /// Metadata documents and token responses larger than this are refused.
    public var maxDocumentBytes = 256 * 1024
    /// What the host stored before, by issuer.
    public var credentials: [String: OAuthCredentials] = [:]

    public init() {}
}

/// Why the OAuth flow failed; the text names the step and never a token.
public struct OAuthError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What the host provides to the flow.
public protocol OAuthHost: Sendable {
    /// The person must open `url` and authorize. Called on a flow thread, once
    /// per authorization; `answer` is called once, from any thread, with the
    /// URL the authorization server redirected to (carrying code, state, iss),
    /// or nil when the built-in loopback listener is to receive it.
    func authorize(url: String, redirectURI: String, answer: @escaping @Sendable (Result<String?, OAuthError>) -> Void)
    /// The credentials for `issuer` changed (new registration or tokens).
    func store(issuer: String, credentials: OAuthCredentials)
}
