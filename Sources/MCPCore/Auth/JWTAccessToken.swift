/// Checks a JWT access token (RFC 9068 / RFC 7519, JWS compact form) against
/// a key set and the resource server's expectations, without I/O: the
/// signature with the key its `kid` names, the algorithm (asymmetric only,
/// and fitting that key), `iss`, `aud` (RFC 8707: the token must be meant for
/// this resource; no other token is accepted or passed through), `exp` and
/// `nbf` within a bounded clock skew. What it accepts becomes a Principal.
public struct JWTAccessTokenPolicy: Sendable {
    /// The `iss` a token must carry, compared exactly.
    public var issuer: String
    /// A token's `aud` (string or array) must contain one of these.
    public var audiences: [String]
    /// Seconds of clock difference tolerated on `exp` and `nbf`.
    public var clockSkewSeconds: Int64
    /// JWS algorithms accepted; never "none" nor a symmetric one.
    public var algorithms: Set<String>

    public static let asymmetricAlgorithms: Set<String> = ["RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"]

    public init(issuer: String, audiences: [String], clockSkewSeconds: Int64 = 60,
                algorithms: Set<String> = asymmetricAlgorithms)
    {
        self.issuer = issuer
        self.audiences = audiences
        self.clockSkewSeconds = clockSkewSeconds
        self.algorithms = algorithms
    }

    /// The token's header and payload, before anything is trusted: whether
    /// it is a JWS at all (callers with a host verifier send other tokens there).
    public static func looksLikeJWT(_ token: String) -> Bool {
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, let h = Base64URL.decode(parts[0]),
              case .object(let o)? = try? JSONParser.parse(h) else { return false }
        return o["alg"] != nil
    }

    /// Verifies `token` at time `now` (seconds since the epoch).
    public func verify(_ token: String, keys: JSONWebKeySet, now: Int64) -> Result<Principal, AuthFailure> {
        Result { () throws(AuthFailure) in try check(token, keys: keys, now: now) }
    }

    private func check(_ token: String, keys: JSONWebKeySet, now: Int64) throws(AuthFailure) -> Principal {
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw AuthFailure(.malformed, parts.count == 5 ? "Encrypted (JWE) tokens are not accepted"
                                                           : "Not a JWT: expected three base64url parts")
        }
        guard let headerBytes = Base64URL.decode(parts[0]), case .object(let header)? = try? JSONParser.parse(headerBytes) else {
            throw AuthFailure(.malformed, "The JWT header is not base64url JSON")
        }
        guard let alg = header["alg"]?.stringValue else { throw AuthFailure(.malformed, "The JWT header has no \"alg\"") }
        guard alg != "none", algorithms.contains(alg) else {
            throw AuthFailure(.algorithm, alg.hasPrefix("HS") ? "Algorithm \(alg) refused: symmetric algorithms are not accepted"
                                                              : "Algorithm \"\(alg)\" refused (accepted: \(algorithms.sorted().joined(separator: ", ")))")
        }
        // RFC 7515 section 4.1.11: extensions we do not understand must fail.
        if header["crit"] != nil { throw AuthFailure(.malformed, "The JWT header has \"crit\" extensions this server does not understand") }
        let kid = header["kid"]?.stringValue
        guard let key = keys.key(kid: kid, alg: alg) else {
            throw AuthFailure(.unknownKey, kid.map { "No key with kid \"\($0)\" in the JWKS" } ?? "The JWT names no kid and no single key fits \(alg)",
                              kid: kid)
        }
        guard key.material.fits(alg), key.alg == nil || key.alg == alg else {
            throw AuthFailure(.algorithm, "Algorithm \(alg) does not fit the key \(kid ?? "")")
        }
        guard let signature = Base64URL.decode(parts[2]) else { throw AuthFailure(.malformed, "The JWT signature is not base64url") }
        // The signing input is the first two parts as sent, with their dot.
        let input = Array(token.utf8.prefix(parts[0].count + 1 + parts[1].count))
        guard key.material.verify(alg: alg, signature: signature, input: input) else {
            throw AuthFailure(.signature, "The JWT signature does not verify")
        }
        guard let payloadBytes = Base64URL.decode(parts[1]), case .object(let claims)? = try? JSONParser.parse(payloadBytes) else {
            throw AuthFailure(.malformed, "The JWT payload is not base64url JSON")
        }
        try checkTimes(claims, now: now)
        guard claims["iss"]?.stringValue == issuer else {
            throw AuthFailure(.issuer, "Issuer \(Self.describe(claims["iss"])) is not the expected \"\(issuer)\"")
        }
        let aud: [String]
        switch claims["aud"] {
        case .string(let s)?: aud = [s]
        case .array(let a)?: aud = a.compactMap(\.stringValue)
        default: aud = []
        }
        guard aud.contains(where: { audiences.contains($0) }) else {
            throw AuthFailure(.audience, "Audience \(Self.describe(claims["aud"])) does not include this resource (\(audiences.joined(separator: ", ")))")
        }
        return Principal(subject: claims["sub"]?.stringValue,
                         clientID: claims["client_id"]?.stringValue ?? claims["azp"]?.stringValue,
                         issuer: issuer, scopes: Self.scopes(claims), claims: claims)
    }

    private func checkTimes(_ claims: JSONObject, now: Int64) throws(AuthFailure) {
        guard let exp = Self.seconds(claims["exp"]) else {
            throw AuthFailure(.malformed, "The JWT has no numeric \"exp\" (RFC 9068 requires one)")
        }
        if now > exp + clockSkewSeconds {
            throw AuthFailure(.expired, "The token expired \(now - exp) s ago (clock skew allowed: \(clockSkewSeconds) s)")
        }
        if let v = claims["nbf"] {
            guard let nbf = Self.seconds(v) else { throw AuthFailure(.malformed, "The JWT \"nbf\" is not a number") }
            if now + clockSkewSeconds < nbf {
                throw AuthFailure(.notYetValid, "The token is not valid for another \(nbf - now) s (clock skew allowed: \(clockSkewSeconds) s)")
            }
        }
    }

    /// A NumericDate: seconds, possibly fractional.
    static func seconds(_ v: JSONValue?) -> Int64? {
        switch v {
        case .int(let i)?: return i
        case .double(let d)? where d.isFinite && abs(d) < 9e15: return Int64(d.rounded(.down))
        default: return nil
        }
    }

    /// `scope` (space-separated, RFC 9068) or `scp` (array or string, a common variant).
    static func scopes(_ claims: JSONObject) -> [String] {
        switch claims["scope"] ?? claims["scp"] {
        case .string(let s)?: return Principal.splitScopes(s)
        case .array(let a)?: return a.compactMap(\.stringValue)
        default: return []
        }
    }

    /// A claim for an error message, shortened (claims are the client's text).
    private static func describe(_ v: JSONValue?) -> String {
        guard let v else { return "(none)" }
        let text = JSONSerializer.string(v)
        return text.count > 120 ? String(text.prefix(120)) + "..." : text
    }
}
