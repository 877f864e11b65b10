import Testing
@testable import MCPCore
import MCPRuntime

/// Our client and our server connected in memory: one correlation machinery
/// (JSONRPCPeer) serving both directions.
@Suite struct ClientSessionTests {
    final class Pair: Sendable {
        let server: ServerCore
        let client: ClientSession
        let serverSession: LockedState<ServerSession?>

        init(capabilities: JSONObject = JSONObject(), configure: (ServerCore) throws -> Void = { _ in }) throws {
            let pool = WorkerPool(maxThreads: 8)
            server = ServerCore(options: ServerOptions(name: "srv", version: "1"), executor: pool,
                                scheduler: Scheduler(executor: pool))
            try configure(server)
            var options = ClientOptions(name: "cli", version: "1")
            options.capabilities = capabilities
            let box = LockedState<ServerSession?>(nil)
            serverSession = box
            let client = ClientSession(options: options, executor: pool, scheduler: Scheduler(executor: pool)) {
                (bytes: [UInt8]) -> Void in
                let target = box.withLock { $0 }
                bytes.withUnsafeBytes { b -> Void in _ = target?.receive(b) }
            }
            self.client = client
            let s = server.makeSession(defaultChannel: ClosureChannel { (bytes: [UInt8]) -> Void in
                bytes.withUnsafeBytes { b -> Void in client.receive(b) }
            })
            box.withLock { $0 = s }
        }

        func connect() throws -> JSONObject {
            let r = wait { done in self.client.initialize { done($0) } }
            return try r.get()
        }

        func call(_ method: String, _ params: JSONObject?, timing: RequestTiming? = nil) -> Result<JSONValue, RequestFailure> {
            wait { done in
                do { try self.client.request(method: method, params: params, timing: timing) { done($0) } } catch {
                    done(.failure(.closed))
                }
            }
        }

        func wait<T: Sendable>(_ start: (@escaping @Sendable (T) -> Void) -> Void) -> T {
            let box = LockedState<(Bool, T?)>((false, nil))
            start { v in box.withLockAndNotify { $0 = (true, v) } }
            _ = box.wait(until: MonotonicInstant.now().adding(milliseconds: 5000)) { $0.0 }
            return box.withLock { $0.1 }!
        }
    }

    @Test func initializesAndCallsTools() throws {
        let p = try Pair { s in
            try s.addTool(ToolEntry(definition: JSONObject(["name": "echo"])) { call, args in
                try? call.respond(["content": [["type": "text", "text": args["text"] ?? "?"]]])
            })
        }
        let info = try p.connect()
        #expect(info["protocolVersion"] == "2025-11-25")
        #expect(p.client.protocolVersion == .latest)
        let r = try p.call("tools/call", ["name": "echo", "arguments": ["text": "hi"]]).get()
        #expect(r["content"]?.arrayValue?.first?["text"] == "hi")
        #expect(p.call("tools/call", ["name": "nope"]) == .failure(.peer(.invalidParams("Unknown tool: nope"))))
    }

    @Test func refusesMethodsTheServerDidNotDeclare() throws {
        let p = try Pair()
        _ = try p.connect()
        #expect(throws: CallFailure.self) {
            try p.client.request(method: "completion/complete", params: nil) { _ in }
        }
    }

    @Test func answersServerRequestsThroughHostHandlers() throws {
        let p = try Pair(capabilities: ["sampling": [:]]) { s in
            try s.addTool(ToolEntry(definition: JSONObject(["name": "ask"])) { call, _ in
                try? call.request(method: "sampling/createMessage", params: ["messages": [], "maxTokens": 5],
                                  timing: RequestTiming()) { outcome in
                    let text = (try? outcome.get())?["content"]?["text"] ?? "failed"
                    try? call.respond(["content": [["type": "text", "text": text]]])
                }
            })
        }
        p.client.setRequestHandler(method: "sampling/createMessage") { call, _, _ in
            try? call.respond(["role": "assistant", "content": ["type": "text", "text": "from the client"], "model": "m"])
        }
        _ = try p.connect()
        let r = try p.call("tools/call", ["name": "ask"]).get()
        #expect(r["content"]?.arrayValue?.first?["text"] == "from the client")
    }

    @Test func timesOutAndTellsTheServer() throws {
        let cancelled = LockedState(false)
        let p = try Pair { s in
            try s.addTool(ToolEntry(definition: JSONObject(["name": "slow"])) { call, _ in
                call.onCancel { cancelled.withLockAndNotify { $0 = true } }
            })
        }
        _ = try p.connect()
        #expect(p.call("tools/call", ["name": "slow"], timing: RequestTiming(timeoutMs: 100)) == .failure(.timeout))
        #expect(cancelled.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0 })
    }

    @Test func closingFailsEveryWaiter() throws {
        let p = try Pair { s in
            try s.addTool(ToolEntry(definition: JSONObject(["name": "never"])) { _, _ in })
        }
        _ = try p.connect()
        let outcome = p.wait { (done: @escaping @Sendable (Result<JSONValue, RequestFailure>) -> Void) in
            _ = try? p.client.request(method: "tools/call", params: ["name": "never"]) { done($0) }
            p.client.close()
        }
        #expect(outcome == .failure(.closed))
    }
}
