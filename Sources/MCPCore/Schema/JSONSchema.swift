/// A JSON Schema (2020-12) ready to check values against: a tool's
/// outputSchema (the client checks structuredContent) or inputSchema (the
/// server checks arguments).
///
/// Keywords checked: type, enum, const; multipleOf, minimum, maximum,
/// exclusiveMinimum, exclusiveMaximum; minLength, maxLength, pattern;
/// items, prefixItems, contains, minContains, maxContains, minItems, maxItems,
/// uniqueItems; properties, patternProperties, additionalProperties,
/// propertyNames, required, dependentRequired, minProperties, maxProperties;
/// allOf, anyOf, oneOf, not, if/then/else; `$ref`. Other keywords (format,
/// title, unevaluated*, ...) are annotations here and never fail a value.
///
/// `$ref` is resolved inside the schema only (SEP-2106: nothing is fetched):
/// "#", JSON Pointers ("#/$defs/x", "#/definitions/x", "#/properties/a"),
/// `$anchor` names ("#name"), and any of these prefixed with the root's
/// `$id`. Every `$ref` is resolved when the schema is made, so an unresolvable
/// one is an error up front (unresolvedRef), not a permissive pass. A `$ref`
/// cycle that consumes no part of the instance is refCycle; evaluation is
/// bounded by depth and by steps (tooComplex), so no schema hangs the caller.
///
/// Immutable and Sendable: make it once (per tool), check from any thread.
public struct JSONSchema: Sendable {
    public let root: JSONValue
    /// Nesting of schemas evaluated inside each other, $ref included.
    public let maxDepth: Int
    /// Subschema evaluations allowed for one value.
    public let maxSteps: Int
    /// `$anchor` name -> the schema that declares it.
    let anchors: [String: JSONValue]
    /// The root `$id`, without a fragment: refs that begin with it are local.
    let baseID: String?

    public static let defaultMaxDepth = 128
    public static let defaultMaxSteps = 200_000

    /// Makes a schema: `true`, `false` or an object, whose every `$ref`
    /// resolves inside it.
    public init(_ root: JSONValue, maxDepth: Int = defaultMaxDepth, maxSteps: Int = defaultMaxSteps) throws(JSONSchemaError) {
        switch root {
        case .bool, .object: break
        default:
            throw JSONSchemaError(.invalidSchema, instancePath: "", keyword: "",
                                  message: "a schema must be an object or a boolean, not \(root.kindName)")
        }
        self.root = root
        self.maxDepth = max(1, maxDepth)
        self.maxSteps = max(1, maxSteps)
        var baseID: String?
        if case .string(let id)? = root["$id"] {
            baseID = id.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
        }
        self.baseID = baseID
        var anchors: [String: JSONValue] = [:]
        var refs: [String] = []
        Self.collect(root, anchors: &anchors, refs: &refs, depth: 0)
        self.anchors = anchors
        for ref in refs { _ = try resolve(ref) }
    }

    /// Checks a value; throws the first failure found.
    public func validate(_ instance: JSONValue) throws(JSONSchemaError) {
        var run = Evaluation(schema: self)
        try run.check(instance, against: root, at: "", depth: 0)
    }

    /// Whether a value matches (schema problems count as not matching).
    public func matches(_ instance: JSONValue) -> Bool {
        do throws(JSONSchemaError) {
            try validate(instance)
            return true
        } catch {
            return false
        }
    }

    /// Keywords whose values are instance data, not schemas: a `$ref` or
    /// `$anchor` inside them means nothing.
    static let dataKeywords: Set<String> = ["const", "enum", "default", "examples"]

    /// Walks the schema for `$anchor` declarations and `$ref` strings.
    private static func collect(_ v: JSONValue, anchors: inout [String: JSONValue], refs: inout [String], depth: Int) {
        guard depth < 512 else { return }
        switch v {
        case .object(let o):
            if case .string(let a)? = o["$anchor"], anchors[a] == nil { anchors[a] = v }
            if case .string(let r)? = o["$ref"] { refs.append(r) }
            for m in o.members where !dataKeywords.contains(m.key) {
                collect(m.value, anchors: &anchors, refs: &refs, depth: depth + 1)
            }
        case .array(let items):
            for item in items { collect(item, anchors: &anchors, refs: &refs, depth: depth + 1) }
        default:
            break
        }
    }
}
