import Testing
import MCPCore
import MCPRuntime
@testable import MCPTransport

/// A ClientSession over the in-memory pair, against a scripted server: the
/// path every transport shares (start, send, receive, close).
@Suite struct InMemoryClientTransportTests {
    final class Harness: Sendable {
        let transport = InMemoryClientTransport()
        let session: ClientSession
        let pool = WorkerPool(maxThreads: 4)

        /// `answer` gives the result for each request after initialize (nil: no answer).
        init(answer: @escaping @Sendable (String, JSONObject) -> JSONValue?) {
            var options = ClientOptions(name: "mem", version: "1")
            options.timing = RequestTiming(timeoutMs: 10_000)
            let transport = self.transport
            session = ClientSession(options: options, executor: pool, scheduler: Scheduler(executor: pool),
                                    output: { transport.send($0) })
            let server = transport.server
            server.start(receive: { bytes in
                guard let v = try? JSONParser.parse(bytes), case .request(let id, let method, let params)? = try? Message(json: v)
                else { return }
                let result: JSONValue?
                if method == "initialize" {
                    result = ["protocolVersion": "2025-11-25", "capabilities": ["tools": [:]],
                              "serverInfo": ["name": "script", "version": "1"]]
                } else {
                    result = answer(method, params?.objectValue ?? JSONObject())
                }
                if let result { server.send(Message.response(id: id, result: result).serialized()) }
            })
            transport.start(session)
        }

        func wait<T: Sendable>(_ start: (@escaping @Sendable (T) -> Void) -> Void) -> T? {
            let box = LockedState<T?>(nil)
            start { v in box.withLockAndNotify { $0 = v } }
            _ = box.wait(until: MonotonicInstant.now().adding(milliseconds: 10_000)) { $0 != nil }
            return box.withLock { $0 }
        }

        func connect() throws {
            let r: Result<JSONObject, RequestFailure>? = wait { done in session.initialize { done($0) } }
            _ = try #require(r).get()
        }
    }

    @Test func listsEveryPageOverTheTransport() throws {
        let h = Harness { _, params in
            switch params["cursor"]?.stringValue {
            case nil: return ["tools": [["name": "a"]], "nextCursor": "p2"]
            case "p2": return ["tools": [], "nextCursor": "p3"]
            default: return ["tools": [["name": "b"]]]
            }
        }
        try h.connect()
        let r: Result<[JSONValue], ListFailure>? = h.wait { done in h.session.listAll(method: "tools/list") { done($0) } }
        #expect(try #require(r).get().map { $0["name"] } == ["a", "b"])
        h.transport.close()
    }

    @Test func aServerThatRepeatsItsCursorEndsTheListing() throws {
        let h = Harness { _, _ in ["tools": [["name": "a"]], "nextCursor": "again"] }
        try h.connect()
        let r: Result<[JSONValue], ListFailure>? = h.wait { done in h.session.listAll(method: "tools/list") { done($0) } }
        guard case .failure(.endless)? = r else {
            Issue.record("expected .endless, got \(String(describing: r))")
            return
        }
        h.transport.close()
    }

    @Test func theServerEndClosingEndsTheSession() throws {
        let h = Harness { _, _ in nil }
        try h.connect()
        let r: Result<JSONValue, RequestFailure>? = h.wait { done in
            _ = try? h.session.request(method: "tools/list", params: nil) { done($0) }
            h.transport.server.close()
        }
        #expect(r == .failure(.closed))
        #expect(h.session.isClosed)
        h.transport.close()
        h.transport.close()
    }
}
