/// Removes from outgoing objects what the negotiated revision does not define,
/// so a client on an older revision receives messages valid under its schema.
public enum RevisionGate {
    /// Implementation (serverInfo): title from 2025-06-18; icons, description,
    /// websiteUrl from 2025-11-25.
    public static func implementation(_ info: JSONObject, for v: ProtocolVersion) -> JSONObject {
        var o = info
        if v < .v2025_06_18 { o["title"] = nil }
        if v < .v2025_11_25 {
            o["icons"] = nil
            o["description"] = nil
            o["websiteUrl"] = nil
        }
        return o
    }

    /// Tool: annotations from 2025-03-26; title, outputSchema, _meta from
    /// 2025-06-18; icons and execution from 2025-11-25; execution gone again
    /// at 2026-07-28 (tasks became an extension, where the server decides per
    /// call: ModernTasks.swift).
    public static func tool(_ tool: JSONObject, for v: ProtocolVersion) -> JSONObject {
        if v == .v2025_11_25 { return tool }
        var o = tool
        if v.isModern {
            if o["execution"] != nil { o["execution"] = nil }
            return o
        }
        if v < .v2025_03_26 { o["annotations"] = nil }
        if v < .v2025_06_18 {
            o["title"] = nil
            o["outputSchema"] = nil
            o["_meta"] = nil
        }
        o["icons"] = nil
        o["execution"] = nil
        return o
    }

    /// Resource, ResourceTemplate, Prompt: title from 2025-06-18, icons from 2025-11-25.
    public static func listedFeature(_ item: JSONObject, for v: ProtocolVersion) -> JSONObject {
        if v >= .v2025_11_25 { return item }
        var o = item
        if v < .v2025_06_18 {
            o["title"] = nil
            o["_meta"] = nil
            if var args = o["arguments"]?.arrayValue {
                for i in args.indices {
                    if case .object(var a) = args[i] {
                        a["title"] = nil
                        args[i] = .object(a)
                    }
                }
                o["arguments"] = .array(args)
            }
        }
        o["icons"] = nil
        return o
    }

    /// CallToolResult: structuredContent from 2025-06-18. Content blocks are
    /// shaped too (audio from 2025-03-26, resource_link from 2025-06-18).
    public static func toolResult(_ result: JSONObject, for v: ProtocolVersion) -> JSONObject {
        if v >= .v2025_11_25 { return result }
        var o = result
        if v < .v2025_06_18 { o["structuredContent"] = nil }
        if let content = o["content"]?.arrayValue {
            o["content"] = .array(contentBlocks(content, for: v))
        }
        return o
    }

    /// Content blocks an old client cannot read are replaced by a text block
    /// that says what was there, rather than dropped without a trace.
    public static func contentBlocks(_ blocks: [JSONValue], for v: ProtocolVersion) -> [JSONValue] {
        if v >= .v2025_06_18 { return blocks }
        return blocks.map { block in
            guard case .object(let b) = block, let type = b["type"]?.stringValue else { return block }
            if type == "resource_link" {
                let uri = b["uri"]?.stringValue ?? ""
                return ["type": "text", "text": .string("Resource: \(uri)")]
            }
            if type == "audio", v < .v2025_03_26 {
                let mime = b["mimeType"]?.stringValue ?? "audio"
                return ["type": "text", "text": .string("[\(mime) content not supported by protocol \(v.rawValue)]")]
            }
            return block
        }
    }
}
