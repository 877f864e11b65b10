import OrderedCollections

/// Host code behind each feature. The engine calls these on worker threads.
public typealias ToolHandler = @Sendable (ServerCall, JSONObject) -> Void
public typealias ResourceHandler = @Sendable (ServerCall, String, JSONObject) -> Void
public typealias PromptHandler = @Sendable (ServerCall, JSONObject) -> Void

/// Why a feature definition was refused.
public enum DefinitionError: Error, Sendable, Equatable {
    case invalid(String)
    case duplicate(String)
    case notFound(String)
}

/// A class, not a struct: an entry is copied out of the feature table on
/// every call and captured by the call's closures, and as a struct each copy
/// retained and released its ten members (~20 copies a tools/call, callgrind).
/// Every member is immutable, so sharing one instance changes nothing else.
public final class ToolEntry: Sendable {
    public let name: String
    public let definition: JSONObject
    public let handler: ToolHandler
    /// The handler neither blocks nor runs long, so it runs on the thread that
    /// read the request (an I/O thread) instead of being handed to a worker:
    /// no thread hop, no wake-up, for the cheapest calls.
    public let inline: Bool
    /// The host's caching hint for lists that show this tool (2026-07-28).
    public let cache: CacheHint.Override?
    /// Arguments mirrored into `Mcp-Param-*` headers over HTTP (2026-07-28).
    public let headerParameters: [HeaderParameter]
    /// OAuth scopes a caller's token needs ("requiredScopes", Auth/RequiredScopes.swift).
    public let requiredScopes: [String]
    /// The inputSchema made ready once, at registration: arguments are
    /// checked against it before the handler runs. nil: the tool was
    /// registered with validation off (the handler sees any arguments).
    public let inputChecker: JSONSchema?
    /// The outputSchema made ready once: a result's structuredContent is
    /// checked against it. nil: no outputSchema, or validation off.
    public let outputChecker: JSONSchema?
    /// `execution.taskSupport` ("forbidden", "optional", "required"), read
    /// once: every call consults it.
    public let taskSupport: String

    /// `validation`: the limits the tool's schemas are made with, or nil to
    /// leave its arguments and results unchecked (and its schemas unread
    /// beyond their root type).
    public init(definition: JSONObject, inline: Bool = false, validation: SchemaLimits? = SchemaLimits(),
                handler: @escaping ToolHandler) throws(DefinitionError)
    {
        guard let name = definition["name"]?.stringValue, !name.isEmpty else {
            throw .invalid("A tool needs a non-empty string \"name\"")
        }
        try DefinitionError.refuseNUL(name, "tool name")
        var def = definition
        cache = try CacheHint.extract(from: &def)
        requiredScopes = try RequiredScopes.extract(from: &def)
        if let schema = def["inputSchema"] {
            try Self.checkSchema(schema, member: "inputSchema")
        } else {
            def["inputSchema"] = ["type": "object"]
        }
        if let schema = def["outputSchema"] { try Self.checkSchema(schema, member: "outputSchema") }
        headerParameters = try def["inputSchema"]?.objectValue.map(HeaderParameter.collect) ?? []
        for key in ["title", "description"] {
            if let v = def[key], v.stringValue == nil { throw .invalid("Tool \"\(key)\" must be a string") }
        }
        for key in ["annotations", "execution", "_meta"] {
            if let v = def[key], v.objectValue == nil { throw .invalid("Tool \"\(key)\" must be an object") }
        }
        if let v = def["icons"], v.arrayValue == nil { throw .invalid("Tool \"icons\" must be an array") }
        if let limits = validation {
            inputChecker = try Self.compile(def, "inputSchema", name, limits)
            outputChecker = try Self.compile(def, "outputSchema", name, limits)
        } else {
            inputChecker = nil
            outputChecker = nil
        }
        taskSupport = def["execution"]?["taskSupport"]?.stringValue ?? "forbidden"
        self.name = name
        self.definition = def
        self.inline = inline
        self.handler = handler
    }

    /// JSON Schema 2020-12 is the dialect MCP assumes without `$schema`
    /// (basic/index.mdx); another declared dialect is refused, as that page
    /// asks, rather than checked by the wrong rules.
    static let dialects: Set<String> = ["https://json-schema.org/draft/2020-12/schema",
                                        "https://json-schema.org/draft/2020-12/schema#"]

    /// One of the tool's schemas made ready, or why it cannot be: a remote
    /// `$ref`, a schema over the limits, a dialect other than 2020-12.
    static func compile(_ def: JSONObject, _ member: String, _ tool: String, _ limits: SchemaLimits)
        throws(DefinitionError) -> JSONSchema?
    {
        guard let schema = def[member] else { return nil }
        if let d = schema["$schema"], !(d.stringValue.map(dialects.contains) ?? false) {
            throw .invalid("Tool \"\(tool)\" \(member) declares \"$schema\": \(JSONSerializer.string(d).prefix(200)), "
                + "a dialect this server cannot check (JSON Schema 2020-12 only); "
                + "register the tool with validation off to offer it unchecked")
        }
        do throws(JSONSchemaError) {
            return try JSONSchema(schema, limits: limits)
        } catch {
            throw .invalid("Tool \"\(tool)\" \(member) cannot be used (\(error.kind.rawValue)): \(error.message)")
        }
    }

    static func checkSchema(_ schema: JSONValue, member: String) throws(DefinitionError) {
        guard case .object(let o) = schema else { throw .invalid("Tool \"\(member)\" must be a JSON Schema object") }
        guard o["type"] == .string("object") else {
            throw .invalid("Tool \"\(member)\" must have \"type\": \"object\" at its root")
        }
    }
}

public struct ResourceEntry: Sendable {
    public let uri: String
    public let definition: JSONObject
    public let handler: ResourceHandler
    /// The host's caching hint for reads of this resource and lists showing it.
    public let cache: CacheHint.Override?
    public let requiredScopes: [String]

    public init(definition: JSONObject, handler: @escaping ResourceHandler) throws(DefinitionError) {
        var definition = definition
        cache = try CacheHint.extract(from: &definition)
        requiredScopes = try RequiredScopes.extract(from: &definition)
        guard let uri = definition["uri"]?.stringValue, !uri.isEmpty else {
            throw .invalid("A resource needs a non-empty string \"uri\"")
        }
        try DefinitionError.refuseNUL(uri, "resource uri")
        guard uri.contains(":") else { throw .invalid("Resource uri \"\(uri)\" has no scheme") }
        guard definition["name"]?.stringValue != nil else { throw .invalid("A resource needs a string \"name\"") }
        self.uri = uri
        self.definition = definition
        self.handler = handler
    }
}

public struct TemplateEntry: Sendable {
    public let template: URITemplate
    public let definition: JSONObject
    public let handler: ResourceHandler
    /// The host's caching hint for reads through this template and lists showing it.
    public let cache: CacheHint.Override?
    public let requiredScopes: [String]

    public init(definition: JSONObject, handler: @escaping ResourceHandler) throws(DefinitionError) {
        var definition = definition
        cache = try CacheHint.extract(from: &definition)
        requiredScopes = try RequiredScopes.extract(from: &definition)
        guard let text = definition["uriTemplate"]?.stringValue, !text.isEmpty else {
            throw .invalid("A resource template needs a non-empty string \"uriTemplate\"")
        }
        try DefinitionError.refuseNUL(text, "resource template's uriTemplate")
        guard definition["name"]?.stringValue != nil else {
            throw .invalid("A resource template needs a string \"name\"")
        }
        do {
            template = try URITemplate(text)
        } catch {
            throw .invalid(error.message)
        }
        self.definition = definition
        self.handler = handler
    }
}

public struct PromptEntry: Sendable {
    public let name: String
    public let definition: JSONObject
    public let requiredArguments: [String]
    public let handler: PromptHandler
    /// The host's caching hint for lists that show this prompt.
    public let cache: CacheHint.Override?
    public let requiredScopes: [String]

    public init(definition: JSONObject, handler: @escaping PromptHandler) throws(DefinitionError) {
        var definition = definition
        cache = try CacheHint.extract(from: &definition)
        requiredScopes = try RequiredScopes.extract(from: &definition)
        guard let name = definition["name"]?.stringValue, !name.isEmpty else {
            throw .invalid("A prompt needs a non-empty string \"name\"")
        }
        try DefinitionError.refuseNUL(name, "prompt name")
        var required: [String] = []
        if let args = definition["arguments"] {
            guard case .array(let list) = args else { throw .invalid("Prompt \"arguments\" must be an array") }
            for a in list {
                guard let argName = a["name"]?.stringValue else {
                    throw .invalid("Each prompt argument needs a string \"name\"")
                }
                if a["required"] == .bool(true) { required.append(argName) }
            }
        }
        self.name = name
        self.definition = definition
        self.requiredArguments = required
        self.handler = handler
    }
}

/// Everything a server offers, in registration order (lists are paged in it).
struct FeatureSet: Sendable {
    var tools = OrderedDictionary<String, ToolEntry>()
    var resources = OrderedDictionary<String, ResourceEntry>()
    var templates = OrderedDictionary<String, TemplateEntry>()
    var prompts = OrderedDictionary<String, PromptEntry>()
}

/// The kinds of list a client can page through, with their notification names.
public enum FeatureList: String, Sendable {
    case tools, resources, templates, prompts

    var changedNotification: String {
        switch self {
        case .tools: return "notifications/tools/list_changed"
        case .resources, .templates: return "notifications/resources/list_changed"
        case .prompts: return "notifications/prompts/list_changed"
        }
    }
}

/// What lists and pages need from any feature entry.
protocol FeatureDefinition: Sendable {
    var definition: JSONObject { get }
    var cache: CacheHint.Override? { get }
}

extension ToolEntry: FeatureDefinition {}
extension ResourceEntry: FeatureDefinition {}
extension TemplateEntry: FeatureDefinition {}
extension PromptEntry: FeatureDefinition {}

extension FeatureSet {
    private func keys(_ kind: FeatureList) -> OrderedSet<String> {
        switch kind {
        case .tools: return tools.keys
        case .resources: return resources.keys
        case .templates: return templates.keys
        case .prompts: return prompts.keys
        }
    }

    /// Where a cursor's page starts: at its key if that key still exists,
    /// else at its recorded index (clamped), so removals skip nothing.
    func position(of key: String, near index: Int, in kind: FeatureList) -> Int {
        let k = keys(kind)
        if let i = k.firstIndex(of: key) { return i }
        return min(index, k.count)
    }

    func page(_ kind: FeatureList, from start: Int, count: Int) -> ([any FeatureDefinition], (index: Int, key: String)?) {
        let k = keys(kind)
        let end = min(k.count, start + count)
        guard start < end else { return ([], nil) }
        var items: [any FeatureDefinition] = []
        items.reserveCapacity(end - start)
        for i in start..<end {
            switch kind {
            case .tools: items.append(tools.values[i])
            case .resources: items.append(resources.values[i])
            case .templates: items.append(templates.values[i])
            case .prompts: items.append(prompts.values[i])
            }
        }
        let next = end < k.count ? (index: end, key: k[end]) : nil
        return (items, next)
    }
}

extension DefinitionError {
    /// A key with U+0000 in it could be added through the C ABI (JSON text)
    /// but never named again there (a C string ends at the NUL): removal,
    /// notifications. Found by fuzz/targets/c-abi.
    static func refuseNUL(_ key: String, _ what: String) throws(DefinitionError) {
        if key.utf8.contains(0) { throw .invalid("A \(what) must not contain U+0000") }
    }
}
