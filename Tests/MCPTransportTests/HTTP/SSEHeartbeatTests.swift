import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import MCPTransport

@Suite struct SSEHeartbeatTests {
    static let sse = HTTPResponseHead(version: .http1_1, status: .ok,
                                      headers: HTTPHeaders([("Content-Type", "text/event-stream")]))
    static let json = HTTPResponseHead(version: .http1_1, status: .ok,
                                       headers: HTTPHeaders([("Content-Type", "application/json")]))

    @Test func armsOnlyForAnOpenEventStream() {
        var b = SSEHeartbeat(intervalMs: 1000)
        #expect(b.period == .milliseconds(500))
        var arms: [Bool] = []
        arms.append(b.didWrite(head: Self.json, ended: true))    // a whole response
        arms.append(b.didWrite(head: Self.json, ended: false))   // open, but not SSE
        arms.append(b.didWrite(head: Self.sse, ended: true))     // SSE, already over
        #expect(arms == [false, false, false])
        let opens = b.didWrite(head: Self.sse, ended: false)
        #expect(opens && b.streamOpen)
        b.armed = true
        let again = b.didWrite(head: nil, ended: false)           // already armed
        #expect(!again && b.streamOpen)
        var off = SSEHeartbeat(intervalMs: 0)
        #expect(off.period == nil)
        let offArms = off.didWrite(head: Self.sse, ended: false)
        #expect(!offArms)
    }

    @Test func oneCommentPerIntervalOfSilence() {
        var b = SSEHeartbeat(intervalMs: 1000)
        var looks: [SSEHeartbeat.Look] = []
        _ = b.didWrite(head: Self.sse, ended: false)
        looks.append(b.look())  // written since: quiet
        looks.append(b.look())  // silent a whole look
        looks.append(b.look())  // the comment counts as a write
        looks.append(b.look())
        _ = b.didWrite(head: nil, ended: false)
        looks.append(b.look())
        _ = b.didWrite(head: nil, ended: true)
        looks.append(b.look())  // the stream ended: the timer stops
        _ = b.didWrite(head: Self.sse, ended: false)
        b.reset()               // a new response replaced it
        looks.append(b.look())
        #expect(looks == [.again, .comment, .again, .comment, .again, .stop, .stop])
    }
}

extension HTTPConnectionHandlerTests {
    @Test func anIdleStandaloneStreamGetsAComment() throws {
        let h = try Harness { $0.sseKeepaliveMs = 100 }
        let sid = try h.initialize()
        let headers = HTTPHeaders([("Host", "localhost"), ("Accept", "text/event-stream"), ("Mcp-Session-Id", sid)])
        try h.channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET,
                                                                              uri: "/mcp", headers: headers)))
        try h.channel.writeInbound(HTTPServerRequestPart.end(nil))
        h.channel.embeddedEventLoop.run()
        while try h.channel.readOutbound(as: HTTPServerResponsePart.self) != nil {}
        func comments() throws -> Int {
            var n = 0
            while let part = try h.channel.readOutbound(as: HTTPServerResponsePart.self) {
                guard case .body(.byteBuffer(let b)) = part, String(buffer: b) == ": keep-alive\n\n" else {
                    throw Failure("not a comment: \(part)")
                }
                n += 1
            }
            return n
        }
        h.channel.embeddedEventLoop.advanceTime(by: .milliseconds(50))
        #expect(try comments() == 0)  // the priming event was just written
        h.channel.embeddedEventLoop.advanceTime(by: .milliseconds(50))
        #expect(try comments() == 1)
        h.channel.embeddedEventLoop.advanceTime(by: .milliseconds(50))
        #expect(try comments() == 0)
        h.channel.embeddedEventLoop.advanceTime(by: .milliseconds(50))
        #expect(try comments() == 1)
        // An event resets the count: the next comment comes a full look later.
        h.core.broadcast(.notification(method: "notifications/tools/list_changed", params: nil))
        h.channel.embeddedEventLoop.run()
        guard case .body(.byteBuffer(let event)) = try h.channel.readOutbound(as: HTTPServerResponsePart.self) else {
            throw Failure("no event")
        }
        #expect(String(buffer: event).hasPrefix("id: 0-"))
        h.channel.embeddedEventLoop.advanceTime(by: .milliseconds(50))
        #expect(try comments() == 0)
        h.channel.embeddedEventLoop.advanceTime(by: .milliseconds(50))
        #expect(try comments() == 1)
    }
}
