/// What an OAuth client keeps for one authorization server, keyed by its
/// issuer (client-registration.mdx, "Authorization Server Binding"): the
/// client registration and the tokens it got. Stored by the host through a
/// callback as JSON, and handed back at the next connect.
public struct OAuthCredentials: Sendable, Equatable {
    public var clientID: String?
    public var clientSecret: String?
    public var tokenEndpointAuthMethod: String?
    public var accessToken: String?
    public var refreshToken: String?
    /// Seconds since the epoch.
    public var expiresAt: Int64?
    /// The scopes granted (or asked for, when the server did not say).
    public var scope: String?
    /// The resource the tokens were issued for.
    public var resource: String?
    /// The redirect URI the client id was registered with (the loopback
    /// listener listens on its port again, since servers match it exactly).
    public var redirectURI: String?

    public init() {}

    public init(json: JSONObject) {
        clientID = json["client_id"]?.stringValue
        clientSecret = json["client_secret"]?.stringValue
        tokenEndpointAuthMethod = json["token_endpoint_auth_method"]?.stringValue
        accessToken = json["access_token"]?.stringValue
        refreshToken = json["refresh_token"]?.stringValue
        expiresAt = json["expires_at"]?.intValue
        scope = json["scope"]?.stringValue
        resource = json["resource"]?.stringValue
        redirectURI = json["redirect_uri"]?.stringValue
    }

    public var json: JSONObject {
        var o = JSONObject()
        func put(_ k: String, _ v: String?) { if let v { o[k] = .string(v) } }
        put("client_id", clientID)
        put("client_secret", clientSecret)
        put("token_endpoint_auth_method", tokenEndpointAuthMethod)
        put("access_token", accessToken)
        put("refresh_token", refreshToken)
        if let expiresAt { o["expires_at"] = .int(expiresAt) }
        put("scope", scope)
        put("resource", resource)
        put("redirect_uri", redirectURI)
        return o
    }

    /// A token for logs: its length and last four characters, never more.
    public static func redact(_ token: String) -> String {
        token.count <= 8 ? "(\(token.count) chars)" : "…" + String(token.suffix(4)) + " (\(token.count) chars)"
    }
}
