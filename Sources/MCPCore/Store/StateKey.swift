import Crypto

/// The one secret every node of a fleet shares (the everything server's
/// `--state-key FILE`, the server option "state_key"): at least 32 random
/// bytes, from which each shared secret is derived with HKDF-SHA256 under its
/// own label, so no two purposes share a key and adding one later changes
/// none of the others. Today it yields the requestState HMAC key (MRTR).
/// Session ids need no shared secret: they are 128 CSPRNG bits, checked
/// against the store, not against a signature.
public struct StateKey: Sendable {
    public static let minBytes = 32
    private let secret: [UInt8]

    /// nil when `secret` is shorter than minBytes.
    public init?(_ secret: [UInt8]) {
        guard secret.count >= Self.minBytes else { return nil }
        self.secret = secret
    }

    /// A key from hex text (upper or lower case, 64 digits or more); nil otherwise.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        var i = 0
        while i < digits.count {
            guard let hi = nibble(digits[i]), let lo = nibble(digits[i + 1]) else { return nil }
            bytes.append(hi << 4 | lo)
            i += 2
        }
        self.init(bytes)
    }

    /// The 32-byte key of one purpose ("requestState v1", ...).
    public func derive(_ label: String) -> [UInt8] {
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), salt: Array("libmcp state key".utf8),
                                         info: Array(label.utf8), outputByteCount: 32)
        return key.withUnsafeBytes { Array($0) }
    }

    /// The requestState HMAC key (RequestStateOptions.keys).
    public var requestStateKey: [UInt8] { derive("requestState v1") }
}
