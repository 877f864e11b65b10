import MCPRuntime

/// The tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) at
/// revision 2026-07-28. The host enables it by declaring the extension in the
/// server options (`extensions`); a tool opts in through the same
/// `execution.taskSupport` as in 2025-11-25 ("optional" or "required").
/// Then, for a request whose client capabilities declare the extension, the
/// server alone decides: every call of such a tool becomes a task (there is
/// no request flag; a 2025-style `task` param is tolerated and ignored).
/// A "required" tool called without the extension is refused with -32021;
/// an "optional" one runs as a plain call.
///
/// One implementation of tasks: the records live in the server's TaskStore
/// beside the 2025-era ones, but belong to no session (a task id is usable
/// from any request, on any connection) and take the wire shape of the
/// extension: a flat CreateTaskResult (`resultType: "task"`), `ttlMs`,
/// `pollIntervalMs`, tasks/get with the result, error or input requests
/// inlined, tasks/update for input, ack-only tasks/cancel. Task ids are 128
/// random bits, so knowing one is the only way to reach a task.
extension ServerSession {
    static let tasksExtension = "io.modelcontextprotocol/tasks"

    /// Whether the host declared the extension.
    var servesTasksExtension: Bool { server.servesTasksExtension }

    static func declaresTasks(_ context: ModernContext) -> Bool {
        context.clientCapabilities["extensions"]?[tasksExtension] != nil
    }

    static var tasksCapability: JSONObject { ["extensions": .object([tasksExtension: [:]])] }

    /// A 2026-07-28 tools/call the extension takes over: true when it was
    /// answered here (a task started, or -32021), false to run it as usual.
    func routeModernTask(_ request: InboundRequest, tool: ToolEntry, arguments: JSONObject,
                         params: JSONObject) -> Bool
    {
        guard let context = request.modern, servesTasksExtension else { return false }
        let support = tool.taskSupport
        guard support == "optional" || support == "required" else { return false }
        guard Self.declaresTasks(context) else {
            guard support == "required" else { return false }
            reply(request, .failure(.missingClientCapability(Self.tasksCapability,
                "Tool \(tool.name) runs only as a task: the request must declare the \(Self.tasksExtension) extension")))
            return true
        }
        startModernTask(request, context: context, tool: tool, arguments: arguments, params: params)
        return true
    }

    private func startModernTask(_ request: InboundRequest, context: ModernContext, tool: ToolEntry,
                                 arguments: JSONObject, params: JSONObject)
    {
        let limits = server.options.taskLimits
        guard server.tasks.activeUnownedCount() < limits.maxActiveUnowned else {
            return reply(request, .failure(.invalidRequest("Too many active tasks (limit \(limits.maxActiveUnowned))")))
        }
        let record = TaskRecord(ownerSessionID: nil, ttlMs: limits.defaultTTLMs, pollIntervalMs: limits.pollIntervalMs)
        // The creating request ends with CreateTaskResult: what the call
        // sends later (progress, logs) has no stream to go to.
        let quiet = ClosureChannel(send: { _ in }, finish: { _ in })
        let tasks = server.tasks
        let taskRequest = request.detached(channel: quiet) { outcome in
            Self.finishModernTask(record, outcome, tasks: tasks)
        }
        taskRequest.attach(context)
        let validating = server.options.validatesSchemas
        let call = ServerCall(session: self, request: taskRequest, kind: .tool(name: tool.name), task: record,
                              params: params, outputChecker: validating ? tool.outputChecker : nil)
        record.attach(call)
        // Kept (and saved to a durable store) before the answer: a tasks/get
        // right after it finds the task, in this process or the next.
        do throws(StoreError) {
            try server.tasks.insert(record)
        } catch {
            return reply(request, .failure(error.rpcError))
        }
        let store = server.tasks
        server.scheduler.schedule(after: limits.defaultTTLMs) { [weak record] in
            guard let record else { return }
            Self.end(record)
            store.remove(record.id)
        }
        var created = stampModern(Self.modernJSON(record, detailed: false), cache: nil)
        created["resultType"] = "task"
        try? request.answer(.success(.object(created)))
        server.executor.execute { tool.run(call, arguments, validating: validating) }
    }

    /// The call answered: a result (even one with isError: the tool ran)
    /// completes the task, a JSON-RPC error fails it.
    static func finishModernTask(_ record: TaskRecord, _ outcome: Result<JSONValue, JSONRPCError>, tasks: TaskStore) {
        var status = TaskRecord.Status.completed
        if case .failure = outcome { status = .failed }
        if record.transition(to: status, outcome: outcome) != nil { save(record, tasks) }
        end(record)
    }

    /// Saves a task whose status changed to the durable store, if any; a
    /// failing store is logged (readiness shows it), the task lives on here.
    private static func save(_ record: TaskRecord, _ tasks: TaskStore) {
        do throws(StoreError) {
            try tasks.save(record)
        } catch {
            EngineLog.warning("store", "task not saved", ["task": .string(record.id), "error": .string(error.message)])
        }
    }

    /// Stops what a task still runs: its call and the input requests it waits on.
    private static func end(_ record: TaskRecord) {
        record.call?.cancel()
        for p in record.inputs.close() { p.completion(.failure(.cancelled)) }
    }

    /// The Task of the extension; `detailed` (tasks/get) inlines the input
    /// requests, the result or the error. A live task is input_required
    /// exactly while it has input requests out.
    static func modernJSON(_ record: TaskRecord, detailed: Bool) -> JSONObject {
        let snap = record.snapshot
        let requests = record.inputs.requests
        var status = snap.status
        if !status.isTerminal { status = requests.isEmpty ? .working : .inputRequired }
        var o = JSONObject()
        o["taskId"] = .string(record.id)
        o["status"] = .string(status.rawValue)
        if let m = snap.message { o["statusMessage"] = .string(m) }
        o["createdAt"] = .string(record.createdAt)
        o["lastUpdatedAt"] = .string(snap.lastUpdatedAt)
        o["ttlMs"] = record.ttlMs.map { .int(Int64($0)) } ?? .null
        o["pollIntervalMs"] = .int(Int64(record.pollIntervalMs))
        guard detailed else { return o }
        switch (status, snap.outcome) {
        case (.inputRequired, _): o["inputRequests"] = .object(requests)
        case (.completed, .success(let r)?): o["result"] = r
        case (.failed, .failure(let e)?): o["error"] = e.json
        default: break
        }
        return o
    }

    /// tasks/get, tasks/update, tasks/cancel at 2026-07-28.
    func handleModernTaskRequest(_ request: InboundRequest, params: JSONObject, context: ModernContext) {
        guard servesTasksExtension else { return reply(request, .failure(.methodNotFound(request.method))) }
        guard Self.declaresTasks(context) else {
            return reply(request, .failure(.missingClientCapability(Self.tasksCapability,
                "\(request.method) needs the \(Self.tasksExtension) extension in the request's client capabilities")))
        }
        guard let taskID = params["taskId"]?.stringValue else {
            return reply(request, .failure(.invalidParams("A string \"taskId\" is required")))
        }
        let found: TaskRecord?
        do throws(StoreError) {
            found = try server.tasks.findUnowned(taskID)
        } catch {
            return reply(request, .failure(error.rpcError))
        }
        guard let task = found else {
            return reply(request, .failure(.invalidParams("Unknown or expired task: \(taskID)")))
        }
        switch request.method {
        case "tasks/get":
            reply(request, .success(.object(Self.modernJSON(task, detailed: true))))
        case "tasks/update":
            guard let responses = params["inputResponses"]?.objectValue else {
                return reply(request, .failure(.invalidParams("\"inputResponses\" must be an object")))
            }
            for (pending, value) in task.inputs.take(responses) {
                _ = task.inputRequest(started: false)
                pending.completion(.success(value))
            }
            reply(request, .success(.object(JSONObject())))
        default: // tasks/cancel: an ack whatever the status (cancelling a finished task is no error)
            // The call is read first: a move to a terminal status lets go of it.
            let call = task.call
            if task.transition(to: .cancelled, message: "Cancelled by the client") != nil {
                Self.save(task, server.tasks)
                call?.cancel()
                Self.end(task)
            }
            reply(request, .success(.object(JSONObject())))
        }
    }
}
