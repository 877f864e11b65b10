import MCPRuntime
/// The server's method table: lifecycle, tools, resources, prompts, logging.
extension ServerSession {
    static let methodsAfterInitialize: Set<String> = [
        "tools/list", "tools/call", "resources/list", "resources/templates/list", "resources/read",
        "resources/subscribe", "resources/unsubscribe", "prompts/list", "prompts/get", "logging/setLevel",
        "completion/complete", "tasks/get", "tasks/result", "tasks/cancel", "tasks/list",
    ]

    func handleRequest(id: RequestID, method: String, params: JSONObject, channel: MessageChannel) {
        switch method {
        case "initialize": return reply(id, channel, initialize(params))
        case "ping": return reply(id, channel, .success(.object(JSONObject())))
        default: break
        }
        guard state.withLock({ $0.phase == .initialized }) else {
            // Unknown methods (a `server/discover` probe among them) get -32601
            // at once, so probing clients fall back to initialize without delay.
            guard Self.methodsAfterInitialize.contains(method) else {
                return reply(id, channel, .failure(.methodNotFound(method)))
            }
            return reply(id, channel, .failure(.invalidRequest("Received \"\(method)\" before initialize")))
        }
        switch method {
        case "tools/list": reply(id, channel, list(.tools, params) { RevisionGate.tool($0.definition, for: $1) })
        case "tools/call": callTool(id: id, params: params, channel: channel)
        case "resources/list":
            reply(id, channel, list(.resources, params) { RevisionGate.listedFeature($0.definition, for: $1) })
        case "resources/templates/list":
            reply(id, channel, list(.templates, params) { RevisionGate.listedFeature($0.definition, for: $1) })
        case "resources/read": readResource(id: id, params: params, channel: channel)
        case "prompts/list": reply(id, channel, list(.prompts, params) { RevisionGate.listedFeature($0.definition, for: $1) })
        case "prompts/get": getPrompt(id: id, params: params, channel: channel)
        case "logging/setLevel": reply(id, channel, setLevel(params))
        case "completion/complete": complete(id: id, params: params, channel: channel)
        case "resources/subscribe": subscribe(id: id, params: params, channel: channel, on: true)
        case "resources/unsubscribe": subscribe(id: id, params: params, channel: channel, on: false)
        case "tasks/get", "tasks/result", "tasks/cancel", "tasks/list":
            guard protocolVersion >= .v2025_11_25 else { return reply(id, channel, .failure(.methodNotFound(method))) }
            handleTaskRequest(id: id, method: method, params: params, channel: channel)
        default: reply(id, channel, .failure(.methodNotFound(method)))
        }
    }

    func handleNotification(method: String, params: JSONObject) {
        switch method {
        case "notifications/initialized":
            break  // Already ready once initialize was answered; nothing else to do.
        case "notifications/cancelled":
            guard let raw = params["requestId"], let id = RequestID(raw) else { return }
            let call = state.withLockAndNotify { s -> ServerCall? in
                guard let c = s.inFlight[id] else { return nil }
                s.inFlight[id] = nil
                return c
            }
            call?.cancel()
        case "notifications/progress":
            outgoing.handleProgress(params)
        default:
            break  // Unknown notifications are ignored, as JSON-RPC requires.
        }
    }

    // MARK: lifecycle

    private func initialize(_ params: JSONObject) -> Result<JSONValue, JSONRPCError> {
        guard let requested = params["protocolVersion"]?.stringValue else {
            return .failure(.invalidParams("initialize needs a string \"protocolVersion\""))
        }
        let version = ProtocolVersion.negotiate(requested: requested)
        let accepted = state.withLock { s -> Bool in
            guard s.phase == .awaitingInitialize || s.stateless else { return false }
            s.phase = .initialized
            s.version = version
            s.clientCapabilities = params["capabilities"]?.objectValue ?? JSONObject()
            s.clientInfo = params["clientInfo"]?.objectValue ?? JSONObject()
            return true
        }
        guard accepted else { return .failure(.invalidRequest("The session is already initialized")) }
        var result = JSONObject()
        result["protocolVersion"] = .string(version.rawValue)
        var capabilities: JSONObject = JSONObject([
            "logging": [:],
            "prompts": ["listChanged": true],
            "resources": ["subscribe": true, "listChanged": true],
            "tools": ["listChanged": true],
        ])
        if server.completionHandler != nil, version >= .v2025_03_26 { capabilities["completions"] = [:] }
        if version >= .v2025_11_25 {
            capabilities["tasks"] = ["list": [:], "cancel": [:], "requests": ["tools": ["call": [:]]]]
        }
        result["capabilities"] = .object(capabilities)
        result["serverInfo"] = .object(RevisionGate.implementation(server.options.info, for: version))
        if let i = server.options.instructions { result["instructions"] = .string(i) }
        return .success(.object(result))
    }

    private func setLevel(_ params: JSONObject) -> Result<JSONValue, JSONRPCError> {
        guard let name = params["level"]?.stringValue, let level = LoggingLevel(rawValue: name) else {
            return .failure(.invalidParams("\"level\" must be one of debug, info, notice, warning, error, critical, alert, emergency"))
        }
        state.withLock { $0.logLevel = level }
        return .success(.object(JSONObject()))
    }

    // MARK: lists

    private func list(_ kind: FeatureList, _ params: JSONObject,
                      render: (any FeatureDefinition, ProtocolVersion) -> JSONObject) -> Result<JSONValue, JSONRPCError>
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
        let version = protocolVersion
        var result = JSONObject()
        let key: String
        switch kind {
        case .tools: key = "tools"
        case .resources: key = "resources"
        case .templates: key = "resourceTemplates"
        case .prompts: key = "prompts"
        }
        result[key] = .array(page.map { .object(render($0, version)) })
        if let next {
            result["nextCursor"] = .string(server.cursors.encode(.init(list: kind.rawValue, index: next.index, key: next.key)))
        }
        return .success(.object(result))
    }

    // MARK: calls into host code

    func startCall(id: RequestID, kind: ServerCall.Kind, params: JSONObject, channel: MessageChannel,
                   inline: Bool = false, run: @escaping @Sendable (ServerCall) -> Void)
    {
        let call = ServerCall(session: self, id: id, kind: kind, meta: params["_meta"]?.objectValue, channel: channel)
        let registered = state.withLock { s -> Bool in
            if s.closed || s.inFlight[id] != nil { return false }
            s.inFlight[id] = call
            return true
        }
        guard registered else {
            return reply(id, channel, .failure(.invalidRequest("Request id \(id) is already in use")))
        }
        if inline {
            WorkerPool.runAsCallback { run(call) }
        } else {
            server.executor.execute { run(call) }
        }
    }

    private func callTool(id: RequestID, params: JSONObject, channel: MessageChannel) {
        guard let name = params["name"]?.stringValue else {
            return reply(id, channel, .failure(.invalidParams("tools/call needs a string \"name\"")))
        }
        var args = JSONObject()
        if let a = params["arguments"], !a.isNull {
            guard case .object(let o) = a else {
                return reply(id, channel, .failure(.invalidParams("\"arguments\" must be an object")))
            }
            args = o
        }
        guard let tool = server.features.withLock({ $0.tools[name] }) else {
            return reply(id, channel, .failure(.invalidParams("Unknown tool: \(name)")))
        }
        let arguments = args
        if protocolVersion >= .v2025_11_25 {
            let support = tool.definition["execution"]?["taskSupport"]?.stringValue ?? "forbidden"
            if let taskParams = params["task"]?.objectValue {
                guard support == "optional" || support == "required" else {
                    return reply(id, channel, .failure(JSONRPCError(code: ErrorCode.methodNotFound,
                                                                    message: "Tool \(name) does not support task execution")))
                }
                return startToolTask(id: id, tool: tool, arguments: arguments, params: params, taskParams: taskParams,
                                     channel: channel)
            }
            if support == "required" {
                return reply(id, channel, .failure(JSONRPCError(code: ErrorCode.methodNotFound,
                                                                message: "Tool \(name) must be called as a task")))
            }
        }
        startCall(id: id, kind: .tool(name: name), params: params, channel: channel, inline: tool.inline) { call in
            tool.handler(call, arguments)
        }
    }

    private func readResource(id: RequestID, params: JSONObject, channel: MessageChannel) {
        guard let uri = params["uri"]?.stringValue else {
            return reply(id, channel, .failure(.invalidParams("resources/read needs a string \"uri\"")))
        }
        let target = server.features.withLock { f -> (ResourceHandler, JSONObject)? in
            if let r = f.resources[uri] { return (r.handler, JSONObject()) }
            for t in f.templates.values {
                if let vars = t.template.match(uri) {
                    var o = JSONObject()
                    for (n, v) in vars { o[n] = .string(v) }
                    return (t.handler, o)
                }
            }
            return nil
        }
        guard let (handler, vars) = target else {
            return reply(id, channel, .failure(JSONRPCError(code: ErrorCode.resourceNotFound, message: "Resource not found: \(uri)",
                                                   data: ["uri": .string(uri)])))
        }
        startCall(id: id, kind: .resourceRead(uri: uri), params: params, channel: channel) { call in handler(call, uri, vars) }
    }

    private func getPrompt(id: RequestID, params: JSONObject, channel: MessageChannel) {
        guard let name = params["name"]?.stringValue else {
            return reply(id, channel, .failure(.invalidParams("prompts/get needs a string \"name\"")))
        }
        guard let prompt = server.features.withLock({ $0.prompts[name] }) else {
            return reply(id, channel, .failure(.invalidParams("Unknown prompt: \(name)")))
        }
        var args = JSONObject()
        if let a = params["arguments"], !a.isNull {
            guard case .object(let o) = a, o.members.allSatisfy({ $0.value.stringValue != nil }) else {
                return reply(id, channel, .failure(.invalidParams("Prompt \"arguments\" must be an object of strings")))
            }
            args = o
        }
        let missing = prompt.requiredArguments.filter { args[$0] == nil }
        guard missing.isEmpty else {
            return reply(id, channel, .failure(.invalidParams("Missing required argument(s) for prompt \(name): \(missing.joined(separator: ", "))")))
        }
        let arguments = args
        startCall(id: id, kind: .promptGet(name: name), params: params, channel: channel) { call in prompt.handler(call, arguments) }
    }
}
