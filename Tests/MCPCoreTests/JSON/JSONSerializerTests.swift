import Testing
@testable import MCPCore

@Suite struct JSONSerializerTests {
    @Test func writesCompactJSONWithoutRawNewlines() {
        let v: JSONValue = ["b": "line1\nline2\t\"q\"\\ \u{1}", "a": [1, 2.5, true, nil]]
        let text = JSONSerializer.string(v)
        #expect(text == #"{"b":"line1\nline2\t\"q\"\\ \u0001","a":[1,2.5,true,null]}"#)
        #expect(!text.contains("\n"))
    }

    @Test func roundTripsThroughTheParser() throws {
        let v: JSONValue = ["uni": "é😀", "n": [-0.5, 1e300, 42, -7], "o": ["k": [:]]]
        #expect(try JSONParser.parse(JSONSerializer.string(v)) == v)
    }

    @Test func writesIntegralDoublesWithoutFraction() {
        #expect(JSONSerializer.string(.double(30)) == "30")
        #expect(JSONSerializer.string(.double(95.5)) == "95.5")
        #expect(JSONSerializer.string(.double(.nan)) == "null")
    }
}
