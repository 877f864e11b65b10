/// Which server-to-client requests a client can answer, and the capabilities
/// it declares in initialize for them: one rule for every host, so a binding
/// never has to know that answering roots/list means declaring `roots`.
public enum ClientCapabilities {
    /// The server requests a host may handle, with the capability each implies.
    public static let handledMethods: [(method: String, capability: String, value: JSONValue)] = [
        ("sampling/createMessage", "sampling", [:]),
        ("elicitation/create", "elicitation", ["form": [:], "url": [:]]),
        ("roots/list", "roots", ["listChanged": true]),
    ]

    public static func handles(_ method: String) -> Bool {
        handledMethods.contains { $0.method == method }
    }

    /// The capabilities implied by the methods the host answers, with the
    /// host's own (`declared`) over them: a host that declares a capability
    /// itself gets exactly what it wrote.
    public static func derive(handling methods: some Sequence<String>, declared: JSONObject) -> JSONObject {
        let handled = Set(methods)
        var caps = JSONObject()
        for entry in handledMethods where handled.contains(entry.method) { caps[entry.capability] = entry.value }
        for m in declared.members { caps[m.key] = m.value }
        return caps
    }
}
