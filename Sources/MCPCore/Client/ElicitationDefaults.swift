/// SEP-1034: the `default` of each requested field fills in what an accepted
/// elicitation answer leaves out, so a host's handler need not copy them.
enum ElicitationDefaults {
    static func apply(to result: JSONValue, schema: JSONValue?) -> JSONValue {
        guard case .object(var r) = result, r["action"] == .string("accept"),
              let props = schema?["properties"]?.objectValue else { return result }
        var content: JSONObject
        switch r["content"] {
        case .object(let c)?: content = c
        case nil, .null?: content = JSONObject()
        default: return result
        }
        var changed = false
        for p in props.members {
            guard content[p.key] == nil, let d = p.value["default"] else { continue }
            content[p.key] = d
            changed = true
        }
        guard changed else { return result }
        r["content"] = .object(content)
        return .object(r)
    }
}
