import Testing
@testable import MCPCore
import MCPRuntime

@Suite struct TaskTests {
    @Test func aLongCallBecomesATaskPolledToCompletion() throws {
        let h = SessionHarness(executor: WorkerPool(maxThreads: 4))
        let release = LockedState(false)
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "slow", "execution": ["taskSupport": "optional"]])) {
            call, _ in
            _ = release.wait(until: MonotonicInstant.now().adding(milliseconds: 5000)) { $0 }
            try? call.respond(textResult("done"))
        })
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "plain"])) { call, _ in try? call.respond(textResult("p")) })
        h.initialize()
        let caps = h.messages.first { $0["id"] == 0 }?["result"]?["capabilities"]?["tasks"]
        #expect(caps?["requests"]?["tools"]?["call"] != nil)
        let created = try #require(h.request(1, "tools/call", ["name": "slow", "task": ["ttl": 60000]]))
        let task = try #require(created["result"]?["task"])
        let taskID = try #require(task["taskId"]?.stringValue)
        #expect(task["status"] == "working")
        #expect(task["ttl"] == 60000)
        #expect(task["createdAt"]?.stringValue?.hasSuffix("Z") == true)
        #expect(h.request(2, "tasks/get", ["taskId": .string(taskID)])?["result"]?["status"] == "working")
        #expect(h.request(3, "tasks/list")?["result"]?["tasks"]?.arrayValue?.count == 1)
        h.send(["jsonrpc": "2.0", "id": 4, "method": "tasks/result", "params": ["taskId": .string(taskID)]])
        #expect(h.response(4, timeoutMs: 100) == nil, "tasks/result waits for a terminal status")
        release.withLockAndNotify { $0 = true }
        let result = try #require(h.response(4))
        #expect(result["result"]?["content"]?.arrayValue?.first?["text"] == "done")
        #expect(result["result"]?["_meta"]?["io.modelcontextprotocol/related-task"]?["taskId"] == .string(taskID))
        #expect(h.messages.contains { $0["method"] == "notifications/tasks/status" && $0["params"]?["status"] == "completed" })
        #expect(h.request(5, "tasks/cancel", ["taskId": .string(taskID)])?["error"]?["code"] == -32602)
        #expect(h.request(6, "tools/call", ["name": "plain", "task": [:]])?["error"]?["code"] == -32601)
        #expect(h.request(7, "tasks/get", ["taskId": "nope"])?["error"]?["code"] == -32602)
    }

    @Test func cancellingATaskCancelsTheHostsCall() throws {
        let h = SessionHarness(executor: WorkerPool(maxThreads: 4))
        let sawCancel = LockedState(false)
        try h.server.addTool(ToolEntry(definition: JSONObject(["name": "slow", "execution": ["taskSupport": "required"]])) {
            call, _ in
            call.onCancel { sawCancel.withLockAndNotify { $0 = true } }
        })
        h.initialize()
        #expect(h.request(1, "tools/call", ["name": "slow"])?["error"]?["code"] == -32601, "required means only as a task")
        let taskID = try #require(h.request(2, "tools/call", ["name": "slow", "task": [:]])?["result"]?["task"]?["taskId"])
        #expect(h.request(3, "tasks/cancel", ["taskId": taskID])?["result"]?["status"] == "cancelled")
        #expect(sawCancel.wait(until: MonotonicInstant.now().adding(milliseconds: 2000)) { $0 })
        #expect(h.request(4, "tasks/get", ["taskId": taskID])?["result"]?["status"] == "cancelled")
    }
}
