/// Results made from one text or one blob that the host hands over as bytes
/// (mcp_call_return_text / _blob), so large payloads skip JSON text on the
/// host's side. The result goes through ResultShape like any other.
public enum ContentResult {
    /// A tool call: one text block, and with `structuredKey` also
    /// structuredContent {key: text}. A resource read: one text item.
    public static func text(_ text: String, mimeType: String?, structuredKey: String?,
                            for kind: ServerCall.Kind) throws(CallFailure) -> JSONValue
    {
        switch kind {
        case .tool:
            // Members given whole (distinct names): the setters' searches and
            // regrowths were ~1K instructions of every text answer.
            typealias M = JSONObject.Member
            let block = JSONObject(uniqueMembers: [M(key: "type", value: "text"), M(key: "text", value: .string(text))])
            var members = [M(key: "content", value: .array([.object(block)]))]
            if let structuredKey {
                members.append(M(key: "structuredContent",
                                 value: .object(JSONObject(uniqueMembers: [M(key: structuredKey, value: .string(text))]))))
            }
            return .object(JSONObject(uniqueMembers: members))
        case .resourceRead(let uri):
            guard structuredKey == nil else {
                throw .invalidArgument("structured_key applies to tool calls only, not to a resource read")
            }
            var item = JSONObject()
            item["uri"] = .string(uri)
            if let mimeType { item["mimeType"] = .string(mimeType) }
            item["text"] = .string(text)
            return ["contents": [.object(item)]]
        case .promptGet, .completion:
            throw .unsupported("Only tool calls and resource reads can be answered with one text")
        }
    }

    /// A tool call: structuredContent `value` (under `structuredKey` when
    /// given) and one text block holding `json`, the host's own JSON text of it,
    /// as the text block of structured output usually is.
    public static func structured(json: String, value: JSONValue, structuredKey: String?,
                                  for kind: ServerCall.Kind) throws(CallFailure) -> JSONValue
    {
        guard case .tool = kind else {
            throw .unsupported("Only tool calls can be answered with structured content")
        }
        var o = JSONObject()
        o["content"] = [["type": "text", "text": .string(json)]]
        if let structuredKey {
            var structured = JSONObject()
            structured[structuredKey] = value
            o["structuredContent"] = .object(structured)
        } else {
            o["structuredContent"] = value
        }
        return .object(o)
    }

    /// A tool call: an image or audio block (by the MIME type's top level).
    /// A resource read: one blob item. `data` is base64-encoded here.
    public static func blob(_ data: UnsafeRawBufferPointer, mimeType: String,
                            for kind: ServerCall.Kind) throws(CallFailure) -> JSONValue
    {
        guard !mimeType.isEmpty else { throw .invalidArgument("mime_type must not be empty") }
        switch kind {
        case .tool:
            let top = mimeType.prefix { $0 != "/" }
            guard top == "image" || top == "audio", mimeType.count > top.count + 1 else {
                throw .invalidArgument("A tool's blob must be image/* or audio/* (got \"\(mimeType)\"); "
                    + "return other data as an embedded resource with mcp_call_return")
            }
            let block: JSONValue = ["type": .string(String(top)), "data": .string(Base64.encode(data)),
                                    "mimeType": .string(mimeType)]
            return ["content": [block]]
        case .resourceRead(let uri):
            return ["contents": [["uri": .string(uri), "mimeType": .string(mimeType),
                                  "blob": .string(Base64.encode(data))]]]
        case .promptGet, .completion:
            throw .unsupported("Only tool calls and resource reads can be answered with one blob")
        }
    }
}

/// RFC 4648 base64 with padding, the encoding MCP uses for binary data.
enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ data: UnsafeRawBufferPointer) -> String {
        let n = data.count
        guard n > 0, let src = data.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return "" }
        let outCount = (n + 2) / 3 * 4
        return String(unsafeUninitializedCapacity: outCount) { out in
            alphabet.withUnsafeBufferPointer { table in
                var i = 0
                var o = 0
                while n - i >= 3 {
                    let v = UInt32(src[i]) << 16 | UInt32(src[i + 1]) << 8 | UInt32(src[i + 2])
                    out[o] = table[Int(v >> 18)]
                    out[o + 1] = table[Int(v >> 12 & 0x3F)]
                    out[o + 2] = table[Int(v >> 6 & 0x3F)]
                    out[o + 3] = table[Int(v & 0x3F)]
                    i += 3
                    o += 4
                }
                if n - i > 0 {
                    let b1 = n - i == 2 ? UInt32(src[i + 1]) : 0
                    let v = UInt32(src[i]) << 16 | b1 << 8
                    out[o] = table[Int(v >> 18)]
                    out[o + 1] = table[Int(v >> 12 & 0x3F)]
                    out[o + 2] = n - i == 2 ? table[Int(v >> 6 & 0x3F)] : UInt8(ascii: "=")
                    out[o + 3] = UInt8(ascii: "=")
                    o += 4
                }
                return o
            }
        }
    }
}
