import Testing
@testable import MCPCore
import MCPRuntime

@Suite struct ServerSessionTests {
    @Test(arguments: [
        ("2025-11-25", "2025-11-25"), ("2025-06-18", "2025-06-18"), ("2025-03-26", "2025-03-26"),
        ("2024-11-05", "2024-11-05"), ("1999-01-01", "2025-11-25"),
    ])
    func negotiatesTheProtocolVersion(_ requested: String, _ expected: String) throws {
        let h = SessionHarness()
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "t"])) { call, _ in try? call.respond(textResult("t")) })
        let r = try #require(h.request(1, "initialize", [
            "protocolVersion": .string(requested), "capabilities": [:], "clientInfo": ["name": "t", "version": "1"],
        ]))
        #expect(r["result"]?["protocolVersion"] == .string(expected))
        #expect(r["result"]?["serverInfo"]?["name"] == "test")
        #expect(r["result"]?["instructions"] == "Be nice")
        #expect(r["result"]?["capabilities"]?["tools"] != nil, "a tool is registered")
        #expect(r["result"]?["capabilities"]?["prompts"] == nil, "no prompt is")
    }

    @Test func enforcesTheLifecycle() throws {
        let h = SessionHarness()
        #expect(h.request(1, "ping")?["result"] == .object(JSONObject()), "ping is allowed before initialize")
        #expect(h.request(2, "tools/list")?["error"]?["code"] == -32600)
        h.initialize()
        #expect(h.request(3, "tools/list")?["result"]?["tools"] == [])
        let again = h.request(4, "initialize", ["protocolVersion": "2025-11-25", "capabilities": [:], "clientInfo": [:]])
        #expect(again?["error"]?["code"] == -32600)
        #expect(h.request(5, "server/discover")?["error"]?["code"] == -32601)
    }

    @Test func callsToolsAndReportsErrors() throws {
        let h = SessionHarness()
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "echo"])) { call, args in
            try? call.respond(["structuredContent": ["got": args["text"] ?? nil]])
        })
        h.initialize()
        let r = try #require(h.request(1, "tools/call", ["name": "echo", "arguments": ["text": "hi"]]))
        #expect(r["result"]?["structuredContent"]?["got"] == "hi")
        #expect(r["result"]?["content"]?.arrayValue?.first?["text"] == #"{"got":"hi"}"#)
        #expect(h.request(2, "tools/call", ["name": "nope"])?["error"]?["code"] == -32602)
        #expect(h.request(3, "tools/call", ["name": "echo", "arguments": [1]])?["error"]?["code"] == -32602)
    }

    @Test func refusesMalformedResultsButStillAnswers() throws {
        let h = SessionHarness()
        let failure = LockedState<ServerCall.Failure?>(nil)
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "bad"])) { call, _ in
            do throws(ServerCall.Failure) { try call.respond(["content": "not an array"]) } catch { failure.withLock { $0 = error } }
        })
        h.initialize()
        #expect(h.request(1, "tools/call", ["name": "bad"])?["error"]?["code"] == -32603)
        guard case .invalidResult = failure.withLock({ $0 }) else {
            Issue.record("the host should learn why its result was refused")
            return
        }
    }

    @Test func sendsProgressBeforeTheResponseAndFiltersLogs() throws {
        let h = SessionHarness()
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "work"])) { call, _ in
            try? call.progress(0, total: 100, message: nil)
            try? call.progress(50, total: 100, message: "half")
            #expect(throws: ServerCall.Failure.self) { try call.progress(50, total: 100, message: nil) }
            try? call.log(level: .debug, logger: nil, data: "hidden at info")
            try? call.log(level: .warning, logger: "w", data: "shown")
            try? call.respond(textResult("done"))
        })
        h.initialize()
        _ = h.request(1, "tools/call", ["name": "work", "_meta": ["progressToken": "tok"]])
        let methods = h.messages.compactMap { $0["method"]?.stringValue }
        #expect(methods.filter { $0 == "notifications/progress" }.count == 2)
        #expect(methods.filter { $0 == "notifications/message" }.count == 1)
        let last = h.messages.last
        #expect(last?["id"] == 1, "the response comes after its progress and logs")
        #expect(h.messages.first { $0["method"] == "notifications/progress" }?["params"]?["progressToken"] == "tok")
        #expect(h.request(2, "logging/setLevel", ["level": "loud"])?["error"]?["code"] == -32602)
    }

    @Test func cancelledCallsGetNoResponse() throws {
        let h = SessionHarness(executor: WorkerPool(maxThreads: 4))
        let started = LockedState(false)
        let release = LockedState(false)
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "slow"])) { call, _ in
            started.withLockAndNotify { $0 = true }
            _ = release.wait(until: MonotonicInstant.now().adding(milliseconds: 5000)) { $0 }
            #expect(call.isCancelled)
            try? call.respond(textResult("late"))
        })
        h.initialize()
        h.send(["jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": ["name": "slow"]])
        #expect(started.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0 })
        h.send(["jsonrpc": "2.0", "method": "notifications/cancelled", "params": ["requestId": 7]])
        release.withLockAndNotify { $0 = true }
        #expect(h.session.waitForInFlight(until: MonotonicInstant.now().adding(milliseconds: 2000)))
        #expect(h.response(7, timeoutMs: 300) == nil)
        #expect(h.request(8, "ping")?["result"] != nil)
    }

    @Test func pagesListsWithStableCursors() throws {
        let h = SessionHarness(pageSize: 2)
        for i in 0..<5 {
            try h.server.addTool(ToolEntry(definition: JSONObject(["name": .string("t\(i)")])) { _, _ in })
        }
        h.initialize()
        var names: [String] = []
        var cursor: JSONValue? = nil
        var id: Int64 = 1
        repeat {
            let r = try #require(h.request(id, "tools/list", cursor.map { ["cursor": $0] }))
            names += r["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            cursor = r["result"]?["nextCursor"]
            id += 1
        } while cursor != nil && id < 10
        #expect(names == ["t0", "t1", "t2", "t3", "t4"])
        #expect(h.request(20, "tools/list", ["cursor": "forged"])?["error"]?["code"] == -32602)
    }

    @Test func readsResourcesThroughTemplatesAndReportsUnknownURIs() throws {
        let h = SessionHarness()
        try h.server.addTemplate(TemplateEntry(definition: JSONObject(["uriTemplate": "test://template/{id}/data", "name": "t"])) {
            call, _, vars in
            try? call.respond(["contents": [["text": .string("id=\(vars["id"]?.stringValue ?? "")")]]])
        })
        h.initialize()
        let r = h.request(1, "resources/read", ["uri": "test://template/9/data"])
        #expect(r?["result"]?["contents"]?.arrayValue?.first?["uri"] == "test://template/9/data")
        #expect(r?["result"]?["contents"]?.arrayValue?.first?["text"] == "id=9")
        let e = h.request(2, "resources/read", ["uri": "test://nope"])
        #expect(e?["error"]?["code"] == -32002)
        #expect(e?["error"]?["data"]?["uri"] == "test://nope")
    }

    @Test func checksRequiredPromptArguments() throws {
        let h = SessionHarness()
        try h.server.addPrompt(PromptEntry(definition: JSONObject([
            "name": "p", "arguments": [["name": "a", "required": true]],
        ])) { call, args in
            try? call.respond(["messages": [["role": "user", "content": ["type": "text", "text": args["a"] ?? "?"]]]])
        })
        h.initialize()
        #expect(h.request(1, "prompts/get", ["name": "p"])?["error"]?["code"] == -32602)
        #expect(h.request(2, "prompts/get", ["name": "p", "arguments": ["a": 1]])?["error"]?["code"] == -32602)
        let r = h.request(3, "prompts/get", ["name": "p", "arguments": ["a": "x"]])
        #expect(r?["result"]?["messages"]?.arrayValue?.first?["content"]?["text"] == "x")
    }

    @Test func gatesFieldsByTheNegotiatedRevision() throws {
        let h = SessionHarness()
        try h.server.addTool(ToolEntry(definition: JSONObject([
            "name": "t", "title": "T", "icons": [], "annotations": ["readOnlyHint": true],
            "outputSchema": ["type": "object"],
        ])) { call, _ in try? call.respond(["content": [], "structuredContent": ["a": 1]]) })
        h.initialize("2024-11-05")
        let tool = h.request(1, "tools/list")?["result"]?["tools"]?.arrayValue?.first
        #expect(tool?["title"] == nil && tool?["icons"] == nil && tool?["annotations"] == nil && tool?["outputSchema"] == nil)
        #expect(h.request(2, "tools/call", ["name": "t"])?["result"]?["structuredContent"] == nil)
    }

    @Test func announcesListChangesToInitializedSessions() throws {
        let h = SessionHarness()
        h.initialize()
        let fresh = SessionHarness(server: h.server)
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "new"])) { _, _ in })
        try h.server.removeTool(named: "new")
        #expect(h.messages.filter { $0["method"] == "notifications/tools/list_changed" }.count == 2)
        #expect(fresh.messages.isEmpty, "a session that has not initialized hears nothing")
        #expect(throws: DefinitionError.self) { try h.server.removeTool(named: "new") }
    }
}

@Suite struct ServerSessionChannelTests {
    final class Recorder: MessageChannel {
        let log = LockedState<[(kind: String, value: JSONValue?)]>([])
        func send(_ message: [UInt8]) { log.withLockAndNotify { $0.append(("send", try? JSONParser.parse(message))) } }
        func finish(_ answer: [UInt8]?) {
            log.withLockAndNotify { $0.append(("finish", answer.flatMap { try? JSONParser.parse($0) })) }
        }
    }

    @Test func acceptsBatchesOnlyOnRevision20250326() throws {
        let h = SessionHarness()
        h.initialize("2025-03-26")
        let r = Recorder()
        let batch: JSONValue = [
            ["jsonrpc": "2.0", "id": 1, "method": "ping"],
            ["jsonrpc": "2.0", "method": "notifications/whatever"],
            ["jsonrpc": "2.0", "id": 2, "method": "nope"],
        ]
        #expect(h.session.receive(batch, channel: r) == 1)
        let log = r.log.withLock { $0 }
        #expect(log.count == 1 && log[0].kind == "finish")
        #expect(log[0].value?.arrayValue?.count == 2)
        let newer = SessionHarness()
        newer.initialize("2025-11-25")
        let r2 = Recorder()
        newer.session.receive([["jsonrpc": "2.0", "id": 1, "method": "ping"]], channel: r2)
        #expect(r2.log.withLock { $0 }.first?.value?["error"]?["code"] == -32600)
    }

    @Test func routesACallsMessagesToItsChannelAndEndsItOnCancel() throws {
        let h = SessionHarness(executor: WorkerPool(maxThreads: 2))
        let proceed = LockedState(false)
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "t"])) { call, _ in
            try? call.progress(1, total: nil, message: nil)
            _ = proceed.wait(until: MonotonicInstant.now().adding(milliseconds: 3000)) { $0 }
            try? call.respond(textResult("x"))
        })
        h.initialize()
        let r = Recorder()
        let expected = h.session.receive(
            ["jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": ["name": "t", "_meta": ["progressToken": 1]]],
            channel: r)
        #expect(expected == 1)
        #expect(r.log.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0.count == 1 })
        #expect(r.log.withLock { $0 }[0].kind == "send")
        h.send(["jsonrpc": "2.0", "method": "notifications/cancelled", "params": ["requestId": 5]])
        #expect(r.log.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0.count == 2 })
        #expect(r.log.withLock { $0 }[1].kind == "finish" && r.log.withLock { $0 }[1].value == nil)
        proceed.withLockAndNotify { $0 = true }
        #expect(h.session.waitForInFlight(until: MonotonicInstant.now().adding(milliseconds: 2000)))
        usleep(50_000)
        #expect(r.log.withLock { $0 }.count == 2, "nothing after the cancellation")
    }
}

#if canImport(Glibc)
import Glibc
#endif
