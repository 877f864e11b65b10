/// The server's check of an elicitation answer (elicitation.mdx: "Servers
/// SHOULD validate received data matches the requested schema"): the content
/// of an `accept` is checked against the requestedSchema before the host's
/// completion sees it. A mismatch reaches the host as an error (-32602,
/// invalid params of the client's answer, with the reason), never as data
/// it would have to check again. Same in both eras: a live request's answer
/// (2025) and an MRTR inputResponse (2026-07-28) go through the same wrap.
enum ElicitationCheck {
    /// `completion`, wrapped to check accepted content, or unchanged when the
    /// request is not a form elicitation or `limits` is nil (validation off). A requestedSchema the checker
    /// cannot use is the host's mistake and is refused before anything is sent.
    static func wrap(method: String, params: JSONObject?, limits: SchemaLimits?,
                     completion: @escaping JSONRPCPeer.Completion) throws(CallFailure) -> JSONRPCPeer.Completion
    {
        guard let limits, method == "elicitation/create", let requested = params?["requestedSchema"],
            (params?["mode"]?.stringValue ?? "form") == "form"
        else { return completion }
        let schema: JSONSchema
        do throws(JSONSchemaError) {
            schema = try JSONSchema(requested, limits: limits)
        } catch {
            throw .invalidArgument("requestedSchema cannot be used to check the answer (\(error.kind.rawValue)): \(error.message)")
        }
        return { outcome in
            guard case .success(let result) = outcome, result["action"]?.stringValue == "accept" else {
                return completion(outcome)
            }
            do throws(JSONSchemaError) {
                try schema.validate(result["content"] ?? .object(JSONObject()))
                completion(outcome)
            } catch {
                completion(.failure(.peer(.invalidParams("The elicitation answer does not match the requestedSchema: \(error.description)"))))
            }
        }
    }
}
