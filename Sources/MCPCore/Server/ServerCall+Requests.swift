import MCPRuntime
/// Requests a call makes to its client while it runs: sampling, elicitation,
/// roots, ping. Each needs the capability the client declared at initialize.
extension ServerCall {
    /// Sends `method` to the client on this call's stream; `completion` runs
    /// once, on a worker thread, with the result or why there is none.
    ///
    /// In a 2026-07-28 call (MRTR) nothing is sent: the answer is looked up
    /// under `key` (default: derived from the request's position in the run)
    /// among those the client sent back, and `completion` gets it; when there
    /// is none, `.inputRequired` is thrown, the request is recorded, and the
    /// call's answer, whatever the host gives, becomes an InputRequiredResult.
    public func request(method: String, params: JSONObject?, key: String? = nil, timing: RequestTiming,
                        completion hostCompletion: @escaping JSONRPCPeer.Completion) throws(Failure)
    {
        if isAnswered { throw .alreadyAnswered }
        if isCancelled { throw .invalidArgument("The call was cancelled") }
        // An elicitation's accepted content is checked before the host sees it.
        let options = session.server.options
        let completion = try ElicitationCheck.wrap(method: method, params: params,
                                                   limits: options.validatesSchemas ? options.schemaLimits : nil,
                                                   completion: hostCompletion)
        // A task of the tasks extension waits for tasks/update; any other
        // modern call asks in rounds (MRTR).
        if modern != nil, let task {
            return try requestThroughTask(task, method: method, params: params, completion: completion)
        }
        if let round = inputRound {
            // A capability the request did not declare: -32021 for the whole
            // call, as for any 2026-07-28 call (ServerCall+Modern.swift).
            if let required = Self.requiredCapability(for: method),
                required.keys.contains(where: { clientCapabilities[$0] == nil })
            {
                return try refuseModernRequest(method: method)
            }
            let answer = try round.ask(key: key, method: method, params: params ?? JSONObject())
            session.peer.executor.execute { completion(.success(answer)) }
            return
        }
        if modern != nil { return try refuseModernRequest(method: method) }
        try ClientCapabilityCheck.check(method: method, params: params ?? JSONObject(),
                                        capabilities: session.clientCapabilities, version: session.protocolVersion)
        let executor = session.peer.executor
        // A task waits for input while any of its requests is out.
        if let task, task.inputRequest(started: true) != nil { session.sendTaskStatus(task) }
        session.peer.request(method: method, params: relatedToTask(params), timing: timing, relatedTo: request,
                             on: channel) { [weak self] outcome in
            if let self, let task = self.task, task.inputRequest(started: false) != nil {
                self.session.sendTaskStatus(task)
            }
            executor.execute { completion(outcome) }
        }
    }
}

/// Which client capability each server-to-client request needs.
enum ClientCapabilityCheck {
    static func check(method: String, params: JSONObject, capabilities: JSONObject,
                      version: ProtocolVersion) throws(ServerCall.Failure)
    {
        switch method {
        case "ping":
            return
        case "roots/list":
            guard capabilities["roots"] != nil else { throw .unsupported("The client did not declare the roots capability") }
        case "sampling/createMessage":
            guard let sampling = capabilities["sampling"]?.objectValue else {
                throw .unsupported("The client did not declare the sampling capability")
            }
            guard params["messages"]?.arrayValue != nil, params["maxTokens"]?.intValue != nil else {
                throw .invalidArgument("sampling/createMessage needs \"messages\" (array) and \"maxTokens\" (integer)")
            }
            if params["tools"] != nil || params["toolChoice"] != nil {
                guard version >= .v2025_11_25, sampling["tools"] != nil else {
                    throw .unsupported("The client did not declare sampling.tools, so tools cannot be offered")
                }
            }
            if let ctx = params["includeContext"]?.stringValue, ctx != "none", sampling["context"] == nil,
                version >= .v2025_11_25
            {
                throw .unsupported("The client did not declare sampling.context, so includeContext must be \"none\"")
            }
        case "elicitation/create":
            guard version >= .v2025_06_18, let elicitation = capabilities["elicitation"]?.objectValue else {
                throw .unsupported("The client did not declare the elicitation capability")
            }
            let mode = params["mode"]?.stringValue ?? "form"
            guard params["message"]?.stringValue != nil else { throw .invalidArgument("elicitation/create needs a \"message\"") }
            switch mode {
            case "form":
                // An empty elicitation object means form mode only.
                guard elicitation.isEmpty || elicitation["form"] != nil else {
                    throw .unsupported("The client did not declare form-mode elicitation")
                }
                guard params["requestedSchema"]?.objectValue != nil else {
                    throw .invalidArgument("Form elicitation needs a \"requestedSchema\" object")
                }
            case "url":
                guard version >= .v2025_11_25, elicitation["url"] != nil else {
                    throw .unsupported("The client did not declare URL-mode elicitation")
                }
                guard params["url"]?.stringValue != nil, params["elicitationId"]?.stringValue != nil else {
                    throw .invalidArgument("URL elicitation needs \"url\" and \"elicitationId\"")
                }
            default:
                throw .invalidArgument("Unknown elicitation mode \"\(mode)\"")
            }
        default:
            throw .unsupported("\(method) is not a request a server sends to a client")
        }
    }
}
