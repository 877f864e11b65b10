import MCPRuntime
/// The server's method table: lifecycle, tools, resources, prompts, logging.
extension ServerSession {
    static let methodsAfterInitialize: Set<String> = [
        "tools/list", "tools/call", "resources/list", "resources/templates/list", "resources/read",
        "resources/subscribe", "resources/unsubscribe", "prompts/list", "prompts/get", "logging/setLevel",
        "completion/complete", "tasks/get", "tasks/result", "tasks/cancel", "tasks/list",
    ]

    func handleRequest(_ request: InboundRequest, params: JSONObject) {
        // A transport that cannot answer 403 itself (WebSocket) relies on this.
        if let principal = request.channel.principal,
           let need = server.unmetScopes(for: .request(id: request.id, method: request.method, params: .object(params)),
                                         principal: principal)
        {
            return reply(request, .failure(.insufficientScope(need)))
        }
        switch era(of: request) {
        case .modern: return handleModern(request, params: params)
        case .refused(let error): return reply(request, .failure(error))
        case .legacy: break
        }
        let method = request.method
        if method == "initialize" { return reply(request, initialize(params)) }
        guard state.withLock({ $0.phase == .initialized }) else {
            // Unknown methods (a `server/discover` probe among them) get -32601
            // at once, so probing clients fall back to initialize without delay.
            guard Self.methodsAfterInitialize.contains(method) else {
                return reply(request, .failure(.methodNotFound(method)))
            }
            return reply(request, .failure(.invalidRequest("Received \"\(method)\" before initialize")))
        }
        switch method {
        case "tools/list": reply(request, list(.tools, params, version: protocolVersion).map(\.0))
        case "tools/call": callTool(request, params: params)
        case "resources/list": reply(request, list(.resources, params, version: protocolVersion).map(\.0))
        case "resources/templates/list": reply(request, list(.templates, params, version: protocolVersion).map(\.0))
        case "resources/read": readResource(request, params: params)
        case "prompts/list": reply(request, list(.prompts, params, version: protocolVersion).map(\.0))
        case "prompts/get": getPrompt(request, params: params)
        case "logging/setLevel": reply(request, setLevel(params))
        case "completion/complete": complete(request, params: params)
        case "resources/subscribe": subscribe(request, params: params, on: true)
        case "resources/unsubscribe": subscribe(request, params: params, on: false)
        case "tasks/get", "tasks/result", "tasks/cancel", "tasks/list":
            guard protocolVersion >= .v2025_11_25 else { return reply(request, .failure(.methodNotFound(method))) }
            handleTaskRequest(request, params: params)
        default: reply(request, .failure(.methodNotFound(method)))
        }
    }

    /// notifications/initialized needs nothing (the session was ready once
    /// initialize was answered); cancellation and progress are the peer's;
    /// unknown notifications are ignored, as JSON-RPC requires.
    func handleNotification(method: String, params: JSONObject) {}

    // MARK: lifecycle

    private func initialize(_ params: JSONObject) -> Result<JSONValue, JSONRPCError> {
        guard let requested = params["protocolVersion"]?.stringValue else {
            return .failure(.invalidParams("initialize needs a string \"protocolVersion\""))
        }
        let version = ProtocolVersion.negotiate(requested: requested)
        let accepted = state.withLock { s -> Bool in
            guard s.phase == .awaitingInitialize || s.stateless else { return false }
            s.phase = .initialized
            s.era = .legacy
            s.version = version
            s.clientCapabilities = params["capabilities"]?.objectValue ?? JSONObject()
            s.clientInfo = params["clientInfo"]?.objectValue ?? JSONObject()
            return true
        }
        guard accepted else { return .failure(.invalidRequest("The session is already initialized")) }
        // Saved before the answer: the id the client gets is one every later
        // process can serve. A store that refuses leaves no session.
        do throws(StoreError) {
            try saveRecord()
        } catch {
            state.withLock { $0.phase = .awaitingInitialize }
            return .failure(error.rpcError)
        }
        var result = JSONObject()
        result["protocolVersion"] = .string(version.rawValue)
        result["capabilities"] = .object(server.capabilities(for: version))
        result["serverInfo"] = .object(RevisionGate.implementation(server.options.info, for: version))
        if let i = server.options.instructions { result["instructions"] = .string(i) }
        return .success(.object(result))
    }

    private func setLevel(_ params: JSONObject) -> Result<JSONValue, JSONRPCError> {
        guard let name = params["level"]?.stringValue, let level = LoggingLevel(rawValue: name) else {
            return .failure(.invalidParams("\"level\" must be one of debug, info, notice, warning, error, critical, alert, emergency"))
        }
        state.withLock { $0.logLevel = level }
        do throws(StoreError) {
            try saveRecord()
        } catch {
            return .failure(error.rpcError)
        }
        return .success(.object(JSONObject()))
    }

    // MARK: lists

    /// One page of a list, shaped for `version`, and the caching hint of
    /// that page (the combination of its items' hints; the server default
    /// for an empty page).
    func list(_ kind: FeatureList, _ params: JSONObject, version: ProtocolVersion)
        -> Result<(JSONValue, CacheHint), JSONRPCError>
    {
        var start = 0
        if let c = params["cursor"] {
            guard let text = c.stringValue, let pos = server.cursors.decode(text, list: kind.rawValue) else {
                return .failure(.invalidParams("Invalid cursor"))
            }
            start = pos.index
            let k = pos.key
            start = server.features.withLock { f in f.position(of: k, near: pos.index, in: kind) }
        }
        let pageSize = server.options.pageSize
        let (page, next) = server.features.withLock { f in f.page(kind, from: start, count: pageSize) }
        let base = server.options.cacheDefault
        let hint = page.reduce(base) { h, item in h.combined(with: item.cache?.resolved(base) ?? base) }
        var result = JSONObject()
        let key: String
        switch kind {
        case .tools: key = "tools"
        case .resources: key = "resources"
        case .templates: key = "resourceTemplates"
        case .prompts: key = "prompts"
        }
        result[key] = .array(page.map { item in
            .object(kind == .tools ? RevisionGate.tool(item.definition, for: version)
                                   : RevisionGate.listedFeature(item.definition, for: version))
        })
        if let next {
            result["nextCursor"] = .string(server.cursors.encode(.init(list: kind.rawValue, index: next.index, key: next.key)))
        }
        return .success((.object(result), hint))
    }

    // MARK: calls into host code

    /// `params`: the request's own; at 2026-07-28 they carry MRTR's
    /// inputResponses and requestState, read here into the call's InputRound.
    func startCall(_ request: InboundRequest, kind: ServerCall.Kind, inline: Bool = false,
                   params: JSONObject = JSONObject(), cache: CacheHint? = nil, outputChecker: JSONSchema? = nil,
                   run: @escaping @Sendable (ServerCall) -> Void)
    {
        let round: InputRound?
        do throws(JSONRPCError) { round = try makeInputRound(request, params: params, kind: kind) } catch {
            return reply(request, .failure(error))
        }
        guard admit(request, kind: kind) else { return }
        let call = ServerCall(session: self, request: request, kind: kind, params: params, cache: cache,
                              inputRound: round, outputChecker: outputChecker)
        if inline {
            WorkerPool.runAsCallback { run(call) }
        } else {
            server.executor.execute { run(call) }
        }
    }

    func callTool(_ request: InboundRequest, params: JSONObject) {
        guard let name = params["name"]?.stringValue else {
            return reply(request, .failure(.invalidParams("tools/call needs a string \"name\"")))
        }
        var args = JSONObject()
        if let a = params["arguments"], !a.isNull {
            guard case .object(let o) = a else {
                return reply(request, .failure(.invalidParams("\"arguments\" must be an object")))
            }
            args = o
        }
        guard let tool = server.features.withLock({ $0.tools[name] }) else {
            return reply(request, .failure(.invalidParams("Unknown tool: \(name)")))
        }
        let arguments = args
        // 2026-07-28: the tasks extension (ModernTasks.swift) may take the call.
        if request.modern != nil, routeModernTask(request, tool: tool, arguments: arguments, params: params) { return }
        // 2025-11-25 tasks.
        if request.modern == nil, protocolVersion >= .v2025_11_25 {
            let support = tool.taskSupport
            if let taskParams = params["task"]?.objectValue {
                guard support == "optional" || support == "required" else {
                    return reply(request, .failure(JSONRPCError(code: ErrorCode.methodNotFound,
                                                                    message: "Tool \(name) does not support task execution")))
                }
                return startToolTask(request, tool: tool, arguments: arguments, taskParams: taskParams)
            }
            if support == "required" {
                return reply(request, .failure(JSONRPCError(code: ErrorCode.methodNotFound,
                                                                message: "Tool \(name) must be called as a task")))
            }
        }
        let validating = server.options.validatesSchemas
        startCall(request, kind: .tool(name: name), inline: tool.inline, params: params,
                  outputChecker: validating ? tool.outputChecker : nil) { call in
            tool.run(call, arguments, validating: validating)
        }
    }

    func readResource(_ request: InboundRequest, params: JSONObject) {
        guard let uri = params["uri"]?.stringValue else {
            return reply(request, .failure(.invalidParams("resources/read needs a string \"uri\"")))
        }
        let target = server.features.withLock { f -> (ResourceHandler, JSONObject, CacheHint.Override?)? in
            if let r = f.resources[uri] { return (r.handler, JSONObject(), r.cache) }
            for t in f.templates.values {
                if let vars = t.template.match(uri) {
                    var o = JSONObject()
                    for (n, v) in vars { o[n] = .string(v) }
                    return (t.handler, o, t.cache)
                }
            }
            return nil
        }
        guard let (handler, vars, cache) = target else {
            // -32002 until 2025-11-25; 2026-07-28 uses Invalid params.
            let code = request.modern == nil ? ErrorCode.resourceNotFound : ErrorCode.invalidParams
            return reply(request, .failure(JSONRPCError(code: code, message: "Resource not found: \(uri)",
                                                   data: ["uri": .string(uri)])))
        }
        let hint = cache?.resolved(server.options.cacheDefault) ?? server.options.cacheDefault
        startCall(request, kind: .resourceRead(uri: uri), params: params, cache: hint) { call in handler(call, uri, vars) }
    }

    func getPrompt(_ request: InboundRequest, params: JSONObject) {
        guard let name = params["name"]?.stringValue else {
            return reply(request, .failure(.invalidParams("prompts/get needs a string \"name\"")))
        }
        guard let prompt = server.features.withLock({ $0.prompts[name] }) else {
            return reply(request, .failure(.invalidParams("Unknown prompt: \(name)")))
        }
        var args = JSONObject()
        if let a = params["arguments"], !a.isNull {
            guard case .object(let o) = a, o.members.allSatisfy({ $0.value.stringValue != nil }) else {
                return reply(request, .failure(.invalidParams("Prompt \"arguments\" must be an object of strings")))
            }
            args = o
        }
        let missing = prompt.requiredArguments.filter { args[$0] == nil }
        guard missing.isEmpty else {
            return reply(request, .failure(.invalidParams("Missing required argument(s) for prompt \(name): \(missing.joined(separator: ", "))")))
        }
        let arguments = args
        startCall(request, kind: .promptGet(name: name), params: params) { call in prompt.handler(call, arguments) }
    }
}
