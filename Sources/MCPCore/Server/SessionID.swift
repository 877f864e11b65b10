/// Session identifiers: 128 random bits from the system CSPRNG (getrandom),
/// as 32 lowercase hex digits (visible ASCII, safe in HTTP headers).
public enum SessionID {
    public static func random() -> String {
        var rng = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for _ in 0..<2 {
            let v = rng.next() as UInt64
            for shift in stride(from: 60, through: 0, by: -4) { out.append(digits[Int((v >> UInt64(shift)) & 0xF)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
