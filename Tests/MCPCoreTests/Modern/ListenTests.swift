import Testing
@testable import MCPCore
import MCPRuntime

/// subscriptions/listen (2026-07-28): the filter, the acknowledgement, tagging,
/// and the registry's lifetime (cancel, close, graceful end).
@Suite struct ListenTests {
    static let idKey = "io.modelcontextprotocol/subscriptionId"

    func harness() -> SessionHarness {
        let executor = InlineExecutor()
        return SessionHarness(server: ServerCore(options: ServerOptions(name: "test", version: "1.0"),
                                                 executor: executor, scheduler: Scheduler(executor: executor)))
    }

    func listen(_ h: SessionHarness, _ id: Int64, _ filter: JSONObject) {
        h.send(["jsonrpc": "2.0", "id": .int(id), "method": "subscriptions/listen",
                "params": modernParams(["notifications": .object(filter)])])
    }

    /// Notifications tagged with subscription `id`, in order.
    func tagged(_ h: SessionHarness, _ id: Int64) -> [JSONValue] {
        h.messages.filter { $0["method"] != nil && $0["params"]?["_meta"]?[Self.idKey] == .int(id) }
    }

    func tool(_ name: String) throws -> ToolEntry {
        try ToolEntry(definition: JSONObject(["name": .string(name)])) { call, _ in _ = call }
    }

    @Test func filterParsesHonouredSubsetAndRefusesMalformed() throws {
        let f = try SubscriptionFilter.parse(["notifications": [
            "toolsListChanged": true, "promptsListChanged": false, "futureThing": true,
            "resourceSubscriptions": ["a://x", "a://x", "b://y"],
        ]]).get()
        #expect(f.acknowledged == ["toolsListChanged": true, "resourceSubscriptions": ["a://x", "b://y"]])
        #expect(f.admits(method: "notifications/tools/list_changed", params: nil))
        #expect(!f.admits(method: "notifications/prompts/list_changed", params: nil))
        #expect(!f.admits(method: "notifications/resources/list_changed", params: nil))
        #expect(f.admits(method: "notifications/resources/updated", params: ["uri": "a://x/child"]))
        #expect(!f.admits(method: "notifications/resources/updated", params: ["uri": "a://xy"]))
        #expect(!f.admits(method: "notifications/message", params: ["level": "info"]))
        for bad: JSONObject in [[:], ["notifications": 1], ["notifications": ["toolsListChanged": "yes"]],
                                ["notifications": ["resourceSubscriptions": "a://x"]],
                                ["notifications": ["resourceSubscriptions": [1]]]]
        {
            #expect(throws: JSONRPCError.self) { try SubscriptionFilter.parse(bad).get() }
        }
    }

    @Test func acknowledgementFirstThenOnlyWhatWasAskedTagged() throws {
        let h = harness()
        listen(h, 7, ["toolsListChanged": true, "resourceSubscriptions": ["test://r"]])
        listen(h, 8, ["promptsListChanged": true])
        #expect(h.server.listenerCount == 2)
        try h.server.addTool(tool("t1"))
        try h.server.addPrompt(PromptEntry(definition: ["name": "p1"]) { call, _ in _ = call })
        #expect(h.server.notifyResourceUpdated(uri: "test://r") == 1)
        #expect(h.server.notifyResourceUpdated(uri: "test://other") == 0)

        let seven = tagged(h, 7).map { $0["method"] }
        #expect(seven == ["notifications/subscriptions/acknowledged", "notifications/tools/list_changed",
                          "notifications/resources/updated"])
        #expect(tagged(h, 7).first?["params"]?["notifications"] == ["toolsListChanged": true,
                                                                    "resourceSubscriptions": ["test://r"]])
        #expect(tagged(h, 8).map { $0["method"] } == ["notifications/subscriptions/acknowledged",
                                                      "notifications/prompts/list_changed"])
        let untagged = h.messages.filter { $0["method"] != nil && $0["params"]?["_meta"]?[Self.idKey] == nil }
        #expect(untagged.isEmpty, "a modern connection gets nothing outside its subscriptions: \(untagged)")
        #expect(h.response(7, timeoutMs: 0) == nil, "a listen request stays open")
    }

    @Test func cancelledListenerIsForgotten() throws {
        let h = harness()
        listen(h, 1, ["toolsListChanged": true])
        h.send(["jsonrpc": "2.0", "method": "notifications/cancelled", "params": ["requestId": 1]])
        #expect(h.server.listenerCount == 0)
        try h.server.addTool(tool("t"))
        #expect(tagged(h, 1).count == 1, "only the acknowledgement")
        #expect(h.response(1, timeoutMs: 0) == nil, "a cancelled request gets no answer")
    }

    @Test func closedSessionFreesItsListeners() {
        let h = harness()
        listen(h, 1, ["toolsListChanged": true])
        listen(h, 2, ["resourcesListChanged": true])
        #expect(h.server.listenerCount == 2)
        h.session.close()
        #expect(h.server.listenerCount == 0)
    }

    @Test func serverEndsListenersGracefully() throws {
        let h = harness()
        listen(h, 3, ["toolsListChanged": true])
        #expect(h.server.endListeners { $0 === h.session } == 1)
        let end = try #require(h.response(3))
        #expect(end["result"]?["resultType"] == "complete")
        #expect(end["result"]?["_meta"]?[Self.idKey] == 3)
        try h.server.addTool(tool("late"))
        #expect(tagged(h, 3).count == 1, "nothing after the end")
        listen(h, 4, ["toolsListChanged": true])
        h.server.shutdown()
        #expect(h.response(4)?["result"]?["resultType"] == "complete", "shutdown ends every listener")
        #expect(h.server.listenerCount == 0)
    }

    @Test func malformedFilterIsInvalidParams() {
        let h = harness()
        h.send(["jsonrpc": "2.0", "id": 1, "method": "subscriptions/listen", "params": modernParams()])
        #expect(h.response(1)?["error"]?["code"] == -32602)
        #expect(h.server.listenerCount == 0)
    }
}
