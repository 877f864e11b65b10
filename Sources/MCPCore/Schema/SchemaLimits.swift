/// Bounds on the work one JSON Schema may cost (2026-07-28, basic/index.mdx
/// "Composition-Keyword Resource Use", SEP-2106): a schema whose document is
/// too deep or has too many subschemas is refused when it is made (for a
/// tool: at registration), and checking one value stops with `tooComplex`
/// once it nests or steps too far. The defaults fit any hand-written or
/// generated tool schema seen in practice, and bound a hostile one to a few
/// milliseconds of CPU.
public struct SchemaLimits: Sendable, Equatable {
    /// Deepest nesting of objects and arrays in the schema document.
    public var maxSchemaDepth: Int
    /// Most schema objects in the document ($defs, properties and every
    /// composition branch included).
    public var maxSubschemas: Int
    /// Deepest nesting of subschemas while checking one value, each `$ref`
    /// followed counting as one level.
    public var maxEvaluationDepth: Int
    /// Most subschema evaluations while checking one value.
    public var maxSteps: Int

    public static let defaultMaxSchemaDepth = 64
    public static let defaultMaxSubschemas = 10_000
    public static let defaultMaxEvaluationDepth = 128
    public static let defaultMaxSteps = 200_000

    public init(maxSchemaDepth: Int = defaultMaxSchemaDepth, maxSubschemas: Int = defaultMaxSubschemas,
                maxEvaluationDepth: Int = defaultMaxEvaluationDepth, maxSteps: Int = defaultMaxSteps)
    {
        self.maxSchemaDepth = max(1, maxSchemaDepth)
        self.maxSubschemas = max(1, maxSubschemas)
        self.maxEvaluationDepth = max(1, maxEvaluationDepth)
        self.maxSteps = max(1, maxSteps)
    }
}
