#if canImport(Glibc)
import Glibc
#endif
import MCPCore
import Testing
@testable import MCPTransport
import MCPRuntime

/// Our HTTP client against our HTTP listener on a real socket, in process: the
/// handshake, JSON and SSE answers, a stream the server cuts mid-call (resumed
/// with Last-Event-ID), and DELETE ending the server's session on close.
@Suite(.serialized) struct HTTPClientLiveTests {
    final class Live: Sendable {
        let server: HTTPServerTransport
        let transport: HTTPClientTransport
        let session: ClientSession
        let pool = WorkerPool(maxThreads: 4)

        init(json: Bool) throws {
            let core = ServerCore(options: ServerOptions(name: "live", version: "1"), executor: pool,
                                  scheduler: Scheduler(executor: pool))
            try core.addTool(ToolEntry(definition: JSONObject(["name": "echo"])) { call, args in
                try? call.respond(["content": [["type": "text", "text": args["text"] ?? "?"]]])
            })
            try core.addTool(ToolEntry(definition: JSONObject(["name": "cut"])) { call, _ in
                // Progress first, so the answer is an SSE stream even in JSON mode.
                try? call.progress(1, total: 2, message: nil)
                _ = call.closeStream()
                usleep(50_000)
                try? call.respond(["content": [["type": "text", "text": "after the cut"]]])
            })
            var config = HTTPServerConfig()
            config.jsonResponse = json
            config.sseRetryMs = 50
            server = try HTTPServerTransport.start(server: core, config: config)
            let transport = try HTTPClientTransport(url: HTTPURL(parsing: "http://127.0.0.1:\(server.port)/mcp"),
                                                    options: HTTPClientOptions())
            self.transport = transport
            var options = ClientOptions(name: "live-client", version: "1")
            options.timing = RequestTiming(timeoutMs: 10_000)
            session = ClientSession(options: options, executor: pool, scheduler: Scheduler(executor: pool),
                                    output: { transport.send($0) })
            transport.start(session)
        }

        func wait<T: Sendable>(_ start: (@escaping @Sendable (T) -> Void) -> Void) -> T? {
            let box = LockedState<T?>(nil)
            start { v in box.withLockAndNotify { $0 = v } }
            _ = box.wait(until: MonotonicInstant.now().adding(milliseconds: 10_000)) { $0 != nil }
            return box.withLock { $0 }
        }

        func call(_ name: String, _ args: JSONObject = JSONObject()) -> String? {
            let outcome: Result<JSONValue, RequestFailure>? = wait { done in
                _ = try? self.session.request(method: "tools/call",
                                              params: ["name": .string(name), "arguments": .object(args)],
                                              progress: { _ in }) { done($0) }
            }
            return (try? outcome?.get())?["content"]?.arrayValue?.first?["text"]?.stringValue
        }

        func finish() {
            session.close()
            transport.close()
            server.stop(timeoutMs: 1000)
            pool.shutdown()
        }
    }

    @Test(arguments: [false, true]) func talksToOurListener(json: Bool) throws {
        let live = try Live(json: json)
        defer { live.finish() }
        let initialized: Result<JSONObject, RequestFailure>? = live.wait { done in live.session.initialize { done($0) } }
        #expect(initialized.flatMap { try? $0.get() }?["serverInfo"]?["name"] == "live")
        let sessionID = try #require(live.transport.sessionID)
        #expect(HTTPClientPolicy.isValidSessionID(sessionID))
        #expect(live.call("echo", ["text": "round trip"]) == "round trip")
        #expect(live.call("cut") == "after the cut")
        #expect(live.server.sessionCount == 1)
        live.session.close()
        live.transport.close()
        // DELETE reached the server before close() returned.
        #expect(live.server.sessionCount == 0)
    }
}
