/// Host code that suggests values for a prompt argument or a resource-template
/// variable (completion/complete). It gets the call to answer, the reference
/// ({"type":"ref/prompt","name"} or {"type":"ref/resource","uri"}), the
/// argument's name and partial value, and the other arguments already given.
public typealias CompletionHandler = @Sendable (ServerCall, JSONObject, String, String, JSONObject) -> Void

extension ServerSession {
    func complete(_ request: InboundRequest, params: JSONObject) {
        guard let handler = server.completionHandler else {
            return reply(request, .failure(.methodNotFound("completion/complete")))
        }
        guard let ref = params["ref"]?.objectValue, let type = ref["type"]?.stringValue else {
            return reply(request, .failure(.invalidParams("completion/complete needs a \"ref\" object with a \"type\"")))
        }
        guard let argument = params["argument"]?.objectValue, let name = argument["name"]?.stringValue,
            let value = argument["value"]?.stringValue
        else {
            return reply(request, .failure(.invalidParams("completion/complete needs \"argument\" with string \"name\" and \"value\"")))
        }
        let known: Bool
        switch type {
        case "ref/prompt":
            let promptName = ref["name"]?.stringValue ?? ""
            known = server.features.withLock { f in
                f.prompts[promptName]?.definition["arguments"]?.arrayValue?.contains { $0["name"] == .string(name) } ?? false
            }
        case "ref/resource":
            let uri = ref["uri"]?.stringValue ?? ""
            known = server.features.withLock { f in f.templates[uri]?.template.variableNames.contains(name) ?? false }
        default:
            return reply(request, .failure(.invalidParams("Unknown reference type \"\(type)\"")))
        }
        guard known else {
            return reply(request, .failure(.invalidParams("No such prompt argument or template variable: \(name)")))
        }
        let context = params["context"]?["arguments"]?.objectValue ?? JSONObject()
        startCall(request, kind: .completion, params: params) { call in
            handler(call, ref, name, value, context)
        }
    }
}
