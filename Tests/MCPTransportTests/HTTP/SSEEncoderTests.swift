import Testing
@testable import MCPTransport

@Suite struct SSEEncoderTests {
    private func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    @Test func encodesFieldsInOrder() {
        #expect(text(SSEEncoder.event(id: "1-0", retryMs: 500, data: [])) == "retry: 500\nid: 1-0\ndata: \n\n")
        #expect(text(SSEEncoder.event(name: "endpoint", data: Array("/messages?sessionId=a".utf8)))
            == "event: endpoint\ndata: /messages?sessionId=a\n\n")
    }

    @Test func splitsMultiLineDataSoItArrivesWhole() {
        #expect(text(SSEEncoder.event(data: Array("a\nb\r\nc".utf8))) == "data: a\ndata: b\ndata: c\n\n")
    }
}
