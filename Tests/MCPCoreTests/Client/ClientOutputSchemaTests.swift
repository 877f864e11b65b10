import Testing
@testable import MCPCore
import MCPRuntime

/// The client checks a tool's structuredContent against the outputSchema it
/// learned from the host's own tools/list (tools.mdx), in memory against our
/// server, whose tools answer whatever they are told to (registered without
/// the server's own check, `validation: nil`, so bad output reaches the client).
@Suite struct ClientOutputSchemaTests {
    private static let weather: JSONObject = [
        "type": "object",
        "properties": ["temperature": ["type": "number"], "conditions": ["type": "string"]],
        "required": ["temperature", "conditions"],
    ]

    private func pair() throws -> ClientSessionTests.Pair {
        try ClientSessionTests.Pair { s in
            try s.addTool(ToolEntry(definition: JSONObject(["name": "weather", "outputSchema": .object(Self.weather)]),
                                    validation: nil) { call, args in
                var r: JSONObject = ["content": [["type": "text", "text": "ok"]]]
                if let sc = args["sc"] { r["structuredContent"] = sc }
                if args["fail"] != nil { r["isError"] = true }
                try? call.respond(.object(r))
            })
            try s.addTool(ToolEntry(definition: JSONObject(["name": "free"])) { call, args in
                try? call.respond(["content": [], "structuredContent": args["sc"] ?? 1])
            })
        }
    }

    @Test func checksAfterToolsListAndNamesTheField() throws {
        let p = try pair()
        _ = try p.connect()
        let bad: JSONValue = ["temperature": "hot", "conditions": "sunny"]
        // Not listed yet: nothing is known, the result passes as it is.
        #expect(try p.call("tools/call", ["name": "weather", "arguments": ["sc": bad]]).get()["structuredContent"] == bad)
        _ = try p.call("tools/list", nil).get()
        let good: JSONValue = ["temperature": 21.5, "conditions": "sunny"]
        #expect(try p.call("tools/call", ["name": "weather", "arguments": ["sc": good]]).get()["structuredContent"] == good)
        guard case .failure(.peer(let e)) = p.call("tools/call", ["name": "weather", "arguments": ["sc": bad]]) else {
            Issue.record("a mismatching structuredContent passed")
            return
        }
        #expect(e.code == ErrorCode.internalError)
        #expect(e.message.contains("\"weather\"") && e.message.contains("/temperature"))
        #expect(e.data?["instancePath"] == "/temperature" && e.data?["keyword"] == "type" && e.data?["reason"] == "violation")
        guard case .failure(.peer(let m)) = p.call("tools/call", ["name": "weather", "arguments": [:]]) else {
            Issue.record("a missing structuredContent passed")
            return
        }
        #expect(m.data?["keyword"] == "structuredContent")
        // Error results and tools without outputSchema are not checked.
        #expect(throws: Never.self) { try p.call("tools/call", ["name": "weather", "arguments": ["fail": true]]).get() }
        #expect(throws: Never.self) { try p.call("tools/call", ["name": "free", "arguments": ["sc": ["any": "thing"]]]).get() }
    }

    @Test func listChangedForgetsWhatWasLearned() throws {
        let p = try pair()
        _ = try p.connect()
        _ = try p.call("tools/list", nil).get()
        #expect(p.client.checkToolOutput(tool: "weather", result: ["structuredContent": 5]) != nil)
        p.client.handleNotification(method: "notifications/tools/list_changed", params: JSONObject())
        // (Our server checks its own tools' output too, so the checker is asked directly.)
        #expect(p.client.checkToolOutput(tool: "weather", result: ["structuredContent": 5]) == nil)
    }

    @Test func unusableSchemaFailsTheCallClearly() throws {
        // The session's checker is fed directly: our server sends no such schema.
        let tools: JSONValue = ["tools": [
            ["name": "ext", "outputSchema": ["$ref": "https://canary.example.com/s.json"]],
            ["name": "loop", "outputSchema": ["$ref": "#"]],
        ]]
        let p = try pair()
        let learn = p.client.checkingToolOutput(method: "tools/list", params: nil) { _ in }
        learn(.success(tools))
        let ext = p.client.checkToolOutput(tool: "ext", result: ["content": [], "structuredContent": 1])
        #expect(ext?.data?["reason"] == "unresolvedRef")
        #expect(ext?.message.contains("cannot use") == true)
        let loop = p.client.checkToolOutput(tool: "loop", result: ["content": [], "structuredContent": 1])
        #expect(loop?.data?["reason"] == "refCycle")
    }

    @Test func optionTurnsItOff() throws {
        var options = ClientOptions(name: "c", version: "1")
        options.validatesToolOutput = false
        let pool = WorkerPool(maxThreads: 2)
        let c = ClientSession(options: options, executor: pool, scheduler: Scheduler(executor: pool)) { _ in }
        c.checkingToolOutput(method: "tools/list", params: nil) { _ in }(.success(["tools": [["name": "t", "outputSchema": ["type": "string"]]]]))
        #expect(c.checkToolOutput(tool: "t", result: ["structuredContent": 1]) == nil)
    }
}
