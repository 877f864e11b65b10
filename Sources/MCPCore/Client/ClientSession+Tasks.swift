import MCPRuntime

/// The tasks extension on the client (io.modelcontextprotocol/tasks,
/// SEP-2663), with ClientOptions.followsTasks: a tools/call the server turns
/// into a task is followed to its end, and the host sees one call. The task
/// is polled with tasks/get at the server's pollIntervalMs; input it asks for
/// is answered by the host's request handlers (as for MRTR) and sent with
/// tasks/update; the host's cancel becomes tasks/cancel. Its result goes
/// through the same checks as a plain call's.
extension ClientSession {
    /// Poll intervals are the server's hint, kept within these bounds.
    static let taskPollBoundsMs = 10...5_000

    func followTask(_ call: ModernCall, created: JSONObject) {
        guard let id = created["taskId"]?.stringValue else { return }
        let open = call.state.withLock { s -> Bool in
            if s.finished { return false }
            s.taskID = id
            return true
        }
        guard open else { return }
        pollTask(call, id: id, afterMs: Self.pollInterval(created))
    }

    private static func pollInterval(_ task: JSONObject) -> Int {
        let hint = task["pollIntervalMs"]?.intValue.map { Int(clamping: $0) } ?? 500
        return min(max(hint, taskPollBoundsMs.lowerBound), taskPollBoundsMs.upperBound)
    }

    /// A tasks/* request under the call's own `_meta` (revision, client info
    /// and capabilities, the extension included).
    private func taskRequest(_ call: ModernCall, _ method: String, _ extra: JSONObject,
                             then: @escaping @Sendable (Result<JSONValue, RequestFailure>) -> Void)
    {
        var p = extra
        p["_meta"] = call.params["_meta"]
        let id = peer.request(method: method, params: p, timing: call.timing, progress: nil, completion: then)
        if let id { call.state.withLock { $0.current = id } }
    }

    private func pollTask(_ call: ModernCall, id: String, afterMs: Int) {
        scheduler.schedule(after: afterMs) { [weak self] in
            guard let self, !call.isFinished else { return }
            self.taskRequest(call, "tasks/get", ["taskId": .string(id)]) { [weak self] outcome in
                guard let self, !call.isFinished else { return }
                switch outcome {
                case .failure(let f): call.finish(.failure(f), session: self)
                case .success(let v): self.taskState(call, id: id, v)
                }
            }
        }
    }

    private func taskState(_ call: ModernCall, id: String, _ value: JSONValue) {
        guard case .object(let task) = value, let status = task["status"]?.stringValue else {
            return call.finish(.failure(.peer(.internalError("The server's tasks/get answer for task \(id.prefix(64)) has no status"))),
                               session: self)
        }
        let again = Self.pollInterval(task)
        switch status {
        case "working":
            pollTask(call, id: id, afterMs: again)
        case "input_required":
            let input: InputRequired
            do throws(InputRequired.Invalid) { input = try InputRequired(task) } catch {
                return call.finish(.failure(.peer(.internalError("The server's input requests for task \(id.prefix(64)) are malformed: \(error.text)"))),
                                   session: self)
            }
            let round = call.state.withLock { s -> Int in
                s.rounds += 1
                return s.rounds
            }
            guard round <= max(options.maxInputRounds, 1) else {
                return call.finish(.failure(.limit(
                    "The task asked for input more than \(options.maxInputRounds) times (max_input_rounds)")), session: self)
            }
            guard !input.requests.isEmpty else { return pollTask(call, id: id, afterMs: again) }
            collectInputs(call, input.requests) { [weak self] answers in
                guard let self, !call.isFinished else { return }
                var responses = JSONObject()
                for r in input.requests { responses[r.key] = answers[r.key] ?? .null }
                self.taskRequest(call, "tasks/update", ["taskId": .string(id), "inputResponses": .object(responses)]) {
                    [weak self] outcome in
                    guard let self, !call.isFinished else { return }
                    if case .failure(let f) = outcome { return call.finish(.failure(f), session: self) }
                    self.pollTask(call, id: id, afterMs: again)
                }
            }
        case "completed":
            guard let result = task["result"] else {
                return call.finish(.failure(.peer(.internalError("Task \(id.prefix(64)) completed without a result"))),
                                   session: self)
            }
            call.finish(.success(afterComplete(call.method, result)), session: self)
        case "failed":
            var e = JSONRPCError.internalError(task["statusMessage"]?.stringValue ?? "The task failed")
            if let code = task["error"]?["code"]?.intValue, let message = task["error"]?["message"]?.stringValue {
                e = JSONRPCError(code: code, message: message, data: task["error"]?["data"])
            }
            call.finish(.failure(.peer(e)), session: self)
        case "cancelled":
            call.finish(.failure(.peer(.internalError(task["statusMessage"]?.stringValue ?? "The server cancelled the task"))),
                        session: self)
        default:
            call.finish(.failure(.peer(.internalError("Task \(id.prefix(64)) has an unknown status \"\(status.prefix(64))\""))),
                        session: self)
        }
    }

    /// The host cancelled a call that runs as a task: tell the server (its
    /// answer, an ack, is not waited for).
    func cancelTask(_ call: ModernCall, id: String) {
        var p = JSONObject(["taskId": .string(id)])
        p["_meta"] = call.params["_meta"]
        _ = peer.request(method: "tasks/cancel", params: p, timing: call.timing, progress: nil) { _ in }
    }
}
