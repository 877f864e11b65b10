import Crypto
import CryptoExtras

/// A private_key_jwt client assertion (RFC 7523 section 2.2, the client
/// authentication the oauth-client-credentials extension recommends): a JWT
/// the client signs with its own key, with iss and sub its client id, aud
/// the authorization server, a five-minute life and a random jti.
public enum ClientAssertion {
    public static let type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    /// Whether `pem` holds a key sign() can use (RSA, or EC P-256).
    public static func isUsable(pem: String) -> Bool {
        (try? P256.Signing.PrivateKey(pemRepresentation: pem)) != nil
            || (try? _RSA.Signing.PrivateKey(pemRepresentation: pem)) != nil
    }

    /// The signed assertion (ES256 for a P-256 key, RS256 for RSA); nil when
    /// the key cannot be read or used.
    public static func sign(pem: String, kid: String?, clientID: String, audience: String, now: Int64) -> String? {
        var rng = SystemRandomNumberGenerator()
        let jti = Base64URL.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let claims = JSONObject(["iss": .string(clientID), "sub": .string(clientID), "aud": .string(audience),
                                 "iat": .int(now), "exp": .int(now + 300), "jti": .string(jti)])
        let body = Base64URL.encode(JSONSerializer.bytes(.object(claims)))
        func input(_ alg: String) -> String {
            var h = JSONObject(["alg": .string(alg), "typ": "JWT"])
            if let kid { h["kid"] = .string(kid) }
            return Base64URL.encode(JSONSerializer.bytes(.object(h))) + "." + body
        }
        if let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) {
            let signed = input("ES256")
            guard let sig = try? key.signature(for: SHA256.hash(data: Array(signed.utf8))) else { return nil }
            return signed + "." + Base64URL.encode(Array(sig.rawRepresentation))
        }
        if let key = try? _RSA.Signing.PrivateKey(pemRepresentation: pem) {
            let signed = input("RS256")
            guard let sig = try? key.signature(for: SHA256.hash(data: Array(signed.utf8)), padding: .insecurePKCS1v1_5) else {
                return nil
            }
            return signed + "." + Base64URL.encode(Array(sig.rawRepresentation))
        }
        return nil
    }
}
