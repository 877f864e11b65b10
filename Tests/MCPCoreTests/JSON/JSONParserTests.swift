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
