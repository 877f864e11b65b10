import Testing
@testable import MCPCore

/// The vector scans (CJSONScan) work in blocks: every stop byte and every
/// non-ASCII byte is tried at each position around the block edges, against
/// a byte-at-a-time reference.
@Suite struct JSONStringScanTests {
    /// What a JSON string of `bytes` must look like, one byte at a time.
    static func referenceEscaped(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x22]
        let hex = Array("0123456789abcdef".utf8)
        for c in bytes {
            switch c {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x08: out += [0x5C, UInt8(ascii: "b")]
            case 0x0C: out += [0x5C, UInt8(ascii: "f")]
            case ..<0x20: out += Array("\\u00".utf8) + [hex[Int(c >> 4)], hex[Int(c & 0xF)]]
            default: out.append(c)
            }
        }
        return out + [0x22]
    }

    static let stops: [UInt8] = [0x22, 0x5C, 0x00, 0x0A, 0x1F]
    static let lengths = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49]

    @Test func serializerEscapesAStopByteAtEveryPosition() {
        for n in Self.lengths where n > 0 {
            for at in 0..<n {
                for stop in Self.stops + [0x20, 0x7F, 0x80, 0xFF] {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: n)
                    bytes[at] = stop
                    var out: [UInt8] = []
                    bytes.withUnsafeBytes { JSONSerializer.writeString($0, to: &out) }
                    #expect(out == Self.referenceEscaped(bytes), "length \(n), byte \(stop) at \(at)")
                }
            }
        }
    }

    @Test func parserStopsAtEveryPositionAndSeesNonASCIIBeforeOrAfterIt() throws {
        for n in Self.lengths {
            for at in 0...n {
                // An escape at `at` (or none when at == n), é (two bytes) at every other spot.
                for accent in [-1] + Array(0..<n) where accent != at && accent + 1 != at {
                    var text = ""
                    var i = 0
                    var expected = ""
                    while i < n {
                        if i == at {
                            text += "\\n"
                            expected += "\n"
                            i += 1
                        } else if i == accent, i + 1 < n {
                            text += "é"
                            expected += "é"
                            i += 2
                        } else {
                            text += "b"
                            expected += "b"
                            i += 1
                        }
                    }
                    let v = try JSONParser.parse("\"" + text + "\"")
                    #expect(v == .string(expected), "length \(n), escape at \(at), é at \(accent)")
                }
            }
        }
    }

    @Test func parserRefusesInvalidUTF8AndRawControlBytesAtEveryPosition() {
        for n in Self.lengths where n > 0 {
            for at in 0..<n {
                // With and without an escape after it (the scan's stop in the same block).
                for (bad, tail) in [(UInt8(0xFF), ""), (0xFF, "\\n"), (0x01, "")] {
                    var bytes: [UInt8] = [0x22] + [UInt8](repeating: UInt8(ascii: "c"), count: n) + Array(tail.utf8) + [0x22]
                    bytes[1 + at] = bad
                    #expect(throws: JSONParseError.self, "length \(n), byte \(bad) at \(at), then \(tail)") {
                        try JSONParser.parse(bytes)
                    }
                }
            }
        }
    }
}
