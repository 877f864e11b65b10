internal import CJSONScan

/// Writes JSON text through a raw pointer into room the caller gave, for the
/// small texts that are nearly every message. Each step checks the room left
/// and reports `false` when it ran out; the caller then writes the value
/// again on the growing path (JSONSerializer.bytes). Appending to an Array
/// checked its capacity and uniqueness at every token, which made a 240-byte
/// answer cost ~10K instructions (callgrind, bench/instr_bench.py).
struct JSONRawWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private let limit: Int
    private(set) var count = 0

    init(_ base: UnsafeMutablePointer<UInt8>, limit: Int) {
        self.base = base
        self.limit = limit
    }

    @inline(__always)
    private mutating func byte(_ b: UInt8) -> Bool {
        guard count < limit else { return false }
        base[count] = b
        count += 1
        return true
    }

    @inline(__always)
    private mutating func bytes(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard limit - count >= n else { return false }
        (base + count).update(from: p, count: n)
        count += n
        return true
    }

    private mutating func literal(_ s: StaticString) -> Bool {
        bytes(s.utf8Start, s.utf8CodeUnitCount)
    }

    mutating func value(_ v: JSONValue) -> Bool {
        switch v {
        case .null: return literal("null")
        case .bool(let b): return b ? literal("true") : literal("false")
        case .int(let i): return int(i)
        case .double(let d):
            var text: [UInt8] = []
            JSONSerializer.writeDouble(d, to: &text)
            return text.withUnsafeBufferPointer { t in t.baseAddress.map { bytes($0, t.count) } ?? true }
        case .string(let s): return string(s)
        case .array(let items):
            guard byte(UInt8(ascii: "[")) else { return false }
            // Through the buffer: iterating the array copied (retained) each item.
            let ok = items.withUnsafeBufferPointer { all -> Bool in
                for i in all.indices {
                    if i > 0 { guard byte(UInt8(ascii: ",")) else { return false } }
                    guard value(all[i]) else { return false }
                }
                return true
            }
            return ok && byte(UInt8(ascii: "]"))
        case .object(let o):
            guard byte(UInt8(ascii: "{")) else { return false }
            let ok = o.members.withUnsafeBufferPointer { all -> Bool in
                for i in all.indices {
                    if i > 0 { guard byte(UInt8(ascii: ",")) else { return false } }
                    guard string(all[i].key), byte(UInt8(ascii: ":")), value(all[i].value) else { return false }
                }
                return true
            }
            return ok && byte(UInt8(ascii: "}"))
        }
    }

    private mutating func int(_ i: Int64) -> Bool {
        guard limit - count >= 20 else { return false }
        if i >= 0 && i < 10 {
            base[count] = UInt8(ascii: "0") + UInt8(i)
            count += 1
            return true
        }
        var m = i.magnitude
        var digits = 0
        var t = m
        repeat { digits += 1; t /= 10 } while t > 0
        if i < 0 { base[count] = UInt8(ascii: "-"); count += 1 }
        var at = count + digits
        repeat {
            at -= 1
            base[at] = UInt8(ascii: "0") + UInt8(m % 10)
            m /= 10
        } while m > 0
        count += digits
        return true
    }

    mutating func string(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { utf8 in stringBytes(utf8) }
    }

    private mutating func stringBytes(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        guard byte(UInt8(ascii: "\"")) else { return false }
        guard let p = buf.baseAddress else { return byte(UInt8(ascii: "\"")) }
        let n = buf.count
        var runStart = 0
        var i = 0
        while i < n {
            i = n < 32 ? Self.nextEscapedShort(p, from: i, count: n) : Int(json_scan_escaped(p, i, n))
            if runStart < i { guard bytes(p + runStart, i - runStart) else { return false } }
            guard i < n else { break }
            let c = p[i]
            i += 1
            runStart = i
            guard escape(c) else { return false }
        }
        return byte(UInt8(ascii: "\""))
    }

    /// A short string is checked here rather than by the vector scan, whose
    /// call and set-up cost more than the few bytes it would look at.
    @inline(__always)
    private static func nextEscapedShort(_ p: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int {
        var i = start
        while i < count {
            let c = p[i]
            if c < 0x20 || c == 0x22 || c == 0x5C { return i }
            i += 1
        }
        return count
    }

    private mutating func escape(_ c: UInt8) -> Bool {
        guard limit - count >= 6 else { return false }
        base[count] = 0x5C
        switch c {
        case 0x22: base[count + 1] = 0x22
        case 0x5C: base[count + 1] = 0x5C
        case 0x0A: base[count + 1] = UInt8(ascii: "n")
        case 0x0D: base[count + 1] = UInt8(ascii: "r")
        case 0x09: base[count + 1] = UInt8(ascii: "t")
        case 0x08: base[count + 1] = UInt8(ascii: "b")
        case 0x0C: base[count + 1] = UInt8(ascii: "f")
        default:
            let hex: StaticString = "0123456789abcdef"
            base[count + 1] = UInt8(ascii: "u")
            base[count + 2] = UInt8(ascii: "0")
            base[count + 3] = UInt8(ascii: "0")
            base[count + 4] = hex.utf8Start[Int(c >> 4)]
            base[count + 5] = hex.utf8Start[Int(c & 0xF)]
            count += 6
            return true
        }
        count += 2
        return true
    }
}
