/// The OAuth scopes a tool, resource, resource template or prompt needs,
/// declared by the host in its definition as "requiredScopes" (an array of
/// strings). The member is the engine's own: it is taken out of the
/// definition before lists publish it (as "ttlMs" and "cacheScope" are).
/// Scopes apply only where requests carry a principal (HTTP with "auth").
enum RequiredScopes {
    static let key = "requiredScopes"

    static func extract(from definition: inout JSONObject) throws(DefinitionError) -> [String] {
        guard let v = definition[key] else { return [] }
        guard case .array(let items) = v else { throw .invalid("\"\(key)\" must be an array of scope strings") }
        var scopes: [String] = []
        for item in items {
            guard let s = item.stringValue, !s.isEmpty, !s.contains(" "), !s.contains("\"") else {
                throw .invalid("\"\(key)\" must hold non-empty scope strings without spaces or quotes")
            }
            if !scopes.contains(s) { scopes.append(s) }
        }
        definition.removeValue(forKey: key)
        return scopes
    }
}

/// What one request needs beyond a valid token: the operation's name (for
/// messages) and its scopes.
public struct ScopeRequirement: Sendable, Equatable {
    public var what: String
    public var scopes: [String]

    public init(what: String, scopes: [String]) {
        self.what = what
        self.scopes = scopes
    }
}

extension ServerCore {
    /// The scopes a client message needs: those of the tool it calls, the
    /// resource (or template) it reads, the prompt it gets, or the prompt or
    /// template whose arguments it completes. nil when it
    /// needs none (other methods, unknown names: those fail on their own).
    /// The HTTP transport asks before handing the message over, so a missing
    /// scope gets 403 with the scopes in the challenge.
    public func scopeRequirement(for message: Message) -> ScopeRequirement? {
        guard case .request(_, let method, let params) = message, let p = params?.objectValue else { return nil }
        return features.withLock { f -> ScopeRequirement? in
            switch method {
            case "tools/call":
                guard let name = p["name"]?.stringValue, let t = f.tools[name], !t.requiredScopes.isEmpty else { return nil }
                return ScopeRequirement(what: "Tool \(name)", scopes: t.requiredScopes)
            case "prompts/get":
                guard let name = p["name"]?.stringValue, let e = f.prompts[name], !e.requiredScopes.isEmpty else { return nil }
                return ScopeRequirement(what: "Prompt \(name)", scopes: e.requiredScopes)
            case "resources/read", "resources/subscribe":
                guard let uri = p["uri"]?.stringValue else { return nil }
                if let r = f.resources[uri] {
                    return r.requiredScopes.isEmpty ? nil : ScopeRequirement(what: "Resource \(uri)", scopes: r.requiredScopes)
                }
                for t in f.templates.values where t.template.match(uri) != nil {
                    return t.requiredScopes.isEmpty ? nil : ScopeRequirement(what: "Resource \(uri)", scopes: t.requiredScopes)
                }
                return nil
            case "completion/complete":
                // Completing a prompt's argument or a template's variable
                // reveals values of what it completes: the same scopes.
                guard let ref = p["ref"]?.objectValue else { return nil }
                switch ref["type"]?.stringValue {
                case "ref/prompt":
                    guard let name = ref["name"]?.stringValue, let e = f.prompts[name], !e.requiredScopes.isEmpty else { return nil }
                    return ScopeRequirement(what: "Completion of prompt \(name)", scopes: e.requiredScopes)
                case "ref/resource":
                    guard let uri = ref["uri"]?.stringValue else { return nil }
                    let scopes = f.templates[uri]?.requiredScopes ?? f.resources[uri]?.requiredScopes ?? []
                    return scopes.isEmpty ? nil : ScopeRequirement(what: "Completion of resource \(uri)", scopes: scopes)
                default:
                    return nil
                }
            default:
                return nil
            }
        }
    }

    /// The requirement a message's principal does not meet, if any. Requests
    /// without a principal (no authorization configured) need no scopes.
    public func unmetScopes(for message: Message, principal: Principal?) -> ScopeRequirement? {
        guard let principal, let need = scopeRequirement(for: message) else { return nil }
        let missing = principal.missingScopes(need.scopes)
        return missing.isEmpty ? nil : need
    }
}

extension JSONRPCError {
    /// A request whose token lacks the scopes its operation needs, on a
    /// transport that has no 403 to answer with (WebSocket); `data` holds the
    /// OAuth error and the scopes, as the HTTP challenge would.
    public static func insufficientScope(_ need: ScopeRequirement) -> JSONRPCError {
        let scope = need.scopes.joined(separator: " ")
        return JSONRPCError(code: ErrorCode.invalidRequest, message: "Insufficient scope: \(need.what) requires scope \(scope)",
                            data: ["error": "insufficient_scope", "scope": .string(scope)])
    }
}
