/// Checks a host's answer against the result type of its method and shapes it
/// for the negotiated revision. A malformed answer is the host's bug: it is
/// reported to the host, and the client gets -32603 instead of bad data.
enum ResultShape {
    static func check(_ result: JSONValue, for kind: ServerCall.Kind, version: ProtocolVersion)
        throws(ServerCall.Failure) -> JSONObject
    {
        guard case .object(let o) = result else {
            throw .invalidResult("The result must be a JSON object, not \(result.kindName)")
        }
        switch kind {
        case .tool: return try toolResult(o, version: version)
        case .resourceRead(let uri): return try readResult(o, uri: uri)
        case .promptGet: return try promptResult(o, version: version)
        case .completion: return try completionResult(o)
        }
    }

    /// CompleteResult: at most 100 values; when the host gives more, the rest is
    /// cut and the result says there is more.
    static func completionResult(_ result: JSONObject) throws(ServerCall.Failure) -> JSONObject {
        // Hosts may answer with the inner object alone ({"values": [...]}).
        var inner = result["completion"]?.objectValue ?? result
        guard case .array(let values) = inner["values"] ?? .null, values.allSatisfy({ $0.stringValue != nil }) else {
            throw .invalidResult("A completion result needs \"values\", an array of strings")
        }
        if let t = inner["total"], t.intValue == nil { throw .invalidResult("\"total\" must be an integer") }
        if let h = inner["hasMore"], h.boolValue == nil { throw .invalidResult("\"hasMore\" must be a boolean") }
        if values.count > 100 {
            inner["values"] = .array(Array(values.prefix(100)))
            inner["hasMore"] = true
            if inner["total"] == nil { inner["total"] = .int(Int64(values.count)) }
        }
        var o = JSONObject()
        o["completion"] = .object(inner)
        return o
    }

    static func toolResult(_ result: JSONObject, version: ProtocolVersion) throws(ServerCall.Failure) -> JSONObject {
        var o = result
        if o["content"] == nil {
            // Structured-only results also carry their JSON as text, for clients
            // that read content alone (the spec's SHOULD).
            guard let structured = o["structuredContent"] else {
                throw .invalidResult("A tool result needs \"content\" (an array of content blocks)")
            }
            o["content"] = [["type": "text", "text": .string(JSONSerializer.string(structured))]]
        }
        guard case .array(let blocks) = o["content"] ?? .null else {
            throw .invalidResult("\"content\" must be an array of content blocks")
        }
        try checkBlocks(blocks)
        if let s = o["structuredContent"], s.objectValue == nil {
            throw .invalidResult("\"structuredContent\" must be an object")
        }
        if let e = o["isError"], e.boolValue == nil { throw .invalidResult("\"isError\" must be a boolean") }
        return RevisionGate.toolResult(o, for: version)
    }

    static func readResult(_ result: JSONObject, uri: String) throws(ServerCall.Failure) -> JSONObject {
        guard case .array(var contents) = result["contents"] ?? .null else {
            throw .invalidResult("A read result needs \"contents\" (an array)")
        }
        for i in contents.indices {
            guard case .object(var item) = contents[i] else {
                throw .invalidResult("Each item of \"contents\" must be an object")
            }
            // The requested URI is the natural default; hosts may omit it.
            if item["uri"] == nil { item["uri"] = .string(uri) }
            guard item["uri"]?.stringValue != nil else { throw .invalidResult("Resource contents \"uri\" must be a string") }
            let hasText = item["text"]?.stringValue != nil
            let hasBlob = item["blob"]?.stringValue != nil
            guard hasText != hasBlob else {
                throw .invalidResult("Resource contents need exactly one of \"text\" or \"blob\" (a string)")
            }
            contents[i] = .object(item)
        }
        var o = result
        o["contents"] = .array(contents)
        return o
    }

    static func promptResult(_ result: JSONObject, version: ProtocolVersion) throws(ServerCall.Failure) -> JSONObject {
        guard case .array(var messages) = result["messages"] ?? .null else {
            throw .invalidResult("A prompt result needs \"messages\" (an array)")
        }
        for i in messages.indices {
            guard case .object(var m) = messages[i], let role = m["role"]?.stringValue,
                role == "user" || role == "assistant"
            else {
                throw .invalidResult("Each prompt message needs \"role\" \"user\" or \"assistant\"")
            }
            guard let content = m["content"], content.objectValue != nil else {
                throw .invalidResult("Each prompt message needs one \"content\" block (an object)")
            }
            try checkBlocks([content])
            m["content"] = RevisionGate.contentBlocks([content], for: version)[0]
            messages[i] = .object(m)
        }
        var o = result
        o["messages"] = .array(messages)
        return o
    }

    static func checkBlocks(_ blocks: [JSONValue]) throws(ServerCall.Failure) {
        for b in blocks {
            guard case .object(let o) = b, let type = o["type"]?.stringValue else {
                throw .invalidResult("Each content block must be an object with a string \"type\"")
            }
            switch type {
            case "text":
                guard o["text"]?.stringValue != nil else { throw .invalidResult("A text block needs \"text\"") }
            case "image", "audio":
                guard o["data"]?.stringValue != nil, o["mimeType"]?.stringValue != nil else {
                    throw .invalidResult("An \(type) block needs base64 \"data\" and \"mimeType\"")
                }
            case "resource":
                guard let r = o["resource"]?.objectValue, r["uri"]?.stringValue != nil else {
                    throw .invalidResult("A resource block needs \"resource\" with a \"uri\"")
                }
            case "resource_link":
                guard o["uri"]?.stringValue != nil, o["name"]?.stringValue != nil else {
                    throw .invalidResult("A resource_link block needs \"uri\" and \"name\"")
                }
            default:
                throw .invalidResult("Unknown content block type \"\(type)\"")
            }
        }
    }
}
