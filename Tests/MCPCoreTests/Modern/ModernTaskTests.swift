import Testing
@testable import MCPCore
import MCPRuntime

/// The tasks extension at 2026-07-28 (ModernTasks.swift, TaskInputs.swift):
/// the state machine (working -> input_required <-> working -> completed |
/// failed | cancelled), gating, TTL, and tasks reachable from any session.
@Suite struct ModernTaskTests {
    static let tasksCaps: JSONObject = ["extensions": ["io.modelcontextprotocol/tasks": [:]]]
    static let withInput: JSONObject = ["elicitation": [:], "extensions": ["io.modelcontextprotocol/tasks": [:]]]

    /// A server with the extension declared (unless `enabled` is false), the
    /// given TTL, on `timers`; `calls` receives each call of the tool "job".
    func harness(enabled: Bool = true, ttlMs: Int = 60_000, timers: (any TimerService)? = nil,
                 support: String = "optional", calls: LockedState<[ServerCall]>) throws -> SessionHarness
    {
        var options = ServerOptions(name: "test", version: "1.0")
        if enabled { options.extensions = ["io.modelcontextprotocol/tasks": [:]] }
        options.taskLimits.defaultTTLMs = ttlMs
        options.taskLimits.pollIntervalMs = 250
        let executor = InlineExecutor()
        let server = ServerCore(options: options, executor: executor, scheduler: timers ?? Scheduler(executor: executor))
        try server.addTool(ToolEntry(definition: ["name": "job", "execution": ["taskSupport": .string(support)]]) {
            call, _ in calls.withLock { $0.append(call) }
        })
        try server.addTool(ToolEntry(definition: ["name": "plain"]) { call, _ in try? call.respond(textResult("p")) })
        return SessionHarness(server: server)
    }

    func call(_ h: SessionHarness, _ id: Int64, _ tool: String, caps: JSONObject = tasksCaps) -> JSONValue? {
        h.request(id, "tools/call", modernParams(["name": .string(tool)], caps: caps))
    }

    func task(_ h: SessionHarness, _ id: Int64, _ method: String, _ taskID: JSONValue,
              _ extra: JSONObject = JSONObject(), caps: JSONObject = tasksCaps) -> JSONValue?
    {
        var p = extra
        p["taskId"] = taskID
        return h.request(id, method, modernParams(p, caps: caps))
    }

    @Test func aTaskIsCreatedPolledAndCompleted() throws {
        let calls = LockedState<[ServerCall]>([])
        let h = try harness(calls: calls)
        let created = try #require(call(h, 1, "job")?["result"])
        #expect(created["resultType"] == "task")
        #expect(created["status"] == "working")
        #expect(created["ttlMs"] == 60000 && created["pollIntervalMs"] == 250)
        #expect(created["ttl"] == nil && created["pollInterval"] == nil && created["task"] == nil)
        #expect(created["_meta"]?["io.modelcontextprotocol/serverInfo"]?["name"] == "test")
        let id = try #require(created["taskId"])
        #expect(id.stringValue?.count == 32)

        let working = try #require(task(h, 2, "tasks/get", id)?["result"])
        #expect(working["resultType"] == "complete" && working["status"] == "working")
        #expect(working["result"] == nil && working["error"] == nil && working["inputRequests"] == nil)

        let c = try #require(calls.withLock { $0.first })
        #expect(c.modern != nil, "the task's call keeps the request's 2026-07-28 context")
        try c.respond(["content": [["type": "text", "text": "done"]], "isError": true])
        let done = try #require(task(h, 3, "tasks/get", id)?["result"])
        #expect(done["status"] == "completed", "a tool error is a completed task")
        #expect(done["result"]?["isError"] == true)
        #expect(done["result"]?["content"]?.arrayValue?.first?["text"] == "done")
        // Cancel after the end: the same empty ack, nothing changes.
        let ack = try #require(task(h, 4, "tasks/cancel", id)?["result"])
        #expect(ack["resultType"] == "complete" && ack["status"] == nil && ack["taskId"] == nil)
        #expect(task(h, 5, "tasks/get", id)?["result"]?["status"] == "completed")
    }

    @Test func aJSONRPCErrorFailsTheTask() throws {
        let calls = LockedState<[ServerCall]>([])
        let h = try harness(calls: calls)
        let id = try #require(call(h, 1, "job")?["result"]?["taskId"])
        try #require(calls.withLock { $0.first }).fail(JSONRPCError(code: -32603, message: "boom"))
        let failed = try #require(task(h, 2, "tasks/get", id)?["result"])
        #expect(failed["status"] == "failed" && failed["result"] == nil)
        #expect(failed["error"]?["code"] == -32603 && failed["error"]?["message"] == "boom")
    }

    @Test func inputRequestsWaitForTasksUpdate() throws {
        let calls = LockedState<[ServerCall]>([])
        let answers = LockedState<[Result<JSONValue, RequestFailure>]>([])
        let h = try harness(calls: calls)
        let id = try #require(call(h, 1, "job", caps: Self.withInput)?["result"]?["taskId"])
        let c = try #require(calls.withLock { $0.first })
        let form: JSONObject = ["message": "Sure?", "requestedSchema": ["type": "object", "properties": [:]]]
        for _ in 0..<2 {
            try c.request(method: "elicitation/create", params: form, timing: RequestTiming()) { outcome in
                answers.withLock { $0.append(outcome) }
            }
        }
        #expect(throws: ServerCall.Failure.self) {
            try c.request(method: "ping", params: nil, timing: RequestTiming()) { _ in }
        }
        let parked = try #require(task(h, 2, "tasks/get", id)?["result"])
        #expect(parked["status"] == "input_required")
        let keys = parked["inputRequests"]?.objectValue?.keys ?? []
        #expect(keys == ["elicit-1", "elicit-2"])
        #expect(parked["inputRequests"]?["elicit-1"]?["method"] == "elicitation/create")
        #expect(parked["inputRequests"]?["elicit-1"]?["params"]?["message"] == "Sure?")

        let accept: JSONValue = ["action": "accept", "content": [:]]
        let ack = task(h, 3, "tasks/update", id, ["inputResponses": ["elicit-1": accept, "unknown": accept]])
        #expect(ack?["result"]?["resultType"] == "complete" && ack?["result"]?["status"] == nil)
        #expect(answers.withLock { $0 } == [.success(accept)])
        let partial = try #require(task(h, 4, "tasks/get", id)?["result"])
        #expect(partial["status"] == "input_required" && partial["inputRequests"]?.objectValue?.keys == ["elicit-2"])
        // An answered key is never answered twice.
        _ = task(h, 5, "tasks/update", id, ["inputResponses": ["elicit-1": accept, "elicit-2": accept]])
        #expect(answers.withLock { $0.count } == 2)
        #expect(task(h, 6, "tasks/get", id)?["result"]?["status"] == "working")
        #expect(task(h, 7, "tasks/update", id, ["inputResponses": []])?["error"]?["code"] == -32602)
    }

    @Test func anInputRequestNeedsTheClientsCapability() throws {
        let calls = LockedState<[ServerCall]>([])
        let h = try harness(calls: calls)
        _ = call(h, 1, "job")  // the extension, but no elicitation capability
        let c = try #require(calls.withLock { $0.first })
        #expect(throws: ServerCall.Failure.self) {
            try c.request(method: "elicitation/create", params: ["message": "x", "requestedSchema": ["type": "object"]],
                          timing: RequestTiming()) { _ in }
        }
    }

    @Test func cancelEndsTheCallAndItsInputRequests() throws {
        let calls = LockedState<[ServerCall]>([])
        let answers = LockedState<[Result<JSONValue, RequestFailure>]>([])
        let h = try harness(calls: calls)
        let id = try #require(call(h, 1, "job", caps: Self.withInput)?["result"]?["taskId"])
        let c = try #require(calls.withLock { $0.first })
        try c.request(method: "elicitation/create", params: ["message": "x", "requestedSchema": ["type": "object"]],
                      timing: RequestTiming()) { outcome in answers.withLock { $0.append(outcome) } }
        #expect(task(h, 2, "tasks/cancel", id)?["result"]?["resultType"] == "complete")
        #expect(c.isCancelled)
        #expect(answers.withLock { $0 } == [.failure(.cancelled)])
        let after = try #require(task(h, 3, "tasks/get", id)?["result"])
        #expect(after["status"] == "cancelled" && after["inputRequests"] == nil)
        // The host's late answer changes nothing.
        try? c.respond(textResult("late"))
        #expect(task(h, 4, "tasks/get", id)?["result"]?["status"] == "cancelled")
    }

    @Test func gating() throws {
        let calls = LockedState<[ServerCall]>([])
        let off = try harness(enabled: false, calls: calls)
        // The job never answers: sent, not awaited.
        off.send(["jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": modernParams(["name": "job"], caps: Self.tasksCaps)])
        #expect(calls.withLock { $0.count } == 1 && calls.withLock { $0[0].task } == nil,
                "without the extension declared by the host the call runs as usual")
        #expect(task(off, 2, "tasks/get", "x")?["error"]?["code"] == -32601)

        let on = try harness(calls: calls)
        let noExt = task(on, 3, "tasks/get", "x", caps: JSONObject())?["error"]
        #expect(noExt?["code"] == -32021)
        #expect(noExt?["data"]?["requiredCapabilities"]?["extensions"]?["io.modelcontextprotocol/tasks"] == .object(JSONObject()))
        #expect(task(on, 4, "tasks/get", "x")?["error"]?["code"] == -32602)
        #expect(task(on, 5, "tasks/result", "x")?["error"]?["code"] == -32601)
        #expect(on.request(6, "tasks/list", modernParams(caps: Self.tasksCaps))?["error"]?["code"] == -32601)
        #expect(call(on, 7, "plain")?["result"]?["resultType"] == "complete", "a tool without task support")
        on.send(["jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": modernParams(["name": "job"])])
        #expect(calls.withLock { $0.last?.task } == nil, "an optional tool without the client's opt-in runs plainly")

        let required = try harness(support: "required", calls: calls)
        let refused = call(required, 9, "job", caps: JSONObject())?["error"]
        #expect(refused?["code"] == -32021)
        #expect(refused?["data"]?["requiredCapabilities"] == .object(Self.tasksCaps))
        #expect(call(required, 10, "job")?["result"]?["resultType"] == "task")
    }

    @Test func aTaskExpiresAfterItsTTL() throws {
        let calls = LockedState<[ServerCall]>([])
        let timers = ManualTimers()
        let h = try harness(ttlMs: 1000, timers: timers, calls: calls)
        let id = try #require(call(h, 1, "job")?["result"]?["taskId"])
        timers.advance(by: 999)
        #expect(task(h, 2, "tasks/get", id)?["result"]?["status"] == "working", "alive for its whole ttlMs")
        timers.advance(by: 1)
        #expect(task(h, 3, "tasks/get", id)?["error"]?["code"] == -32602)
        #expect(try #require(calls.withLock { $0.first }).isCancelled, "an expired task's call is cancelled")
    }

    @Test func aTaskIsReachableFromAnySessionButNotFromThe2025Era() throws {
        let calls = LockedState<[ServerCall]>([])
        let h = try harness(calls: calls)
        let id = try #require(call(h, 1, "job")?["result"]?["taskId"])
        let other = SessionHarness(server: h.server)
        #expect(task(other, 1, "tasks/get", id)?["result"]?["status"] == "working")
        let legacy = SessionHarness(server: h.server)
        legacy.initialize()
        #expect(legacy.request(2, "tasks/get", ["taskId": id])?["error"]?["code"] == -32602)
        #expect(legacy.request(3, "tasks/list")?["result"]?["tasks"] == [])
    }
}
