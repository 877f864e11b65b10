/// What a call of the stateless revision does when its handler asks the
/// client something (sampling, elicitation, roots). 2026-07-28 has no
/// server-to-client requests; multi round-trip requests (InputRequiredResult,
/// Server/MRTR) replace them for tool calls, prompt gets and resource reads,
/// and any other call's request fails here. A capability the client did not
/// declare for the request answers the call with
/// MissingRequiredClientCapability (-32021), as the spec requires.
extension ServerCall {
    /// The client capability a server-to-client request needs, as the
    /// ClientCapabilities object -32021 names.
    static func requiredCapability(for method: String) -> JSONObject? {
        switch method {
        case "sampling/createMessage": return ["sampling": [:]]
        case "elicitation/create": return ["elicitation": [:]]
        case "roots/list": return ["roots": [:]]
        default: return nil
        }
    }

    func refuseModernRequest(method: String) throws(Failure) {
        guard let required = Self.requiredCapability(for: method) else {
            throw .unsupported("\(method) is not a request a server sends to a client at protocol revision 2026-07-28")
        }
        let missing = required.keys.filter { clientCapabilities[$0] == nil }
        if !missing.isEmpty {
            try? request.answer(.failure(.missingClientCapability(
                required, "The request did not declare the client capability \(missing.joined(separator: ", ")), which \(method) needs")))
            throw .unsupported("The client did not declare the \(missing.joined(separator: ", ")) capability for this request; "
                + "the call was answered with -32021")
        }
        throw .unsupported("\(method) is unsupported at protocol revision 2026-07-28 (only tool calls, prompt gets and resource reads may ask the client for input)")
    }
}
