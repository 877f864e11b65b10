/// The server's checks of a tool call against the tool's schemas, made once
/// at registration (ToolEntry.inputChecker / outputChecker).
///
/// - Arguments that do not match the inputSchema: the handler does not run,
///   and the call is answered with a tool execution error (`isError: true`,
///   the reason as text). tools.mdx (2025-11-25 and 2026-07-28) lists "input
///   validation errors" among tool execution errors, so that the model sees
///   the message and can retry with better arguments; the engine answers the
///   same way at the earlier revisions, whose clients read such a result too.
/// - A result whose structuredContent does not match the outputSchema is the
///   host's fault ("Servers MUST provide structured results that conform to
///   this schema"): a server error, which tools.mdx puts among the protocol
///   errors. The client gets -32603 (an isError result would invite the model
///   to retry with other arguments, which cannot help), and the host gets the
///   reason from its answer call, as for any unusable result (ResultShape).
///   Error results (`isError: true`) are not checked: they carry no
///   structured output the schema speaks for; nor are results without
///   structuredContent (content blocks only, e.g. mcp_call_return_blob):
///   there is nothing to check, and the client decides what it makes of them.
extension ToolEntry {
    /// Runs the tool for one call, arguments checked first when `validating`.
    func run(_ call: ServerCall, _ arguments: JSONObject, validating: Bool) {
        if validating, let checker = inputChecker {
            do throws(JSONSchemaError) {
                try checker.validate(.object(arguments))
            } catch {
                try? call.respond(Self.invalidArguments(name, error))
                return
            }
        }
        handler(call, arguments)
    }

    /// The tool error result for arguments that do not match the inputSchema.
    static func invalidArguments(_ tool: String, _ error: JSONSchemaError) -> JSONValue {
        let text = "Invalid arguments for tool \(tool): \(error.description)"
        return ["content": [["type": "text", "text": .string(text)]], "isError": true]
    }
}

extension ServerCall {
    /// Checks a tool result's structuredContent against the tool's
    /// outputSchema; nil when it matches (or is not checked), else the reason.
    static func outputMismatch(_ result: JSONValue, tool: String, checker: JSONSchema) -> String? {
        guard case .object(let o) = result, o["isError"] != .bool(true), let structured = o["structuredContent"]
        else { return nil }
        do throws(JSONSchemaError) {
            try checker.validate(structured)
            return nil
        } catch {
            return "Tool \"\(tool)\" produced structuredContent that does not match its outputSchema: \(error.description)"
        }
    }
}
