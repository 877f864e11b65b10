import Testing
@testable import MCPCore
import MCPRuntime

/// Server-to-client requests, completion and subscriptions, in memory.
@Suite struct ServerRequestsTests {
    private func initialize(_ h: SessionHarness, capabilities: JSONValue) {
        _ = h.request(0, "initialize", [
            "protocolVersion": "2025-11-25", "capabilities": capabilities, "clientInfo": ["name": "t", "version": "1"],
        ])
    }

    @Test func samplingTravelsOnTheCallsStreamAndItsAnswerReturns() throws {
        let h = SessionHarness(executor: WorkerPool(maxThreads: 4))
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "ask"])) { call, _ in
            do {
                try call.request(method: "sampling/createMessage",
                                 params: JSONObject(["messages": [], "maxTokens": 10]), timing: RequestTiming()) { outcome in
                    let text = (try? outcome.get())?["content"]?["text"]?.stringValue ?? "failed"
                    try? call.respond(textResult(text))
                }
            } catch {
                try? call.respond(textResult("refused"))
            }
        })
        initialize(h, capabilities: ["sampling": [:]])
        h.send(["jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ["name": "ask"]])
        var request: JSONValue?
        for _ in 0..<200 where request == nil {
            request = h.messages.first { $0["method"] == "sampling/createMessage" }
            if request == nil { usleep(5000) }
        }
        let r = try #require(request)
        h.send(["jsonrpc": "2.0", "id": r["id"] ?? nil, "result": [
            "role": "assistant", "content": ["type": "text", "text": "sampled"], "model": "m",
        ]])
        #expect(h.response(1)?["result"]?["content"]?.arrayValue?.first?["text"] == "sampled")
    }

    @Test func requestsNeedTheClientsCapability() throws {
        let h = SessionHarness()
        let outcome = LockedState<String>("")
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "ask"])) { call, _ in
            do {
                try call.request(method: "elicitation/create", params: JSONObject([
                    "message": "hi", "requestedSchema": ["type": "object", "properties": [:]],
                ]), timing: RequestTiming()) { _ in }
                outcome.withLock { $0 = "sent" }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
            try? call.respond(textResult("x"))
        })
        initialize(h, capabilities: ["sampling": [:]])
        _ = h.request(1, "tools/call", ["name": "ask"])
        #expect(outcome.withLock { $0 }.contains("unsupported"))
        #expect(!h.messages.contains { $0["method"] == "elicitation/create" })
    }

    @Test func unansweredRequestsTimeOutAndTheClientIsTold() throws {
        let h = SessionHarness(executor: WorkerPool(maxThreads: 4))
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "ask"])) { call, _ in
            try? call.request(method: "ping", params: nil, timing: RequestTiming(timeoutMs: 50)) { outcome in
                try? call.respond(textResult(outcome == .failure(.timeout) ? "timeout" : "other"))
            }
        })
        initialize(h, capabilities: [:])
        #expect(h.request(1, "tools/call", ["name": "ask"])?["result"]?["content"]?.arrayValue?.first?["text"] == "timeout")
        #expect(h.messages.contains { $0["method"] == "notifications/cancelled" })
    }

    @Test func completionIsLimitedToOneHundredValues() throws {
        let h = SessionHarness()
        try h.server.addPrompt(PromptEntry(definition: JSONObject(["name": "p", "arguments": [["name": "a"]]])) { _, _ in })
        h.server.setCompletionHandler { call, _, _, value, _ in
            try? call.respond(["values": .array((0..<150).map { .string("\(value)\($0)") })])
        }
        h.initialize()
        let r = h.request(1, "completion/complete", ["ref": ["type": "ref/prompt", "name": "p"],
                                                     "argument": ["name": "a", "value": "x"]])
        #expect(r?["result"]?["completion"]?["values"]?.arrayValue?.count == 100)
        #expect(r?["result"]?["completion"]?["hasMore"] == true)
        #expect(r?["result"]?["completion"]?["total"] == 150)
        let bad = h.request(2, "completion/complete", ["ref": ["type": "ref/prompt", "name": "p"],
                                                       "argument": ["name": "zzz", "value": "x"]])
        #expect(bad?["error"]?["code"] == -32602)
    }

    @Test func resourceUpdatesReachExactlyTheSubscribers() throws {
        let a = SessionHarness()
        try a.server.addResource(ResourceEntry(definition: JSONObject(["uri": "test://watched-resource", "name": "w"])) { _, _, _ in })
        let b = SessionHarness(server: a.server)
        a.initialize()
        b.initialize()
        #expect(a.request(1, "resources/subscribe", ["uri": "test://watched-resource"])?["result"] != nil)
        #expect(a.request(2, "resources/subscribe", ["uri": "test://nope"])?["error"]?["code"] == -32002)
        #expect(a.server.notifyResourceUpdated(uri: "test://watched-resource") == 1)
        #expect(a.messages.contains { $0["method"] == "notifications/resources/updated" })
        #expect(!b.messages.contains { $0["method"] == "notifications/resources/updated" })
        _ = a.request(3, "resources/unsubscribe", ["uri": "test://watched-resource"])
        #expect(a.server.notifyResourceUpdated(uri: "test://watched-resource") == 0)
    }
}

#if canImport(Glibc)
import Glibc
#endif
