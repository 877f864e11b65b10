/// Opaque pagination cursors. A cursor names the list, the position and the
/// key found there (so pages stay stable when items are added or removed),
/// and carries a keyed SipHash tag so a forged or edited cursor is refused
/// with -32602 instead of being trusted.
struct CursorCodec: Sendable {
    private let key: (UInt64, UInt64)

    init() {
        var rng = SystemRandomNumberGenerator()
        key = (rng.next(), rng.next())
    }

    struct Position: Equatable {
        var list: String
        var index: Int
        var key: String
    }

    func encode(_ p: Position) -> String {
        let payload = Array("\(p.list)\u{0}\(p.index)\u{0}\(p.key)".utf8)
        return Self.hex(payload) + "." + Self.hex(tag(payload))
    }

    func decode(_ cursor: String, list: String) -> Position? {
        let pieces = cursor.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count == 2, let payload = Self.unhex(pieces[0]), let t = Self.unhex(pieces[1]),
            t == tag(payload)
        else { return nil }
        let fields = payload.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3, String(decoding: fields[0], as: UTF8.self) == list,
            let index = Int(String(decoding: fields[1], as: UTF8.self)), index >= 0
        else { return nil }
        return Position(list: list, index: index, key: String(decoding: fields[2], as: UTF8.self))
    }

    private func tag(_ payload: [UInt8]) -> [UInt8] {
        // Hasher is SipHash with a per-process random seed; mixing in our own
        // random key makes the tag unguessable to the client.
        var h = Hasher()
        h.combine(key.0)
        h.combine(key.1)
        h.combine(payload.count)
        payload.withUnsafeBytes { h.combine(bytes: $0) }
        let v = UInt64(bitPattern: Int64(h.finalize()))
        return (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
    }

    private static let digits = Array("0123456789abcdef".utf8)

    private static func hex(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func unhex(_ s: Substring) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let hi = value(u[i]), let lo = value(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
