import Testing
@testable import MCPCore

@Suite struct JSONParserTests {
    @Test func parsesEveryKind() throws {
        let v = try JSONParser.parse(#"{"a":[1,-2,3.5,1e3,true,false,null],"s":"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00","o":{}}"#)
        #expect(v["a"] == [1, -2, 3.5, 1000.0, true, false, nil])
        #expect(v["s"] == .string("x\"\\/\u{8}\u{c}\n\r\té😀"))
        #expect(v["o"] == .object(JSONObject()))
    }

    @Test func keepsIntegersExactAndApartFromDoubles() throws {
        #expect(try JSONParser.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .int(Int64.min))
        #expect(try JSONParser.parse("9223372036854775808") == .double(9223372036854775808.0))
        #expect(try JSONParser.parse("30.0") == .double(30))
    }

    @Test func keepsMemberOrderAndLastDuplicateWins() throws {
        let v = try JSONParser.parse(#"{"z":1,"a":2,"z":3}"#)
        #expect(v.objectValue?.keys == ["z", "a"])
        #expect(v["z"] == 3)
        #expect(v.objectValue?.duplicateKeys == ["z"])
        #expect(try JSONParser.parse(#"{"z":1,"a":2}"#).objectValue?.duplicateKeys == [])
    }

    @Test func wideObjectsFindDuplicatesPastTheLookBack() throws {
        // 200 members, then repeats of an early and a late one (the index, not the look-back).
        let members = (0..<200).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let v = try JSONParser.parse("{" + members + #","k3":"x","k150":"y","k3":"z"}"#)
        let o = try #require(v.objectValue)
        #expect(o.count == 200)
        #expect(o.keys == (0..<200).map { "k\($0)" })
        #expect(o["k3"] == "z")
        #expect(o["k150"] == "y")
        #expect(o.duplicateKeys == ["k3", "k150"])
    }

    @Test func aMillionMembersAndOneKeyRepeatedAMillionTimes() throws {
        var text = "{" + (0..<1_000_000).map { "\"k\($0)\":1" }.joined(separator: ",") + "}"
        var o = try #require(try JSONParser.parse(text).objectValue)
        #expect(o.count == 1_000_000)
        #expect(o.duplicateKeys.isEmpty)
        text = "{" + (0..<1_000_000).map { "\"k\":\($0)" }.joined(separator: ",") + "}"
        o = try #require(try JSONParser.parse(text).objectValue)
        #expect(o.count == 1)
        #expect(o["k"] == 999_999)
        #expect(o.duplicateKeys == ["k"])  // each repeated name once
    }

    /// Every special byte at every offset around the eight-byte steps of the scan.
    @Test func stringsWithSpecialBytesAtEveryOffset() throws {
        let specials: [(raw: String, escaped: String)] = [
            ("\"", #"\""#), ("\\", #"\\"#), ("\n", #"\n"#), ("\u{1}", #"\u0001"#), ("\u{1f}", #"\u001f"#),
            ("é", "é"), ("😀", "😀"), ("\u{7f}", "\u{7f}"), (" ", " "),
        ]
        for (raw, escaped) in specials {
            for before in 0..<18 {
                for after in [0, 1, 7, 8, 9] {
                    let a = String(repeating: "a", count: before)
                    let b = String(repeating: "b", count: after)
                    let text = "\"" + a + escaped + b + escaped + "\""
                    #expect(try JSONParser.parse(text) == .string(a + raw + b + raw), "\(text)")
                    #expect(JSONSerializer.string(.string(a + raw + b + raw)) == text, "\(text)")
                }
            }
        }
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\"}", "01", "1.", "-", "tru", "\"\\x\"", "\"\u{1}\"", "[1] 2", "\"\\ud800\"",
        "\"\\udc00x\"", "nul", "{\"a\":1,}", "1e", "\"abc",
    ])
    func refusesMalformedInput(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func refusesInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xFF, 0xFE, 0x22]
        #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
        let escaped: [UInt8] = Array(#""\n"#.utf8) + [0xC3] + Array(#"""#.utf8)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(escaped) }
    }

    @Test func refusesDeepNestingWithoutCrashing() throws {
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        let error = #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        #expect(error?.message.contains("Nesting deeper than 512") == true)
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        _ = try JSONParser.parse(ok)
    }
}
