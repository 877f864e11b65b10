/// Why a request's access token was not accepted. The reason goes to the
/// engine log (component "auth") and, as `error_description`, to the client;
/// neither ever holds the token itself.
public struct AuthFailure: Error, Sendable, Equatable {
    public enum Reason: String, Sendable {
        /// No `Authorization: Bearer` header (RFC 6750: the challenge names no error).
        case missing
        /// Not a JWS compact token, or a header, payload or claim of the wrong form.
        case malformed
        /// Longer than the configured `max_token_bytes`.
        case tooLarge = "too_large"
        /// `alg` "none", a symmetric (HS*) or otherwise refused algorithm, or one
        /// that does not fit the key.
        case algorithm
        /// No key of the JWKS has the token's `kid` (the JWKS is refetched once, rate-limited).
        case unknownKey = "unknown_key"
        case signature
        case expired
        case notYetValid = "not_yet_valid"
        case issuer
        case audience
        /// The host's token verifier refused the token.
        case refused
        /// The keys or the host verifier could not be reached (the JWKS URL failed).
        case unavailable
    }

    public var reason: Reason
    /// A sentence for the log and the client (never the token).
    public var detail: String
    /// The `kid` a `.unknownKey` failure names (to refetch the JWKS).
    public var kid: String?

    public init(_ reason: Reason, _ detail: String, kid: String? = nil) {
        self.reason = reason
        self.detail = detail
        self.kid = kid
    }
}
