import OrderedCollections
import MCPRuntime

/// The task store of a server: tasks by id, in creation order. A 2025-era
/// task is bound to the session that created it (no other session can see or
/// touch it); a task of the 2026-07-28 extension belongs to no session.
/// With a durable StateStore attached, every task is also saved there when
/// created and when its status becomes terminal (before the client can hear
/// of it), and a task this process does not hold is looked up there, so
/// tasks/get and tasks/result answer after a restart.
final class TaskStore: Sendable {
    private let tasks = LockedState(OrderedDictionary<String, TaskRecord>())
    private let backing = LockedState<(any StateStore)?>(nil)

    func attach(_ store: any StateStore) { backing.withLock { $0 = store.isDurable ? store : nil } }
    private var durable: (any StateStore)? { backing.withLock { $0 } }

    /// Keeps a new task (saved first: if the store refuses, it is not kept).
    func insert(_ t: TaskRecord) throws(StoreError) {
        try save(t)
        tasks.withLock { $0[t.id] = t }
    }

    /// Saves a task's current status and outcome to the durable store, if any.
    func save(_ t: TaskRecord) throws(StoreError) {
        try durable?.saveTask(t.stored)
    }

    func remove(_ id: String) {
        tasks.withLock { _ = $0.removeValue(forKey: id) }
        durable?.removeTask(id)
    }

    func find(_ id: String, owner: String) throws(StoreError) -> TaskRecord? {
        try lookup(id).flatMap { $0.ownerSessionID == owner ? $0 : nil }
    }

    /// A task of the 2026-07-28 extension (never a 2025 session's).
    func findUnowned(_ id: String) throws(StoreError) -> TaskRecord? {
        try lookup(id).flatMap { $0.ownerSessionID == nil ? $0 : nil }
    }

    /// This process's task, else the stored one. A stored task that reached
    /// a terminal status is kept in memory from then on; one still running
    /// elsewhere is read again at each lookup, so its end is seen.
    private func lookup(_ id: String) throws(StoreError) -> TaskRecord? {
        if let t = tasks.withLock({ $0[id] }) { return t }
        guard let store = durable, let stored = try store.loadTask(id), let t = TaskRecord(restoring: stored) else {
            return nil
        }
        if t.status.isTerminal { tasks.withLock { d in if d[id] == nil { d[id] = t } } }
        return t
    }

    func owned(by owner: String) -> [TaskRecord] {
        tasks.withLock { d in d.values.filter { $0.ownerSessionID == owner } }
    }

    func activeUnownedCount() -> Int {
        tasks.withLock { d in d.values.filter { $0.ownerSessionID == nil && !$0.status.isTerminal }.count }
    }

    func activeCount(owner: String) -> Int {
        tasks.withLock { d in d.values.filter { $0.ownerSessionID == owner && !$0.status.isTerminal }.count }
    }
}

/// Limits of task execution: the 2025-11-25 tasks and the tasks extension of
/// 2026-07-28 (whose TTL is always the default: its clients name none).
public struct TaskLimits: Sendable {
    public var defaultTTLMs = 3_600_000
    public var maxTTLMs = 86_400_000
    public var pollIntervalMs = 500
    public var maxActivePerSession = 100
    /// Live tasks of the 2026-07-28 extension, server-wide (they have no session).
    public var maxActiveUnowned = 10_000
    public init() {}
}

extension ServerSession {
    static let relatedTaskKey = "io.modelcontextprotocol/related-task"

    /// tools/call with a `task` member: answers CreateTaskResult at once and
    /// runs the host's handler as usual; its answer becomes the task's result.
    func startToolTask(_ request: InboundRequest, tool: ToolEntry, arguments: JSONObject, taskParams: JSONObject)
    {
        let limits = server.options.taskLimits
        guard server.tasks.activeCount(owner: self.id) < limits.maxActivePerSession else {
            return reply(request, .failure(.invalidRequest("Too many active tasks (limit \(limits.maxActivePerSession))")))
        }
        var ttl = limits.defaultTTLMs
        if let requested = taskParams["ttl"]?.intValue { ttl = Int(max(1, min(requested, Int64(limits.maxTTLMs)))) }
        let record = TaskRecord(ownerSessionID: self.id, ttlMs: ttl, pollIntervalMs: limits.pollIntervalMs)
        // Messages of a task travel on the session's own stream: the request's
        // stream ends with CreateTaskResult.
        let taskChannel = ClosureChannel(send: { [defaultChannel] in defaultChannel.send($0) }, finish: { _ in })
        let taskRequest = request.detached(channel: taskChannel) { outcome in
            self.finishTask(record, outcome: outcome)
        }
        let validating = server.options.validatesSchemas
        let call = ServerCall(session: self, request: taskRequest, kind: .tool(name: tool.name), task: record,
                              outputChecker: validating ? tool.outputChecker : nil)
        record.attach(call)
        do throws(StoreError) {
            try server.tasks.insert(record)
        } catch {
            return reply(request, .failure(error.rpcError))
        }
        let store = server.tasks
        server.scheduler.schedule(after: ttl) { [weak record] in
            guard let record else { return }
            record.call?.cancel()
            store.remove(record.id)
        }
        reply(request, .success(["task": .object(record.json)]))
        server.executor.execute { tool.run(call, arguments, validating: validating) }
    }

    /// The host answered a task's call: record it, wake tasks/result waiters,
    /// tell the client the new status.
    func finishTask(_ record: TaskRecord, outcome: Result<JSONValue, JSONRPCError>) {
        var failed = false
        switch outcome {
        case .success(let r): failed = r["isError"] == .bool(true)
        case .failure: failed = true
        }
        guard let waiters = record.transition(to: failed ? .failed : .completed, outcome: outcome) else { return }
        saveTask(record)
        sendTaskStatus(record)
        for waiter in waiters { reply(waiter, taggedOutcome(outcome, record)) }
    }

    /// Saves a task that changed to the durable store before anyone hears
    /// of the change. A store that fails here leaves the task in memory (its
    /// waiters are still answered); only a later process misses it, and the
    /// failure shows in readiness.
    func saveTask(_ record: TaskRecord) {
        do throws(StoreError) {
            try server.tasks.save(record)
        } catch {
            EngineLog.warning("store", "task not saved", ["task": .string(record.id), "error": .string(error.message)])
        }
    }

    func sendTaskStatus(_ record: TaskRecord) {
        send(.notification(method: "notifications/tasks/status", params: .object(record.json)))
    }

    private func taggedOutcome(_ outcome: Result<JSONValue, JSONRPCError>, _ record: TaskRecord)
        -> Result<JSONValue, JSONRPCError>
    {
        guard case .success(.object(var o)) = outcome else { return outcome }
        var meta = o["_meta"]?.objectValue ?? JSONObject()
        meta[Self.relatedTaskKey] = ["taskId": .string(record.id)]
        o["_meta"] = .object(meta)
        return .success(.object(o))
    }

    private func task(_ params: JSONObject, _ request: InboundRequest) -> TaskRecord? {
        guard let taskID = params["taskId"]?.stringValue else {
            reply(request, .failure(.invalidParams("A string \"taskId\" is required")))
            return nil
        }
        let found: TaskRecord?
        do throws(StoreError) {
            found = try server.tasks.find(taskID, owner: self.id)
        } catch {
            reply(request, .failure(error.rpcError))
            return nil
        }
        guard let t = found else {
            reply(request, .failure(.invalidParams("Unknown or expired task: \(taskID)")))
            return nil
        }
        return t
    }

    func handleTaskRequest(_ request: InboundRequest, params: JSONObject) {
        switch request.method {
        case "tasks/get":
            guard let t = task(params, request) else { return }
            reply(request, .success(.object(t.json)))
        case "tasks/result":
            guard let t = task(params, request) else { return }
            // A stored task still running in another process (or one that
            // died with it): nothing here will ever finish it to wake a waiter.
            if t.call == nil, !t.status.isTerminal {
                return reply(request, .failure(JSONRPCError(code: ErrorCode.internalError, message:
                    "Task \(t.id) is \(t.status.rawValue) in another server process; poll tasks/get")))
            }
            if let outcome = t.outcomeOrWait(request) { reply(request, taggedOutcome(outcome, t)) }
        case "tasks/cancel":
            guard let t = task(params, request) else { return }
            let call = t.call
            guard t.transition(to: .cancelled, message: "Cancelled by the client") != nil else {
                return reply(request, .failure(.invalidParams("The task is already \(t.status.rawValue)")))
            }
            saveTask(t)
            reply(request, .success(.object(t.json)))
            call?.cancel()
            sendTaskStatus(t)
        case "tasks/list":
            var start = 0
            if let c = params["cursor"] {
                guard let text = c.stringValue, let pos = server.cursors.decode(text, list: "tasks") else {
                    return reply(request, .failure(.invalidParams("Invalid cursor")))
                }
                start = pos.index
            }
            let all = server.tasks.owned(by: self.id)
            let end = min(all.count, start + server.options.pageSize)
            var result = JSONObject()
            result["tasks"] = .array(start < end ? all[start..<end].map { .object($0.json) } : [])
            if end < all.count {
                result["nextCursor"] = .string(server.cursors.encode(.init(list: "tasks", index: end, key: all[end].id)))
            }
            reply(request, .success(.object(result)))
        default:
            reply(request, .failure(.methodNotFound(request.method)))
        }
    }
}
