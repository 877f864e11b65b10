import Testing
@testable import MCPCore

@Suite struct CursorTests {
    @Test func roundTripsAndRefusesForgeries() {
        let codec = CursorCodec()
        let p = CursorCodec.Position(list: "tools", index: 7, key: "seven")
        let c = codec.encode(p)
        #expect(codec.decode(c, list: "tools") == p)
        #expect(codec.decode(c, list: "prompts") == nil, "a cursor is bound to its list")
        #expect(CursorCodec().decode(c, list: "tools") == nil, "another server's key refuses it")
        var forged = Array(c.utf8)
        forged[0] = forged[0] == UInt8(ascii: "7") ? UInt8(ascii: "6") : UInt8(ascii: "7")
        #expect(codec.decode(String(decoding: forged, as: UTF8.self), list: "tools") == nil)
        #expect(codec.decode("", list: "tools") == nil)
        #expect(codec.decode("zz.zz", list: "tools") == nil)
    }
}
