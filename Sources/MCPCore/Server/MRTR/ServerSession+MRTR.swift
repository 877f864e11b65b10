/// Where a request's MRTR round comes from: a request served at 2026-07-28
/// (its ModernContext) whose params carry the answers and the state.
extension ServerSession {
    /// The round of a tool call, prompt get or resource read served at
    /// 2026-07-28; nil for a 2025-era request and for completions (which
    /// cannot ask the client anything).
    /// - Throws: -32602 for an unusable requestState or inputResponses.
    func makeInputRound(_ request: InboundRequest, params: JSONObject, kind: ServerCall.Kind)
        throws(JSONRPCError) -> InputRound?
    {
        guard let modern = request.modern else { return nil }
        let name: String
        switch kind {
        case .tool(let n), .promptGet(let n): name = n
        case .resourceRead(let uri): name = uri
        case .completion: return nil
        }
        return try InputRound(method: request.method, name: name, params: params,
                              clientCapabilities: modern.clientCapabilities, codec: server.requestStates)
    }
}
