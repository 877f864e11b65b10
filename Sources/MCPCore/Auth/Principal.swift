/// Who an HTTP request acts for, once its access token was accepted: the
/// token's subject, the OAuth client it was issued to, its issuer, its
/// scopes and every claim (JWT) or what the host's verifier said (opaque
/// tokens). Handlers see it through their call (`ServerCall.principal`);
/// without authorization there is none.
public struct Principal: Sendable, Equatable {
    public var subject: String?
    public var clientID: String?
    public var issuer: String?
    public var scopes: [String]
    /// Every claim of the token (a JWT's payload), or the host verifier's "claims".
    public var claims: JSONObject

    public init(subject: String?, clientID: String?, issuer: String?, scopes: [String], claims: JSONObject = JSONObject()) {
        self.subject = subject
        self.clientID = clientID
        self.issuer = issuer
        self.scopes = scopes
        self.claims = claims
    }

    /// What a 2025-era session is bound to: the same user through the same
    /// client of the same issuer. Scopes are left out, so a stepped-up token
    /// (more scopes) keeps its session.
    public func isSameParty(as other: Principal) -> Bool {
        subject == other.subject && clientID == other.clientID && issuer == other.issuer
    }

    /// When the token stops being valid: its "exp" claim (seconds since the
    /// epoch), from a JWT or from what a host verifier answered; nil when
    /// none is known.
    public var expiresAt: Int64? { JWTAccessTokenPolicy.seconds(claims["exp"]) }

    public func hasScopes(_ required: [String]) -> Bool { missingScopes(required).isEmpty }

    public func missingScopes(_ required: [String]) -> [String] { required.filter { !scopes.contains($0) } }

    /// The form hosts read (mcp_call_principal_json, ctx.principal, Call.Principal):
    /// {"subject", "client_id", "issuer", "scopes": [...], "claims": {...}};
    /// absent members are left out.
    public var json: JSONValue {
        var o = JSONObject()
        if let subject { o["subject"] = .string(subject) }
        if let clientID { o["client_id"] = .string(clientID) }
        if let issuer { o["issuer"] = .string(issuer) }
        o["scopes"] = .array(scopes.map { .string($0) })
        o["claims"] = .object(claims)
        return .object(o)
    }

    /// A principal from the JSON a host verifier returns (same members as
    /// `json`; "scopes" may also be one space-separated string, as OAuth's
    /// "scope"). nil when it is not such an object.
    public init?(hostJSON value: JSONValue) {
        guard case .object(let o) = value else { return nil }
        var names: [String: String] = [:]
        for key in ["subject", "client_id", "issuer"] {
            guard let v = o[key], !v.isNull else { continue }
            guard let s = v.stringValue else { return nil }
            names[key] = s
        }
        var scopes: [String] = []
        switch o["scopes"] ?? o["scope"] {
        case nil, .null?: break
        case .string(let s)?: scopes = Self.splitScopes(s)
        case .array(let a)?:
            for item in a {
                guard let s = item.stringValue else { return nil }
                scopes.append(s)
            }
        default: return nil
        }
        var claims = JSONObject()
        if let c = o["claims"], !c.isNull {
            guard let co = c.objectValue else { return nil }
            claims = co
        }
        self.init(subject: names["subject"], clientID: names["client_id"], issuer: names["issuer"], scopes: scopes,
                  claims: claims)
    }

    /// OAuth's "scope": space-separated (RFC 6749 section 3.3).
    public static func splitScopes(_ text: String) -> [String] {
        text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    }
}
