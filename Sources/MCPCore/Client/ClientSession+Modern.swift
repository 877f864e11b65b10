import MCPRuntime

/// One modern request as the host sees it: possibly several wire requests
/// (MRTR rounds, re-issues after a broken answer stream), each with a new id,
/// all under the id of the first, which is what the host may cancel.
final class ModernCall: Sendable {
    let method: String
    /// The request's params with the modern `_meta`, without inputResponses
    /// and requestState (each round adds its own).
    let params: JSONObject
    let timing: RequestTiming
    let progress: JSONRPCPeer.ProgressHandler?
    /// Set once a retry carries inputResponses or requestState: the result
    /// then must not be cached (caching.mdx, "Cache Key").
    let retried: LockedState<Bool>?
    private let completion: JSONRPCPeer.Completion
    let state = LockedState(State())

    struct State {
        var first: RequestID?
        var current: RequestID?
        var rounds = 0
        var reissues = 0
        var broken = false
        /// tools/list was read again after a HeaderMismatch: a second one fails the call.
        var relisted = false
        var finished = false
        /// The host's handlers answering this round's input requests.
        var pending: [InboundRequest] = []
        /// Set once the server made the call a task (tasks extension).
        var taskID: String?
    }

    init(method: String, params: JSONObject, timing: RequestTiming, progress: JSONRPCPeer.ProgressHandler?,
         retried: LockedState<Bool>? = nil, completion: @escaping JSONRPCPeer.Completion)
    {
        self.retried = retried
        self.method = method
        self.params = params
        self.timing = timing
        self.progress = progress
        self.completion = completion
    }

    var isFinished: Bool { state.withLock { $0.finished } }

    /// Completes the host's request, once; the input requests still open are cancelled.
    func finish(_ outcome: Result<JSONValue, RequestFailure>, session: ClientSession?) {
        let taken = state.withLock { s -> (RequestID?, [InboundRequest])? in
            if s.finished { return nil }
            s.finished = true
            defer { s.pending = [] }
            return (s.first, s.pending)
        }
        guard let (first, pending) = taken else { return }
        if let first { session?.state.withLock { _ = $0.calls.removeValue(forKey: first) } }
        for r in pending { r.cancel() }
        completion(outcome)
    }

    /// The host cancelled: the wire request in flight is cancelled (the server
    /// told), the host's input handlers are told, and the host gets .cancelled.
    func cancel(reason: String?, session: ClientSession) {
        let (current, task) = state.withLock { s in s.finished ? (nil, nil) : (s.current, s.taskID) }
        if let task {
            session.cancelTask(self, id: task)  // the wire request is a poll: cancel the task itself
        } else if let current {
            session.peer.cancel(current, reason: reason)
        }
        finish(.failure(.cancelled), session: session)
    }
}

extension ClientSession {
    /// Sends a modern request: the `_meta` stamped, rounds of input answered
    /// by the host's handlers, a broken answer stream re-issued, the result
    /// checked. Returns the id the host knows the request by.
    func startModern(method: String, params: JSONObject?, revision: String, timing: RequestTiming,
                     progress: JSONRPCPeer.ProgressHandler?, retried: LockedState<Bool>? = nil,
                     completion: @escaping JSONRPCPeer.Completion) -> RequestID?
    {
        var p = params ?? JSONObject()
        p["_meta"] = .object(modernMeta(revision: revision, over: p["_meta"]?.objectValue))
        let call = ModernCall(method: method, params: p, timing: timing, progress: progress, retried: retried,
                              completion: completion)
        return send(call, params: p)
    }

    /// One wire request of a modern call.
    @discardableResult
    private func send(_ call: ModernCall, params: JSONObject) -> RequestID? {
        // The call knows its new id before the request goes out: a connection
        // that breaks at once reports streamBroke(id) from an I/O thread, which
        // must find the call by that id, or the break is not re-issued.
        peer.request(method: call.method, params: params, timing: call.timing, progress: call.progress,
                     assigned: { [weak self] id in
                         let first = call.state.withLock { s -> Bool in
                             s.current = id
                             guard s.first == nil else { return false }
                             s.first = id
                             return !s.finished
                         }
                         // Listed under its first id before that request goes
                         // out too: the HTTP client's send can still be under
                         // way when the answer stream breaks (a listen's, cut
                         // after its acknowledgment), and a call not yet
                         // listed was lost instead of re-issued.
                         if first { self?.state.withLock { $0.calls[id] = call } }
                     }) {
            [weak self] outcome in
            self?.settle(call, params: params, outcome) ?? call.finish(outcome, session: nil)
        }
    }

    private func settle(_ call: ModernCall, params: JSONObject, _ outcome: Result<JSONValue, RequestFailure>) {
        if call.isFinished { return }
        switch outcome {
        case .failure(.closed):
            let again = call.state.withLock { s -> Bool in
                guard s.broken else { return false }
                s.broken = false
                guard s.reissues < options.maxReissues else { return false }
                s.reissues += 1
                return true
            }
            // The answer stream broke: the spec says issue it again, as a new request.
            if again && !isClosed { send(call, params: params) } else { call.finish(outcome, session: self) }
        case .failure(.peer(let e)) where e.code == ErrorCode.headerMismatch && call.method == "tools/call"
            && options.mirrorsToolHeaders:
            relistAndRetry(call, params: params, outcome)
        case .failure:
            call.finish(outcome, session: self)
        case .success(let value):
            switch ModernResult.classify(value, method: call.method) {
            case .invalid(let why):
                call.finish(.failure(.peer(.internalError(why))), session: self)
            case .complete(let v):
                call.finish(.success(afterComplete(call.method, v)), session: self)
            case .task(let created):
                guard options.followsTasks else { return call.finish(.success(value), session: self) }
                followTask(call, created: created)
            case .inputRequired(let input):
                guard options.maxInputRounds > 0 else { return call.finish(.success(value), session: self) }
                let round = call.state.withLock { s -> Int in
                    s.rounds += 1
                    return s.rounds
                }
                guard round <= options.maxInputRounds else {
                    return call.finish(.failure(.limit(
                        "The server asked for input on \(call.method) more than \(options.maxInputRounds) rounds in a row (max_input_rounds)")),
                        session: self)
                }
                answerInputs(call, input, round: round)
            }
        }
    }

    /// The server refused a tools/call for its Mcp-Param-* headers: the tool's
    /// inputSchema may have changed since it was listed (or it never was), so
    /// tools/list is read again and the call retried once with the headers it
    /// now gives (streamable-http.mdx, "Client Behavior").
    private func relistAndRetry(_ call: ModernCall, params: JSONObject, _ outcome: Result<JSONValue, RequestFailure>) {
        let first = call.state.withLock { s -> Bool in
            defer { s.relisted = true }
            return !s.relisted
        }
        guard first, !isClosed else { return call.finish(outcome, session: self) }
        listAll(method: "tools/list", timing: call.timing) { [weak self] listed in
            guard let self, !call.isFinished else { return }
            guard case .success = listed, !self.isClosed else { return call.finish(outcome, session: self) }
            self.send(call, params: params)
        }
    }

    /// The transport lost the answer stream of a request (not its answer:
    /// the stream broke before it). A modern request is issued again; true
    /// when this session takes care of it that way.
    public func streamBroke(_ id: RequestID) -> Bool {
        let call = state.withLock { s in s.calls.values.first { c in c.state.withLock { $0.current == id } } }
        guard let call else { return false }
        let marked = call.state.withLock { s -> Bool in
            if s.finished || s.reissues >= options.maxReissues { return false }
            s.broken = true
            return true
        }
        guard marked else { return false }
        peer.fail(id, with: .closed)
        return true
    }

    // MARK: MRTR

    /// Answers every input request of a round with the host's handlers (the
    /// ones that serve 2025-era server requests), then retries the request
    /// with inputResponses and the requestState exactly as the server sent it.
    private func answerInputs(_ call: ModernCall, _ input: InputRequired, round: Int) {
        let retry: @Sendable ([String: JSONValue]) -> Void = { [weak self] answers in
            guard let self, !call.isFinished else { return }
            var p = call.params
            if input.hadRequests || !input.requests.isEmpty {
                var responses = JSONObject()
                for r in input.requests { responses[r.key] = answers[r.key] ?? .null }
                p["inputResponses"] = .object(responses)
            }
            if let state = input.requestState { p["requestState"] = .string(state) }
            call.retried?.withLock { $0 = true }
            self.send(call, params: p)
        }
        guard !input.requests.isEmpty else {
            // Only state: retry after a short pause that grows each round (the
            // server is waiting on something of its own).
            let wait = min(50 << min(round - 1, 3), 250)
            scheduler.schedule(after: wait) { retry([:]) }
            return
        }
        collectInputs(call, input.requests, then: retry)
    }

    /// Has the host's handlers (the ones that serve 2025-era server requests)
    /// answer `requests`; `then` gets every answer by key, once all are in.
    /// A refusal or a request without a handler fails the call.
    func collectInputs(_ call: ModernCall, _ wanted: [InputRequired.Request],
                       then: @escaping @Sendable ([String: JSONValue]) -> Void)
    {
        let handlers = state.withLock { $0.requestHandlers }
        for r in wanted where handlers[r.method] == nil {
            return call.finish(.failure(.unsupported(
                "The server asked for \(r.method) (input \"\(r.key.prefix(100))\") while running \(call.method), and this client has no handler for it")),
                session: self)
        }
        let collected = LockedState<(left: Int, answers: [String: JSONValue], failed: Bool)>((wanted.count, [:], false))
        var requests: [(InboundRequest, ClientCall, ClientRequestHandler, InputRequired.Request)] = []
        for r in wanted {
            guard let handler = handlers[r.method] else { continue }
            let inbound = InboundRequest(peer: peer, id: .string(r.key), method: r.method,
                                         meta: r.params["_meta"]?.objectValue, channel: peer.defaultChannel,
                                         deliver: { [weak self] outcome in
                let done = collected.withLock { c -> Result<[String: JSONValue], JSONRPCError>? in
                    if c.failed { return nil }
                    switch outcome {
                    case .failure(let e):
                        c.failed = true
                        return .failure(e)
                    case .success(let v):
                        c.answers[r.key] = v
                        c.left -= 1
                        return c.left == 0 ? .success(c.answers) : nil
                    }
                }
                switch done {
                case nil: break
                case .success(let answers)?: then(answers)
                case .failure(let e)?:
                    call.finish(.failure(.peer(JSONRPCError(
                        code: e.code, message: "The client's \(r.method) handler refused input \"\(r.key.prefix(100))\": \(e.message)",
                        data: e.data))), session: self)
                }
            })
            requests.append((inbound, ClientCall(inbound, params: r.params), handler, r))
        }
        let open = call.state.withLock { s -> Bool in
            if s.finished { return false }
            s.pending = requests.map(\.0)
            return true
        }
        guard open else { return }
        for (_, clientCall, handler, r) in requests {
            executor.execute { handler(clientCall, r.method, r.params) }
        }
    }

    // MARK: results

    /// What a complete modern result becomes before the host sees it: tools
    /// whose x-mcp-header annotations break the rules are dropped from
    /// tools/list (when the transport mirrors them), and the rest remembered.
    func afterComplete(_ method: String, _ value: JSONValue) -> JSONValue {
        guard method == "tools/list", options.mirrorsToolHeaders, case .object(var r) = value,
              let tools = r["tools"]?.arrayValue else { return value }
        var kept: [JSONValue] = []
        var found: [String: [ToolHeaders.Parameter]] = [:]
        for t in tools {
            guard let name = t["name"]?.stringValue else {
                kept.append(t)
                continue
            }
            do throws(ToolHeaders.Invalid) {
                // Kept even when empty: a tool whose annotations went away mirrors nothing now.
                found[name] = try ToolHeaders.parameters(of: t["inputSchema"])
                kept.append(t)
            } catch {
                droppedTool(name, reason: error.description)
            }
        }
        state.withLock { s in for (k, v) in found { s.toolHeaders[k] = v.isEmpty ? nil : v } }
        r["tools"] = .array(kept)
        return .object(r)
    }

    /// A tool refused for its header annotations: the host hears of it as a
    /// log notification of its own (the spec asks for a warning).
    private func droppedTool(_ name: String, reason: String) {
        guard let h = state.withLock({ $0.notificationHandler }) else { return }
        let params = JSONObject([
            "level": "warning", "logger": "libmcp",
            "data": .string("Tool \"\(name)\" is left out of tools/list: \(reason)"),
        ])
        executor.execute { h("notifications/message", params) }
    }

    /// The Mcp-Param-* headers of a modern tools/call (empty for a tool not
    /// listed yet, or one without annotations).
    public func paramHeaders(tool: String, arguments: JSONValue?) -> [(name: String, value: String)] {
        guard let params = state.withLock({ $0.toolHeaders[tool] }) else { return [] }
        return ToolHeaders.headers(for: params, arguments: arguments)
    }
}
