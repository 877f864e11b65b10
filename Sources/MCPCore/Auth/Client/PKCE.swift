import Crypto

/// A PKCE pair (RFC 7636) with method S256, and the random `state` of one
/// authorization request.
public struct PKCE: Sendable {
    /// 43 characters of base64url over 32 random bytes.
    public let verifier: String
    public let challenge: String
    public let state: String

    public init() {
        var rng = SystemRandomNumberGenerator()
        func random(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        verifier = Base64URL.encode(random(32))
        challenge = Self.challenge(for: verifier)
        state = Base64URL.encode(random(16))
    }

    public static func challenge(for verifier: String) -> String {
        Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8))))
    }

    /// Standard base64 with padding (RFC 4648 section 4), for HTTP Basic.
    public static func base64(_ s: String) -> String {
        var b = Base64URL.encode(Array(s.utf8)).replacingAll("-", "+").replacingAll("_", "/")
        while b.utf8.count % 4 != 0 { b += "=" }
        return b
    }
}

extension String {
    fileprivate func replacingAll(_ a: Character, _ b: Character) -> String {
        String(map { $0 == a ? b : $0 })
    }
}
