// A strict RFC 8259 parser over raw bytes. Written here rather than using
// JSONDecoder because the engine needs (1) a hard nesting limit so hostile input
// such as 200,000 nested arrays is refused instead of overflowing the stack,
// (2) integers kept exact and apart from doubles, (3) member order kept, and
// (4) invalid UTF-8 refused as a parse error rather than silently repaired.

internal import CJSONScan

public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}

public struct JSONParser {
    public static let defaultMaxDepth = 512

    /// Parses one complete JSON text; trailing non-space bytes are an error.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONParseError)
        -> JSONValue
    {
        var p = JSONParser(bytes: bytes.bindMemory(to: UInt8.self), maxDepth: maxDepth)
        p.skipSpace()
        let v = try p.parseValue(depth: 0)
        p.skipSpace()
        if p.pos != p.end { throw p.error("Unexpected data after the JSON value") }
        return v
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        var copy = text
        let r = copy.withUTF8 { buf in
            Result { () throws(JSONParseError) in try parse(UnsafeRawBufferPointer(buf), maxDepth: maxDepth) }
        }
        return try r.get()
    }

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        let r = bytes.withUnsafeBytes { buf in
            Result { () throws(JSONParseError) in try parse(buf, maxDepth: maxDepth) }
        }
        return try r.get()
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private let maxDepth: Int
    private var pos: Int = 0
    private var end: Int { bytes.count }

    private init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    private func error(_ message: String) -> JSONParseError {
        JSONParseError(message: message, offset: pos)
    }

    private mutating func skipSpace() {
        while pos < end {
            switch bytes[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard pos < end else { throw error("Unexpected end of input") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("Unexpected character")
        }
    }

    private mutating func expectWord(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        guard end - pos >= n else { throw error("Unexpected end of input") }
        let w = word.utf8Start
        for i in 0..<n where bytes[pos + i] != w[i] { throw error("Invalid literal") }
        pos += n
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > maxDepth { throw error("Nesting deeper than \(maxDepth) levels") }
        pos += 1
        var members: [JSONObject.Member] = []
        skipSpace()
        if pos < end, bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            return .object(JSONObject(uniqueMembers: members))
        }
        // Room for a typical small object in one allocation, not 1, 2, 4.
        members.reserveCapacity(4)
        // Duplicates: a linear look-back while the object is small, then an
        // index of names, so a wide object costs time in proportion to its size.
        var index: [String: Int] = [:]
        var duplicates: [String] = []
        var repeated = Set<Int>()
        while true {
            skipSpace()
            guard pos < end, bytes[pos] == UInt8(ascii: "\"") else { throw error("Expected a member name") }
            let key = try parseString(interning: true)
            skipSpace()
            guard pos < end, bytes[pos] == UInt8(ascii: ":") else { throw error("Expected ':'") }
            pos += 1
            skipSpace()
            let value = try parseValue(depth: depth)
            let earlier: Int?
            if members.count < Self.linearLookBack {
                // Lengths first (O(1) for native strings): names such as
                // "io.modelcontextprotocol/clientInfo" share long prefixes.
                let length = key.utf8.count
                earlier = members.firstIndex { $0.key.utf8.count == length && $0.key == key }
            } else {
                if index.isEmpty {
                    index.reserveCapacity(Self.linearLookBack * 4)
                    for (i, m) in members.enumerated() { index[m.key] = i }
                }
                earlier = index[key]
                if earlier == nil { index[key] = members.count }
            }
            if let earlier {
                // Last one wins, as in most parsers; the first position is kept.
                members[earlier].value = value
                if repeated.insert(earlier).inserted { duplicates.append(key) }
            } else {
                members.append(JSONObject.Member(key: key, value: value))
            }
            skipSpace()
            guard pos < end else { throw error("Unexpected end of input in object") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; break }
            throw error("Expected ',' or '}'")
        }
        return .object(JSONObject(uniqueMembers: members, duplicateKeys: duplicates))
    }

    /// Members checked for duplicates by scanning back before an index is built.
    private static let linearLookBack = 16

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > maxDepth { throw error("Nesting deeper than \(maxDepth) levels") }
        pos += 1
        var items: [JSONValue] = []
        skipSpace()
        if pos < end, bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try parseValue(depth: depth))
            skipSpace()
            guard pos < end else { throw error("Unexpected end of input in array") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; break }
            throw error("Expected ',' or ']'")
        }
        return .array(items)
    }

    /// `interning`: a member name; the protocol's long ones come back as the
    /// one shared literal (InternedKeys).
    private mutating func parseString(interning: Bool = false) throws(JSONParseError) -> String {
        pos += 1  // opening quote
        let start = pos
        var ascii = true
        skipPlain(ascii: &ascii)
        guard pos < end else { throw error("Unterminated string") }
        if bytes[pos] == UInt8(ascii: "\"") {
            // No escapes: the string is the bytes themselves.
            let slice = UnsafeBufferPointer(rebasing: bytes[start..<pos])
            pos += 1
            if interning, let known = InternedKeys.match(slice) { return known }
            if ascii { return String(decoding: slice, as: UTF8.self) }
            guard let s = String(validating: slice, as: UTF8.self) else {
                throw JSONParseError(message: "Invalid UTF-8 in string", offset: start)
            }
            return s
        }
        // Escapes present: collect the runs between them, then validate once.
        var out: [UInt8] = []
        out.reserveCapacity(pos - start + 16)
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<pos]))
        while true {
            guard pos < end else { throw error("Unterminated string") }
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                // Escapes only ever produce valid UTF-8: raw bytes decide.
                if ascii { return String(decoding: out, as: UTF8.self) }
                guard let s = String(validating: out, as: UTF8.self) else {
                    throw JSONParseError(message: "Invalid UTF-8 in string", offset: start)
                }
                return s
            }
            if c < 0x20 { throw error("Control character in string") }
            pos += 1  // the backslash
            guard pos < end else { throw error("Unterminated escape") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by a low one.
                    guard end - pos >= 6, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                        throw error("Unpaired surrogate in string")
                    }
                    pos += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("Unpaired surrogate in string") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw error("Unpaired surrogate in string")
                }
                guard let u = Unicode.Scalar(scalar), let encoded = UTF8.encode(u) else { throw error("Invalid escape") }
                out.append(contentsOf: encoded)
            default:
                throw error("Invalid escape")
            }
            let run = pos
            skipPlain(ascii: &ascii)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<pos]))
        }
    }

    /// Moves `pos` to the next byte that ends a plain run of string bytes (a
    /// quote, a backslash, a control character) or to the end (the vector
    /// scan, CJSONScan); clears `ascii` if the run holds a byte of 0x80 or more.
    private mutating func skipPlain(ascii: inout Bool) {
        guard let base = bytes.baseAddress else { return }
        var nonASCII: Int32 = 0
        pos = Int(json_scan_plain(base, pos, end, &nonASCII))
        if nonASCII != 0 { ascii = false }
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard end - pos >= 4 else { throw error("Truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("Invalid \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = pos
        var negative = false
        if bytes[pos] == UInt8(ascii: "-") {
            negative = true
            pos += 1
        }
        guard pos < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) else {
            throw error("Invalid number")
        }
        var integral = true
        var magnitude: UInt64 = 0
        var overflow = false
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else {
            while pos < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) {
                let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(UInt64(bytes[pos] - UInt8(ascii: "0")))
                overflow = overflow || o1 || o2
                magnitude = m2
                pos += 1
            }
        }
        if pos < end, bytes[pos] == UInt8(ascii: ".") {
            integral = false
            pos += 1
            guard pos < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) else {
                throw error("Invalid number")
            }
            while pos < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) { pos += 1 }
        }
        if pos < end, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            integral = false
            pos += 1
            if pos < end, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) else {
                throw error("Invalid number")
            }
            while pos < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) { pos += 1 }
        }
        if integral, !overflow {
            if negative {
                if magnitude <= UInt64(Int64.max) + 1 {
                    return .int(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
                }
            } else if magnitude <= UInt64(Int64.max) {
                return .int(Int64(magnitude))
            }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw JSONParseError(message: "Number out of range", offset: start) }
        return .double(d)
    }
}
