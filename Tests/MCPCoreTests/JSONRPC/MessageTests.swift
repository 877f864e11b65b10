import Testing
@testable import MCPCore

@Suite struct MessageTests {
    private func message(_ text: String) throws -> Message {
        try Message(json: try JSONParser.parse(text))
    }

    @Test func classifiesEachKind() throws {
        #expect(try message(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#) == .request(id: .int(1), method: "ping", params: nil))
        #expect(try message(#"{"jsonrpc":"2.0","method":"n","params":{}}"#) == .notification(method: "n", params: .object(JSONObject())))
        #expect(try message(#"{"jsonrpc":"2.0","id":"a","result":{}}"#) == .response(id: .string("a"), result: .object(JSONObject())))
        #expect(try message(#"{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"no"}}"#)
            == .errorResponse(id: nil, error: JSONRPCError(code: -1, message: "no")))
    }

    @Test(arguments: [
        (#"{"id":1,"method":"x"}"#, -32600, true),
        (#"{"jsonrpc":"1.0","id":1,"method":"x"}"#, -32600, true),
        (#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#, -32600, false),
        (#"{"jsonrpc":"2.0","id":null,"method":"x"}"#, -32600, false),
        (#"{"jsonrpc":"2.0","id":1,"method":3}"#, -32600, true),
        (#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#, -32602, true),
        (#"{"jsonrpc":"2.0","id":1}"#, -32600, true),
        ("5", -32600, false),
        (#"{"jsonrpc":"2.0","id":1,"method":"x","method":"y"}"#, -32600, true),
        (#"{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"x"}"#, -32600, true),
        (#"{"jsonrpc":"2.0","id":1,"method":"x","params":{},"params":{}}"#, -32600, true),
        (#"{"jsonrpc":"2.0","id":1,"result":{},"result":{}}"#, -32600, true),
        (#"{"jsonrpc":"2.0","id":1,"id":2,"method":"x"}"#, -32600, false),
    ])
    func refusesInvalidMessages(_ text: String, _ code: Int64, _ keepsID: Bool) throws {
        let value = try JSONParser.parse(text)
        let error = #expect(throws: MessageError.self) { try Message(json: value) }
        #expect(error?.error.code == code)
        #expect((error?.id != nil) == keepsID)
    }

    @Test func duplicatesOutsideTheJSONRPCMembersAreNoConcern() throws {
        #expect(try message(#"{"jsonrpc":"2.0","id":1,"method":"x","extra":1,"extra":2,"params":{"a":1,"a":2}}"#)
            == .request(id: .int(1), method: "x", params: ["a": 2]))
    }

    @Test func errorWithoutIDOmitsTheMember() {
        let m = Message.errorResponse(id: nil, error: JSONRPCError(code: -32700, message: "Parse error"))
        #expect(JSONSerializer.string(m.json) == #"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"}}"#)
    }
}
