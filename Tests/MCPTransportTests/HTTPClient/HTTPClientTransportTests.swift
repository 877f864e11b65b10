import MCPCore
import NIOHTTP1
import Testing
@testable import MCPTransport

@Suite struct HTTPClientTransportTests {
    @Test func errorAnswerCarriesTheStatusAndTheServersMessage() throws {
        let plain = HTTPClientTransport.errorAnswer(id: .int(4), status: .unauthorized, body: Array("no token".utf8))
        let p = try JSONParser.parse(plain)
        #expect(p["id"] == .int(4))
        #expect(p["error"]?["code"] == .int(ErrorCode.internalError))
        #expect(p["error"]?["message"]?.stringValue == "HTTP 401 Unauthorized: no token")
        #expect(p["error"]?["data"]?["httpStatus"] == .int(401))
        let body = #"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad session"}}"#
        let json = try JSONParser.parse(HTTPClientTransport.errorAnswer(id: .string("a"), status: .badRequest,
                                                                        body: Array(body.utf8)))
        #expect(json["id"] == .string("a"))
        #expect(json["error"]?["code"] == .int(-32600))
        #expect(json["error"]?["message"]?.stringValue == "HTTP 400 Bad Request: Bad session")
    }
}
