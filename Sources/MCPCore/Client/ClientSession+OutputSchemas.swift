import MCPRuntime

/// The tool result check (tools.mdx: "Clients SHOULD validate structured
/// results against this schema"): outputSchemas are learned from the
/// tools/list results the host already asks for (no listing of our own),
/// and a tools/call result of such a tool whose structuredContent does not
/// match fails the call. Both eras; `ClientOptions.validatesToolOutput`.
extension ClientSession {
    /// The completion a request's answer goes through: tools/list teaches
    /// schemas, tools/call is checked against them; other methods pass.
    func checkingToolOutput(method: String, params: JSONObject?,
                            _ completion: @escaping JSONRPCPeer.Completion) -> JSONRPCPeer.Completion
    {
        guard options.validatesToolOutput else { return completion }
        switch method {
        case "tools/list":
            return { [weak self] outcome in
                if case .success(let v) = outcome { self?.learnOutputSchemas(v) }
                completion(outcome)
            }
        case "tools/call":
            guard let name = params?["name"]?.stringValue else { return completion }
            return { [weak self] outcome in
                guard case .success(let v) = outcome, let self,
                      let failure = self.checkToolOutput(tool: name, result: v) else { return completion(outcome) }
                completion(.failure(.peer(failure)))
            }
        default:
            return completion
        }
    }

    /// Remembers each listed tool's outputSchema, made ready once: a schema
    /// that cannot be used (a bad $ref, say) is kept as that error, so calls
    /// of the tool fail clearly rather than pass unchecked.
    private func learnOutputSchemas(_ result: JSONValue) {
        guard let tools = result["tools"]?.arrayValue else { return }
        var learned: [String: Result<JSONSchema, JSONSchemaError>?] = [:]
        for t in tools {
            guard let name = t["name"]?.stringValue else { continue }
            guard let schema = t["outputSchema"] else {
                learned[name] = .some(nil)
                continue
            }
            do throws(JSONSchemaError) {
                learned[name] = .success(try JSONSchema(schema))
            } catch {
                learned[name] = .failure(error)
            }
        }
        state.withLock { s in
            for (name, entry) in learned { s.outputSchemas[name] = entry }
        }
    }

    /// The error a tools/call result earns, or nil when it may pass: a tool
    /// not listed yet, one without outputSchema, an error result (isError),
    /// and anything that is not a finished result (an InputRequiredResult
    /// the host sees itself, a task handle) pass unchecked.
    func checkToolOutput(tool: String, result: JSONValue) -> JSONRPCError? {
        guard case .object(let r) = result, r["isError"]?.boolValue != true,
              r["resultType"].map({ $0.stringValue == "complete" }) ?? true, r["task"] == nil,
              let entry = state.withLock({ $0.outputSchemas[tool] }) else { return nil }
        let quoted = "\"\(tool.prefix(200))\""
        let schema: JSONSchema
        switch entry {
        case .failure(let e):
            return Self.outputError("Tool \(quoted) has an outputSchema this client cannot use, so its result cannot be checked: \(e.message)", tool, e)
        case .success(let s): schema = s
        }
        guard let content = r["structuredContent"] else {
            return Self.outputError("Tool \(quoted) declares an outputSchema but its result has no structuredContent", tool,
                                    JSONSchemaError(.violation, instancePath: "", keyword: "structuredContent", message: "missing"))
        }
        do throws(JSONSchemaError) {
            try schema.validate(content)
            return nil
        } catch {
            let what = error.kind == .violation
                ? "structuredContent does not match its outputSchema \(error.description)"
                : "outputSchema cannot be used to check structuredContent: \(error.description)"
            return Self.outputError("Tool \(quoted) returned a result whose \(what)", tool, error)
        }
    }

    private static func outputError(_ message: String, _ tool: String, _ e: JSONSchemaError) -> JSONRPCError {
        var data = JSONObject()
        data["tool"] = .string(tool)
        data["reason"] = .string(e.kind.rawValue)
        data["instancePath"] = .string(e.instancePath)
        data["keyword"] = .string(e.keyword)
        return JSONRPCError(code: ErrorCode.internalError, message: message, data: .object(data))
    }

    /// notifications/tools/list_changed: the tools may differ now, so what
    /// was learned is forgotten until the host lists them again.
    func forgetOutputSchemas() {
        state.withLock { $0.outputSchemas.removeAll() }
    }
}
