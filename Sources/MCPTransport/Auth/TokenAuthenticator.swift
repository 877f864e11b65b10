import Glibc
import MCPCore
import MCPRuntime

/// The host's own token check (mcp_server_set_token_verifier): given a
/// bearer token, it answers once, from any thread, with the principal or a
/// refusal. Used for tokens the JWT checks do not take (opaque tokens,
/// introspection), or for all tokens when no JWKS is configured.
public typealias HostTokenVerifier = @Sendable (String, @escaping @Sendable (Result<Principal, AuthFailure>) -> Void) -> Void

/// Turns a request's Authorization header into a Principal or an
/// AuthFailure: the size limit, then a JWT's checks against the JWKS (with
/// one rate-limited refetch for an unknown `kid`), else the host's verifier.
/// Every refusal is logged (component "auth") with its reason, never the token.
final class TokenAuthenticator: Sendable {
    let config: AuthConfig
    private let policy: JWTAccessTokenPolicy?
    private let jwks: JWKSProvider?
    private let hostVerifier: HostTokenVerifier?

    init(config: AuthConfig, hostVerifier: HostTokenVerifier?) throws(HTTPServerError) {
        let problems = config.problems(hostVerifier: hostVerifier != nil)
        guard problems.isEmpty else { throw .invalidConfig("auth: " + problems.joined(separator: "; ")) }
        self.config = config
        self.hostVerifier = hostVerifier
        policy = config.jwtPolicy
        jwks = policy == nil ? nil : try JWKSProvider(config: config)
    }

    func shutdown() { jwks?.shutdown() }

    /// Checks `authorization` (the header's value, nil when absent); `done`
    /// runs once, on this thread when no I/O was needed, else on another.
    /// `log` false: a refusal is not logged (the caller checks again and logs).
    func authenticate(_ authorization: String?, path: Substring, log: Bool = true,
                      _ done: @escaping @Sendable (Result<Principal, AuthFailure>) -> Void)
    {
        let finish: @Sendable (Result<Principal, AuthFailure>) -> Void = { result in
            if log, case .failure(let f) = result, f.reason != .missing {
                EngineLog.warning("auth", "Access token refused", ["reason": .string(f.reason.rawValue),
                                                                   "detail": .string(f.detail), "path": .string(String(path))])
            }
            done(result)
        }
        guard let token = Self.bearerToken(authorization) else {
            return finish(.failure(AuthFailure(.missing, "No bearer token")))
        }
        guard token.utf8.count <= config.maxTokenBytes else {
            return finish(.failure(AuthFailure(.tooLarge, "The token is \(token.utf8.count) bytes, over the \(config.maxTokenBytes)-byte limit")))
        }
        guard let policy, let jwks, hostVerifier == nil || JWTAccessTokenPolicy.looksLikeJWT(token) else {
            guard let hostVerifier else { return finish(.failure(AuthFailure(.malformed, "Not a JWT"))) }
            return hostVerifier(token, finish)
        }
        guard let keys = jwks.current else {
            // The first fetch of jwks_url has not succeeded yet.
            return jwks.refetch { keys in
                guard let keys else { return finish(.failure(AuthFailure(.unavailable, "The authorization server's keys (jwks_url) could not be fetched"))) }
                finish(policy.verify(token, keys: keys, now: Self.now()))
            }
        }
        let first = policy.verify(token, keys: keys, now: Self.now())
        guard case .failure(let f) = first, f.reason == .unknownKey, f.kid != nil else { return finish(first) }
        // Keys rotate: an unknown kid may be new. Refetch (rate-limited) and try once more.
        jwks.refetch { fresh in
            guard let fresh else { return finish(first) }
            finish(policy.verify(token, keys: fresh, now: Self.now()))
        }
    }

    /// The token of `Authorization: Bearer <token>` (scheme without case,
    /// RFC 6750 section 2.1); nil for no header, another scheme or no token.
    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let trimmed = header.trimmingOWS()
        guard trimmed.utf8.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let token = trimmed.dropFirst(7).trimmingOWS()
        return token.isEmpty ? nil : token
    }

    /// Milliseconds until `principal`'s token is no longer accepted (its
    /// expiry plus the clock skew; 0 or less: already); nil when it names no
    /// expiry. For connections that outlive the request that authenticated them.
    func msUntilExpiry(_ principal: Principal) -> Int64? {
        guard let exp = principal.expiresAt else { return nil }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let nowMs = Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
        // A hostile "exp" must not trap: out of range means no usable expiry.
        let (deadline, o1) = exp.addingReportingOverflow(config.clockSkewSeconds)
        let (deadlineMs, o2) = deadline.multipliedReportingOverflow(by: 1000)
        return o1 || o2 ? nil : deadlineMs - nowMs
    }

    private static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }
}
