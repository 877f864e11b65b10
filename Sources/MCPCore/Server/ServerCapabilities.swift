/// The capabilities a server declares, both eras: what the host registered or
/// enabled, not everything the engine could do. A client reads them once, at
/// initialize or server/discover, so a kind that has no feature registered at
/// that moment is left out unless the host names it in
/// `ServerOptions.declaredCapabilities` (hosts that register later); a kind
/// declared is declared with the list-change and subscribe support the
/// engine gives every kind.
public enum DeclarableCapability: String, Sendable, CaseIterable {
    case tools, resources, prompts, logging
}

extension ServerCore {
    func capabilities(for version: ProtocolVersion) -> JSONObject {
        let declared = options.declaredCapabilities
        let (tools, resources, prompts, tasks) = features.withLock { f in
            (!f.tools.isEmpty, !f.resources.isEmpty || !f.templates.isEmpty, !f.prompts.isEmpty,
             f.tools.values.contains { $0.taskSupport != "forbidden" })
        }
        var capabilities = JSONObject()
        if declared.contains(.logging) { capabilities["logging"] = [:] }
        if completionHandler != nil, version >= .v2025_03_26 { capabilities["completions"] = [:] }
        if prompts || declared.contains(.prompts) { capabilities["prompts"] = ["listChanged": true] }
        if resources || declared.contains(.resources) {
            capabilities["resources"] = ["subscribe": true, "listChanged": true]
        }
        if tools || declared.contains(.tools) { capabilities["tools"] = ["listChanged": true] }
        // Task-augmented tools/call at 2025-11-25; at 2026-07-28 tasks are an extension.
        if tasks, version >= .v2025_11_25, version < .modern {
            capabilities["tasks"] = ["list": [:], "cancel": [:], "requests": ["tools": ["call": [:]]]]
        }
        if !options.extensions.isEmpty { capabilities["extensions"] = .object(options.extensions) }
        return capabilities
    }
}
