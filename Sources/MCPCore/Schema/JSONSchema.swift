/// A JSON Schema (2020-12) ready to check values against: a tool's
/// outputSchema (the client checks structuredContent) or inputSchema (the
/// server checks arguments).
///
/// Keywords checked: type, enum, const; multipleOf, minimum, maximum,
/// exclusiveMinimum, exclusiveMaximum; minLength, maxLength, pattern;
/// items, prefixItems, contains, minContains, maxContains, minItems, maxItems,
/// uniqueItems; properties, patternProperties, additionalProperties,
/// propertyNames, required, dependentRequired, minProperties, maxProperties;
/// dependentSchemas, unevaluatedProperties, unevaluatedItems; allOf, anyOf,
/// oneOf, not, if/then/else; `$ref`, `$dynamicRef`. Other keywords (format,
/// content*, title, ...) are annotations here and never fail a value.
///
/// `$ref` is resolved inside the schema document only (SEP-2106: nothing is
/// fetched): JSON Pointers ("#/$defs/x"), `$anchor` and `$dynamicAnchor`
/// names, and references relative to any `$id` in the document (embedded
/// resources included), resolved as RFC 3986 says. Every `$ref` is resolved
/// when the schema is made, so one to another document is an error up front
/// (unresolvedRef), not a permissive pass. A `$ref` cycle that consumes no
/// part of the instance is refCycle; the document is bounded in size and
/// depth when made, and evaluation in depth and steps (SchemaLimits), so no
/// schema hangs the caller.
///
/// Immutable and Sendable: make it once (per tool), check from any thread.
public struct JSONSchema: Sendable {
    public let root: JSONValue
    /// The bounds this schema was made with (its document was checked
    /// against the first two; checking a value obeys the last two).
    public let limits: SchemaLimits
    /// Nesting of schemas evaluated inside each other, $ref included.
    public var maxDepth: Int { limits.maxEvaluationDepth }
    /// Subschema evaluations allowed for one value.
    public var maxSteps: Int { limits.maxSteps }
    /// Where every `$ref` and `$dynamicRef` leads, resolved once.
    let document: SchemaDocument

    public static let defaultMaxDepth = SchemaLimits.defaultMaxEvaluationDepth
    public static let defaultMaxSteps = SchemaLimits.defaultMaxSteps

    /// Makes a schema with default limits except for the evaluation bounds given.
    public init(_ root: JSONValue, maxDepth: Int = defaultMaxDepth, maxSteps: Int = defaultMaxSteps) throws(JSONSchemaError) {
        try self.init(root, limits: SchemaLimits(maxEvaluationDepth: maxDepth, maxSteps: maxSteps))
    }

    /// Makes a schema: `true`, `false` or an object, whose every `$ref`
    /// resolves inside it, and whose document is within `limits` (else
    /// `tooComplex`, before any value is checked).
    public init(_ root: JSONValue, limits: SchemaLimits) throws(JSONSchemaError) {
        switch root {
        case .bool, .object: break
        default:
            throw JSONSchemaError(.invalidSchema, instancePath: "", keyword: "",
                                  message: "a schema must be an object or a boolean, not \(root.kindName)")
        }
        self.root = root
        self.limits = limits
        document = try SchemaDocument(root, limits: limits)
    }

    /// Checks a value; throws the first failure found.
    public func validate(_ instance: JSONValue) throws(JSONSchemaError) {
        var run = Evaluation(schema: self)
        _ = try run.check(instance, against: root, at: .root, depth: 0, base: "")
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
}
