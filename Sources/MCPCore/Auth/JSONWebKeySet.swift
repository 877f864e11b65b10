import Crypto
import CryptoExtras

/// The public keys a JWKS document (RFC 7517) holds, ready to check JWS
/// signatures: RSA (RS256/384/512), EC P-256 and P-384 (ES256/ES384) and
/// OKP Ed25519 (EdDSA). Keys of other kinds, private or symmetric members
/// ("oct"), keys marked for encryption (`use` "enc") and RSA keys under
/// 2048 bits are left out, and counted in `skipped`.
///
/// Built on swift-crypto (Crypto + CryptoExtras), which the package already
/// uses, rather than vapor/jwt-kit 5.x: jwt-kit's swift-crypto range
/// (4.1.0..<6.0.0) fits, but its only public verification path is the
/// `JWTKeyCollection` actor (async, with Swift's concurrency threads in an
/// engine that runs its own), its signers are internal, it verifies a token
/// whose `kid` it does not know with its default key (which would hide the
/// unknown `kid` that must trigger a JWKS refetch), it has no clock-skew
/// leeway, and it would add swift-certificates, swift-asn1, swift-log and
/// swift-extras-base64 to every build. The cryptography itself is swift-crypto's.
public struct JSONWebKeySet: Sendable {
    public enum Material: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)

        /// Whether JWS algorithm `alg` is one this key can check.
        func fits(_ alg: String) -> Bool {
            switch (self, alg) {
            case (.rsa, "RS256"), (.rsa, "RS384"), (.rsa, "RS512"), (.p256, "ES256"), (.p384, "ES384"),
                 (.ed25519, "EdDSA"), (.ed25519, "Ed25519"):
                return true
            default: return false
            }
        }
    }

    public struct Key: Sendable {
        public let kid: String?
        /// The JWK's own `alg`, when it names one: then only that algorithm is accepted.
        public let alg: String?
        public let material: Material
    }

    public let keys: [Key]
    /// Keys of the document that could not be used (see the type's comment).
    public let skipped: Int

    public init(keys: [Key], skipped: Int = 0) {
        self.keys = keys
        self.skipped = skipped
    }

    /// Reads a JWKS document; throws when it is not `{"keys": [...]}`.
    public init(json: JSONValue) throws(AuthFailure) {
        guard let list = json["keys"]?.arrayValue else {
            throw AuthFailure(.malformed, "A JWKS must be a JSON object with a \"keys\" array")
        }
        var keys: [Key] = []
        var skipped = 0
        for item in list {
            if let k = Self.key(item) { keys.append(k) } else { skipped += 1 }
        }
        self.init(keys: keys, skipped: skipped)
    }

    public init(text: String) throws(AuthFailure) {
        let value: JSONValue
        do { value = try JSONParser.parse(text) } catch {
            throw AuthFailure(.malformed, "The JWKS is not JSON: \(error)")
        }
        try self.init(json: value)
    }

    /// The key for a token's `kid` and `alg`. A token without `kid` may use
    /// the only key that fits its algorithm.
    func key(kid: String?, alg: String) -> Key? {
        if let kid { return keys.first { $0.kid == kid } }
        let fitting = keys.filter { $0.material.fits(alg) }
        return fitting.count == 1 ? fitting[0] : nil
    }

    private static func key(_ v: JSONValue) -> Key? {
        guard case .object(let o) = v, let kty = o["kty"]?.stringValue else { return nil }
        if let use = o["use"]?.stringValue, use != "sig" { return nil }
        // A private member in a published JWKS is a leak; such a document's key is not trusted.
        if o["d"] != nil { return nil }
        func bytes(_ name: String) -> [UInt8]? { o[name]?.stringValue.flatMap { Base64URL.decode($0.utf8) } }
        let material: Material
        do {
            switch kty {
            case "RSA":
                guard let n = bytes("n"), let e = bytes("e") else { return nil }
                material = .rsa(try _RSA.Signing.PublicKey(n: n, e: e))
            case "EC":
                guard let x = bytes("x"), let y = bytes("y") else { return nil }
                switch o["crv"]?.stringValue {
                case "P-256": material = .p256(try P256.Signing.PublicKey(rawRepresentation: x + y))
                case "P-384": material = .p384(try P384.Signing.PublicKey(rawRepresentation: x + y))
                default: return nil
                }
            case "OKP":
                guard o["crv"]?.stringValue == "Ed25519", let x = bytes("x") else { return nil }
                material = .ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: x))
            default:
                return nil
            }
        } catch {
            return nil
        }
        return Key(kid: o["kid"]?.stringValue, alg: o["alg"]?.stringValue, material: material)
    }
}

extension JSONWebKeySet.Material {
    /// Checks a JWS signature (`signature` as the JWS carries it) over `input`.
    func verify(alg: String, signature: [UInt8], input: [UInt8]) -> Bool {
        switch self {
        case .rsa(let key):
            let sig = _RSA.Signing.RSASignature(rawRepresentation: signature)
            // RSASSA-PKCS1-v1_5 is what RS256 means (RFC 7518 section 3.3);
            // swift-crypto names it "insecure" only to steer new designs to PSS.
            switch alg {
            case "RS256": return key.isValidSignature(sig, for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
            case "RS384": return key.isValidSignature(sig, for: SHA384.hash(data: input), padding: .insecurePKCS1v1_5)
            case "RS512": return key.isValidSignature(sig, for: SHA512.hash(data: input), padding: .insecurePKCS1v1_5)
            default: return false
            }
        case .p256(let key):
            guard alg == "ES256", let sig = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: SHA256.hash(data: input))
        case .p384(let key):
            guard alg == "ES384", let sig = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: SHA384.hash(data: input))
        case .ed25519(let key):
            return key.isValidSignature(signature, for: input)
        }
    }
}
