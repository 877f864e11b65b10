import Glibc
import Testing
@testable import MCPCore
import MCPRuntime

/// MRTR replay through the server's dispatch: a handler written for the 2025
/// era (call.request, then answer) serves 2026-07-28 requests in rounds.
@Suite struct InputRoundTests {
    static let allCapabilities: JSONValue = ["sampling": [:], "elicitation": [:], "roots": [:]]

    /// A connection whose first request (with the modern `_meta`) makes it
    /// a 2026-07-28 one: each request is served on its own, in rounds.
    private func harness() -> SessionHarness {
        SessionHarness(executor: WorkerPool(maxThreads: 4))
    }

    private func modern(_ params: JSONObject, capabilities: JSONValue = allCapabilities) -> JSONValue {
        var p = params
        p["_meta"] = [
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": ["name": "t", "version": "1"],
            "io.modelcontextprotocol/clientCapabilities": capabilities,
        ]
        return .object(p)
    }

    static let nameQuestion: JSONObject = JSONObject([
        "message": "What is your name?",
        "requestedSchema": ["type": "object", "properties": ["name": ["type": "string"]], "required": ["name"]],
    ])

    /// Asks `questions` in order (each waits for its answer), then answers
    /// with the answers' texts joined; the engine stops it at the first
    /// request it has no answer for.
    private func addAsker(_ h: SessionHarness, name: String, questions: [(String?, String, JSONObject)],
                          wait: Bool = true) throws
    {
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": .string(name)])) { call, _ in
            var texts: [String] = []
            var pending: [LockedState<JSONValue?>] = []
            for (key, method, params) in questions {
                let box = LockedState<JSONValue?>(nil)
                do {
                    try call.request(method: method, params: params, key: key, timing: RequestTiming()) { outcome in
                        box.withLockAndNotify { $0 = (try? outcome.get()) ?? "failed" }
                    }
                } catch {
                    if (error as? CallFailure) == .inputRequired, !wait { continue }
                    try? call.fail(.internalError("\(error)"))
                    return
                }
                pending.append(box)
                if wait {
                    _ = box.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0 != nil }
                }
            }
            if pending.count < questions.count { try? call.fail(.internalError("stopped")); return }
            for box in pending {
                _ = box.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0 != nil }
                let v = box.withLock { $0 }
                texts.append(v?["content"]?["name"]?.stringValue ?? v?["content"]?["text"]?.stringValue
                             ?? v?["roots"]?.arrayValue.map { "\($0.count) roots" } ?? "?")
            }
            try? call.respond(textResult(texts.joined(separator: ",")))
        })
    }

    private func text(_ r: JSONValue?) -> String? { r?["result"]?["content"]?.arrayValue?.first?["text"]?.stringValue }

    @Test func oneRoundThenTheAnswer() throws {
        let h = harness()
        try addAsker(h, name: "greet", questions: [("user_name", "elicitation/create", Self.nameQuestion)])
        let r1 = try #require(h.request(1, "tools/call", modern(["name": "greet", "arguments": [:]])))
        let result = try #require(r1["result"])
        #expect(result["resultType"] == "input_required")
        #expect(result["inputRequests"]?["user_name"]?["method"] == "elicitation/create")
        #expect(result["inputRequests"]?["user_name"]?["params"] == .object(Self.nameQuestion))
        #expect(result["ttlMs"] == nil && result["cacheScope"] == nil)
        let state = try #require(result["requestState"]?.stringValue)
        // Nothing was sent to the client as a request of its own.
        #expect(!h.messages.contains { $0["method"] == "elicitation/create" })
        let r2 = h.request(2, "tools/call", modern(["name": "greet", "arguments": [:], "requestState": .string(state),
                                                    "inputResponses": ["user_name": ["action": "accept", "content": ["name": "Ann"]]]]))
        #expect(text(r2) == "Ann")
        // Without requestState the answers alone do (and extra ones are ignored).
        let r3 = h.request(3, "tools/call", modern(["name": "greet", "inputResponses": [
            "user_name": ["action": "accept", "content": ["name": "Bo"]], "extra": ["action": "cancel"],
        ]]))
        #expect(text(r3) == "Bo")
    }

    @Test func severalRequestsInOneRoundAndSeveralRounds() throws {
        let h = harness()
        // Asks three things before waiting for any: one round asks them all.
        try addAsker(h, name: "many", questions: [
            ("user_name", "elicitation/create", Self.nameQuestion),
            ("greeting", "sampling/createMessage", JSONObject(["messages": [["role": "user", "content": ["type": "text", "text": "hi"]]], "maxTokens": 50])),
            (nil, "roots/list", JSONObject()),
        ], wait: false)
        let r1 = try #require(h.request(1, "tools/call", modern(["name": "many"]))?["result"])
        #expect(r1["inputRequests"]?.objectValue?.keys == ["user_name", "greeting", "roots_3"])
        let r2 = h.request(2, "tools/call", modern(["name": "many", "requestState": r1["requestState"] ?? nil, "inputResponses": [
            "user_name": ["action": "accept", "content": ["name": "Ann"]],
            "greeting": ["role": "assistant", "content": ["type": "text", "text": "Hello"], "model": "m"],
            "roots_3": ["roots": [["uri": "file:///a"]]],
        ]]))
        #expect(text(r2) == "Ann,Hello,1 roots")

        // Waits after each: one request per round; the later rounds carry the earlier answers.
        try addAsker(h, name: "steps", questions: [
            ("step1", "elicitation/create", Self.nameQuestion),
            ("step2", "elicitation/create", Self.nameQuestion),
        ])
        let s1 = try #require(h.request(3, "tools/call", modern(["name": "steps"]))?["result"])
        #expect(s1["inputRequests"]?.objectValue?.keys == ["step1"])
        let s2 = try #require(h.request(4, "tools/call", modern(["name": "steps", "requestState": s1["requestState"] ?? nil,
            "inputResponses": ["step1": ["action": "accept", "content": ["name": "one"]]]]))?["result"])
        #expect(s2["inputRequests"]?.objectValue?.keys == ["step2"])
        #expect(s2["requestState"] != s1["requestState"])
        let s3 = h.request(5, "tools/call", modern(["name": "steps", "requestState": s2["requestState"] ?? nil,
            "inputResponses": ["step2": ["action": "accept", "content": ["name": "two"]]]]))
        #expect(text(s3) == "one,two")
        // A retry that leaves out an answer is asked again, not refused.
        let again = try #require(h.request(6, "tools/call", modern(["name": "steps", "requestState": s1["requestState"] ?? nil,
            "inputResponses": ["wrong_key": ["action": "accept", "content": [:]]]]))?["result"])
        #expect(again["resultType"] == "input_required")
        #expect(again["inputRequests"]?.objectValue?.keys == ["step1"])
    }

    @Test func badInputIsRefusedWithInvalidParams() throws {
        let h = harness()
        try addAsker(h, name: "greet", questions: [("user_name", "elicitation/create", Self.nameQuestion)])
        try addAsker(h, name: "other", questions: [("user_name", "elicitation/create", Self.nameQuestion)])
        let r1 = try #require(h.request(1, "tools/call", modern(["name": "greet"]))?["result"])
        let state = try #require(r1["requestState"]?.stringValue)
        let cases: [(Int64, JSONObject, String)] = [
            (2, ["name": "greet", "requestState": .string(state + "-TAMPERED")], "integrity"),
            (3, ["name": "other", "requestState": .string(state)], "belongs to"),
            (4, ["name": "greet", "arguments": ["x": 1], "requestState": .string(state)], "other arguments"),
            (5, ["name": "greet", "requestState": 42], "must be a string"),
            (6, ["name": "greet", "inputResponses": .null], "inputResponses"),
            (7, ["name": "greet", "inputResponses": ["user_name": 12345]], "user_name"),
            (8, ["name": "greet", "inputResponses": ["user_name": ["content": ["name": "x"]]]], "action"),
        ]
        for (id, params, words) in cases {
            let r = h.request(id, "tools/call", modern(params))
            #expect(r?["error"]?["code"] == .int(ErrorCode.invalidParams), "case \(id)")
            #expect(r?["error"]?["message"]?.stringValue?.contains(words) == true, "case \(id): \(String(describing: r))")
        }
    }

    @Test func requestsNeedThisRequestsDeclaredCapabilities() throws {
        let h = harness()
        let seen = LockedState<[String]>([])
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "caps"])) { call, _ in
            do {
                try call.request(method: "elicitation/create", params: Self.nameQuestion, timing: RequestTiming()) { _ in }
            } catch {
                seen.withLock { $0.append("\(error)") }
            }
            // The engine has answered -32021 already.
            do { try call.respond(textResult("late")) } catch { seen.withLock { $0.append("\(error)") } }
        })
        let r = try #require(h.request(1, "tools/call", modern(["name": "caps"], capabilities: ["sampling": [:]])))
        #expect(r["error"]?["code"] == -32021)
        #expect(r["error"]?["data"]?["requiredCapabilities"]?["elicitation"] != nil)
        for _ in 0..<200 where seen.withLock({ $0.count }) < 2 { usleep(5000) }
        let s = seen.withLock { $0 }
        #expect(s.first?.contains("unsupported") == true)
        #expect(s.last?.contains("alreadyAnswered") == true)
        // A finer refusal (url elicitation not declared) is the handler's to answer;
        // ping is no input request.
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "finer"])) { call, _ in
            var outcomes: [String] = []
            for (m, p) in [("elicitation/create", JSONObject(["mode": "url", "message": "go", "url": "https://x", "elicitationId": "1"])),
                           ("ping", JSONObject())]
            {
                do {
                    try call.request(method: m, params: p, timing: RequestTiming()) { _ in }
                    outcomes.append("sent")
                } catch { outcomes.append("\(error)".contains("unsupported") ? "unsupported" : "\(error)") }
            }
            try? call.respond(textResult(outcomes.joined(separator: ",")))
        })
        #expect(text(h.request(2, "tools/call", modern(["name": "finer"]))) == "unsupported,unsupported")
    }

    @Test func hostStateTravelsBetweenRounds() throws {
        let h = harness()
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "stateful"])) { call, _ in
            let round = call.inputRound
            let before = round?.hostState ?? "none"
            round?.setHostState("counted:\(before)")
            do {
                try call.request(method: "elicitation/create", params: Self.nameQuestion, key: "q", timing: RequestTiming()) { _ in
                    try? call.respond(textResult("state \(before)"))
                }
            } catch { try? call.fail(.internalError("stop")) }
        })
        let r1 = try #require(h.request(1, "tools/call", modern(["name": "stateful"]))?["result"])
        let r2 = h.request(2, "tools/call", modern(["name": "stateful", "requestState": r1["requestState"] ?? nil,
                                                    "inputResponses": ["q": ["action": "decline"]]]))
        #expect(text(r2) == "state counted:none")
    }

    @Test func promptsAndResourcesAskToo() throws {
        let h = harness()
        try h.server.addPrompt(PromptEntry(definition: JSONObject(["name": "p"])) { call, _ in
            do {
                try call.request(method: "elicitation/create", params: Self.nameQuestion, key: "user_context", timing: RequestTiming()) { o in
                    let n = (try? o.get())?["content"]?["name"]?.stringValue ?? "?"
                    try? call.respond(["messages": [["role": "user", "content": ["type": "text", "text": .string("ctx " + n)]]]])
                }
            } catch { try? call.fail(.internalError("stop")) }
        })
        let p1 = try #require(h.request(1, "prompts/get", modern(["name": "p"]))?["result"])
        #expect(p1["inputRequests"]?["user_context"] != nil)
        let p2 = h.request(2, "prompts/get", modern(["name": "p", "requestState": p1["requestState"] ?? nil,
                                                     "inputResponses": ["user_context": ["action": "accept", "content": ["name": "z"]]]]))
        #expect(p2?["result"]?["messages"]?.arrayValue?.first?["content"]?["text"] == "ctx z")
        // A prompt's state is no tool's state.
        let wrong = h.request(3, "tools/call", modern(["name": "p", "requestState": p1["requestState"] ?? nil]))
        #expect(wrong?["error"] != nil)
    }

    @Test func theSameHandlerSendsLiveRequestsInThe2025Era() throws {
        let h = SessionHarness(executor: WorkerPool(maxThreads: 4))
        _ = h.request(0, "initialize", ["protocolVersion": "2025-11-25", "capabilities": Self.allCapabilities,
                                        "clientInfo": ["name": "t", "version": "1"]])
        try addAsker(h, name: "greet", questions: [("user_name", "elicitation/create", Self.nameQuestion)])
        h.send(["jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ["name": "greet"]])
        var request: JSONValue?
        for _ in 0..<200 where request == nil {
            request = h.messages.first { $0["method"] == "elicitation/create" }
            if request == nil { usleep(5000) }
        }
        let r = try #require(request)
        h.send(["jsonrpc": "2.0", "id": r["id"] ?? nil, "result": ["action": "accept", "content": ["name": "Live"]]])
        #expect(text(h.response(1)) == "Live")
    }
}
