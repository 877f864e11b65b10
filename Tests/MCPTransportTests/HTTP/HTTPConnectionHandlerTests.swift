import MCPCore
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import MCPTransport
import MCPRuntime

/// The connection handler and the endpoint on an EmbeddedChannel: requests in
/// as HTTP parts, responses out as HTTP parts, the engine inline.
@Suite struct HTTPConnectionHandlerTests {
    final class Harness {
        let channel: EmbeddedChannel
        let core: ServerCore

        /// `store`: the endpoint's StateStore (attached to the core as a listener does).
        init(store: (any StateStore)? = nil, _ configure: (inout HTTPServerConfig) -> Void = { _ in }) throws {
            var config = HTTPServerConfig()
            configure(&config)
            core = ServerCore(options: ServerOptions(name: "t", version: "1"), executor: InlineExecutor(),
                              scheduler: Scheduler(executor: InlineExecutor()))
            try core.addTool(ToolEntry(definition: JSONObject(["name": "echo"])) { call, args in
                try? call.respond(["content": [["type": "text", "text": args["text"] ?? "?"]]])
            })
            try core.addTool(ToolEntry(definition: JSONObject(["name": "progress"])) { call, _ in
                try? call.progress(1, total: 2, message: nil)
                try? call.respond(["content": []])
            })
            if let store { core.attachStore(store, sessionTTLMs: config.sessionIdleTimeoutMs) }
            channel = EmbeddedChannel(handler: HTTPConnectionHandler(endpoint: HTTPEndpoint(config: config, core: core,
                                                                                            store: store)))
        }

        /// Sends a request (body in `chunks`) and returns the response parts written for it.
        func send(_ method: HTTPMethod, _ headers: [(String, String)] = [], chunks: [String] = []) throws
            -> (HTTPResponseHead, String)
        {
            var h = HTTPHeaders([("Host", "127.0.0.1:1")] + headers)
            if method == .POST {
                if !h.contains(name: "Content-Type") { h.add(name: "Content-Type", value: "application/json") }
                if !h.contains(name: "Accept") { h.add(name: "Accept", value: "application/json, text/event-stream") }
            }
            try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: method,
                                                                                uri: "/mcp", headers: h)))
            for c in chunks { try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: c))) }
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
            return try response()
        }

        func response() throws -> (HTTPResponseHead, String) {
            channel.embeddedEventLoop.run()
            guard case .head(let head) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
                throw Failure("no response head")
            }
            var body = ""
            while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
                switch part {
                case .body(.byteBuffer(let b)): body += String(buffer: b)
                case .end: return (head, body)
                default: break
                }
            }
            return (head, body)
        }

        func initialize(_ extra: [(String, String)] = []) throws -> String {
            let (head, _) = try send(.POST, extra, chunks: [
                #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"#,
                #""clientInfo":{"name":"t","version":"1"}}}"#,
            ])
            guard head.status == .ok, let id = head.headers.first(name: "Mcp-Session-Id") else {
                throw Failure("initialize failed: \(head)")
            }
            return id
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    @Test func jsonModeAnswersInOneBody() throws {
        let h = try Harness { $0.jsonResponse = true }
        let sid = try h.initialize()
        let (head, body) = try h.send(.POST, [("Mcp-Session-Id", sid)], chunks: [
            #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#,
        ])
        #expect(head.status == .ok)
        #expect(head.headers.first(name: "Content-Type") == "application/json")
        #expect(head.headers.first(name: "Content-Length") == String(body.utf8.count))
        #expect(body == #"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}"#)
    }

    @Test func jsonModeSwitchesToSSEWhenACallSendsFirst() throws {
        let h = try Harness { $0.jsonResponse = true }
        let sid = try h.initialize()
        let (head, body) = try h.send(.POST, [("Mcp-Session-Id", sid)], chunks: [
            #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"progress","_meta":{"progressToken":7}}}"#,
        ])
        #expect(head.headers.first(name: "Content-Type") == "text/event-stream")
        let events = body.components("\n\n")
        #expect(events.count == 3)  // priming, progress, answer
        #expect(events[0].hasPrefix("retry: 1000\nid: ") && events[0].hasSuffix("data: "))
        #expect(events[1].contains("notifications/progress") && events[2].contains(#""id":1,"result""#))
    }

    @Test func notificationsGet202AndUnknownSessions404() throws {
        let h = try Harness()
        let sid = try h.initialize()
        let (accepted, empty) = try h.send(.POST, [("Mcp-Session-Id", sid)],
                                           chunks: [#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#])
        #expect(accepted.status == .accepted && empty.isEmpty)
        let (missing, _) = try h.send(.POST, [("Mcp-Session-Id", "0")], chunks: [#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#])
        #expect(missing.status == .notFound)
    }

    @Test func oversizedBodyIs413AndClosesTheConnection() throws {
        let h = try Harness { $0.maxBodyBytes = 1024 }
        let (head, body) = try h.send(.POST, chunks: [String(repeating: " ", count: 800), String(repeating: " ", count: 800)])
        #expect(head.status == .payloadTooLarge)
        #expect(body.contains(#""code":-32600"#) && body.contains("1024"))
        #expect(head.headers.first(name: "Connection") == "close")
        // A lingering close: the rest of the body is ignored, the connection
        // goes when the client closes or after 2 s.
        try h.channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "more")))
        #expect(try h.channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(!h.channel.isActive)
    }

    @Test func standaloneStreamDeliversWhatWasSentBeforeItOpened() throws {
        let h = try Harness()
        let sid = try h.initialize()
        h.core.broadcast(.notification(method: "notifications/tools/list_changed", params: nil))
        var headers = HTTPHeaders([("Host", "localhost"), ("Accept", "text/event-stream"), ("Mcp-Session-Id", sid)])
        headers.add(name: "MCP-Protocol-Version", value: "2025-11-25")
        try h.channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET,
                                                                              uri: "/mcp", headers: headers)))
        try h.channel.writeInbound(HTTPServerRequestPart.end(nil))
        h.channel.embeddedEventLoop.run()
        guard case .head(let head) = try h.channel.readOutbound(as: HTTPServerResponsePart.self) else {
            throw Failure("no head")
        }
        #expect(head.status == .ok)
        guard case .body(.byteBuffer(let first)) = try h.channel.readOutbound(as: HTTPServerResponsePart.self) else {
            throw Failure("no buffered event")
        }
        #expect(String(buffer: first).hasPrefix("retry: 1000\nid: 0-1\ndata: {"))
        #expect(String(buffer: first).contains("list_changed"))
        // Later messages arrive live on the same stream.
        h.core.broadcast(.notification(method: "notifications/prompts/list_changed", params: nil))
        h.channel.embeddedEventLoop.run()
        guard case .body(.byteBuffer(let live)) = try h.channel.readOutbound(as: HTTPServerResponsePart.self) else {
            throw Failure("no live event")
        }
        #expect(String(buffer: live).hasPrefix("id: 0-2\n"))
    }
}

extension HTTPConnectionHandlerTests {
    @Test func aSlowReaderIsCutOffNotBuffered() throws {
        let h = try Harness { $0.maxQueuedMessages = 4 }
        let sid = try h.initialize()
        let headers = HTTPHeaders([("Host", "localhost"), ("Accept", "text/event-stream"), ("Mcp-Session-Id", sid)])
        try h.channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET,
                                                                              uri: "/mcp", headers: headers)))
        try h.channel.writeInbound(HTTPServerRequestPart.end(nil))
        h.channel.embeddedEventLoop.run()
        while try h.channel.readOutbound(as: HTTPServerResponsePart.self) != nil {}
        h.channel.isWritable = false  // the client stopped reading
        for _ in 0..<10 {
            h.core.broadcast(.notification(method: "notifications/tools/list_changed", params: nil))
        }
        h.channel.embeddedEventLoop.run()
        #expect(!h.channel.isActive)  // over 4 queued messages: cut (the events stay in the store)
    }
}

extension String {
    func components(_ separator: String) -> [String] {
        var out: [String] = []
        var rest = Substring(self)
        while let r = rest.firstRange(of: separator) {
            out.append(String(rest[..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        if !rest.isEmpty { out.append(String(rest)) }
        return out
    }
}
