// Compact JSON output (no spaces, no raw newlines), as stdio framing requires.

internal import CJSONScan

public enum JSONSerializer {
    /// The text of `value`; `extra` more bytes of room are kept at the end
    /// (for a terminator the caller adds).
    /// With `buffer`, the text goes into the array it gives for the estimated
    /// size (MessageChannel.outputBuffer: a reused one for large answers).
    public static func bytes(_ value: JSONValue, extra: Int = 0, buffer: ((Int) -> [UInt8])? = nil) -> [UInt8] {
        // Most messages are small: a first try in fixed room, with no walk to
        // size them, then one in room sized from the estimate (JSONRawWriter).
        if let out = raw(value, room: firstRoom, extra: extra) { return out }
        // One allocation even for megabytes: growing by doubling would copy
        // the text again and fault in fresh pages at each step.
        let size = estimatedSize(value) + extra
        if size <= rawLimit, let out = raw(value, room: size + size / 4 + 64, extra: extra) { return out }
        var out = buffer?(size) ?? emptyBuffer(capacity: size)
        var seen = PlainString()
        write(value, to: &out, &seen)
        return out
    }

    /// Room for the first, unsized try: most answers and notifications fit.
    /// Under 1 KiB with the array's header, so that the allocation comes from
    /// malloc's per-thread cache (a 2 KiB one cost ~2K instructions).
    static let firstRoom = 960
    /// Up to this estimate a text is written through the raw writer; above,
    /// into the caller's buffer, where large strings are copied whole.
    static let rawLimit = 1 << 16

    /// The text of `value` with `extra` bytes of spare capacity, or nil when
    /// it does not fit in `room`.
    private static func raw(_ value: JSONValue, room: Int, extra: Int) -> [UInt8]? {
        var fits = false
        let out = [UInt8](unsafeUninitializedCapacity: room + extra) { buf, count in
            count = 0
            guard let base = buf.baseAddress else { return }
            var w = JSONRawWriter(base, limit: room)
            fits = w.value(value)
            if fits { count = w.count }
        }
        return fits ? out : nil
    }

    /// The last large string written that needed no escapes, by the address
    /// and length of its UTF-8: the same string written again (a tool's text
    /// in its content and in structuredContent) is copied without a second
    /// scan. Strings are immutable, so the same bytes at the same address,
    /// while the value being written holds them, are the same text.
    struct PlainString {
        static let from = 1 << 16
        var base: UnsafeRawPointer?
        var count = 0
    }

    public static func emptyBuffer(capacity: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(capacity)
        return out
    }

    /// About the size of the text: string lengths are O(1) to read, so this
    /// walks the nodes, not the bytes. Escapes may need more (one regrowth).
    static func estimatedSize(_ value: JSONValue) -> Int {
        switch value {
        case .null, .bool: return 5
        case .int, .double: return 20
        case .string(let s): return s.utf8.count + 2
        case .array(let items): return items.reduce(2) { $0 + estimatedSize($1) + 1 }
        case .object(let o): return o.members.reduce(2) { $0 + $1.key.utf8.count + 4 + estimatedSize($1.value) }
        }
    }

    public static func string(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    public static func write(_ value: JSONValue, to out: inout [UInt8]) {
        var seen = PlainString()
        write(value, to: &out, &seen)
    }

    private static func write(_ value: JSONValue, to out: inout [UInt8], _ seen: inout PlainString) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): writeInt(i, to: &out)
        case .double(let d): writeDouble(d, to: &out)
        case .string(let s): writeString(s, to: &out, &seen)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            var first = true
            for item in items {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                write(item, to: &out, &seen)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            var first = true
            for m in o.members {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeString(m.key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(m.value, to: &out, &seen)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeInt(_ i: Int64, to out: inout [UInt8]) {
        if i >= 0 && i < 10 {
            out.append(UInt8(ascii: "0") + UInt8(i))
            return
        }
        out.append(contentsOf: String(i).utf8)
    }

    static func writeDouble(_ d: Double, to out: inout [UInt8]) {
        guard d.isFinite else {
            out.append(contentsOf: "null".utf8)
            return
        }
        if d.rounded() == d, abs(d) < 1e15 {
            // Integral doubles print without a fraction ("30" rather than "30.0").
            out.append(contentsOf: String(Int64(d)).utf8)
            return
        }
        out.append(contentsOf: d.description.utf8)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { writeString(UnsafeRawBufferPointer($0), to: &out) }
    }

    private static func writeString(_ s: String, to out: inout [UInt8], _ seen: inout PlainString) {
        // The string's own storage (not a temporary copy, whose address a
        // later copy could take), for large strings only.
        let written: Void? = s.utf8.count < PlainString.from ? nil : s.utf8.withContiguousStorageIfAvailable { utf8 in
            let buf = UnsafeRawBufferPointer(utf8)
            guard let base = buf.baseAddress else { return writeString(buf, to: &out) }
            if seen.base == base && seen.count == buf.count {
                out.reserveCapacity(out.count + buf.count + 2)
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: utf8)
                out.append(UInt8(ascii: "\""))
                return
            }
            let start = out.count
            writeString(buf, to: &out)
            // Nothing escaped: the text came out as its bytes plus two quotes.
            if out.count - start == buf.count + 2 { seen = PlainString(base: base, count: buf.count) }
        }
        if written == nil { writeString(s, to: &out) }
    }

    /// Writes UTF-8 bytes as a JSON string: plain runs are found by the vector
    /// scan (CJSONScan) and copied whole. The bytes are not checked as UTF-8.
    public static func writeString(_ buf: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + buf.count + 2)
        out.append(UInt8(ascii: "\""))
        guard let base = buf.baseAddress else {
            out.append(UInt8(ascii: "\""))
            return
        }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        let n = buf.count
        var runStart = 0
        var i = 0
        while i < n {
            i = nextEscaped(base, from: i, count: n)
            if runStart < i { out.append(contentsOf: UnsafeBufferPointer(start: bytes + runStart, count: i - runStart)) }
            guard i < n else { break }
            let c = bytes[i]
            i += 1
            runStart = i
            switch c {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            default:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hex[Int(c >> 4)])
                out.append(hex[Int(c & 0xF)])
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The index of the first byte from `i` that must be escaped (a quote, a
    /// backslash, a control character), or `count`.
    private static func nextEscaped(_ base: UnsafeRawPointer, from start: Int, count: Int) -> Int {
        Int(json_scan_escaped(base.assumingMemoryBound(to: UInt8.self), start, count))
    }
}
