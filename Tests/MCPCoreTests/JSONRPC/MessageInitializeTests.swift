import Testing
@testable import MCPCore

@Suite struct MessageInitializeTests {
    @Test(arguments: [
        (#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#, true),
        (#"{"jsonrpc":"2.0","id":"a","method":"initialize"}"#, true),
        (#"{"jsonrpc":"2.0","method":"initialize"}"#, false),  // a notification
        (#"{"jsonrpc":"2.0","id":null,"method":"initialize"}"#, false),
        (#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, false),
        (#"[{"jsonrpc":"2.0","id":1,"method":"initialize"}]"#, false),  // batches never open sessions
        (#""initialize""#, false),
    ])
    func recognisesInitializeRequests(text: String, expected: Bool) throws {
        #expect(Message.isInitializeRequest(try JSONParser.parse(text)) == expected)
    }
}
