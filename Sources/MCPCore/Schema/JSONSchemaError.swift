/// Why a JSON Schema check failed: the instance does not match (a
/// violation), or the schema itself cannot be used (invalid, a `$ref` that
/// does not resolve inside it, a `$ref` cycle, or a schema too costly to
/// evaluate). The last four are the schema's author's fault, not the
/// instance's, and say so.
public struct JSONSchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The instance does not match the schema.
        case violation
        /// The schema is not a schema (a keyword of the wrong shape).
        case invalidSchema
        /// A `$ref` that points outside the schema (never fetched, SEP-2106)
        /// or at nothing inside it.
        case unresolvedRef
        /// A `$ref` that leads back to itself without consuming any of the
        /// instance: evaluating it would never end.
        case refCycle
        /// The evaluation passed its bounds (depth or steps).
        case tooComplex
    }

    public var kind: Kind
    /// JSON Pointer (RFC 6901) to the failing part of the instance; "" is the whole.
    public var instancePath: String
    /// The keyword that failed ("required", "type", "$ref", ...).
    public var keyword: String
    public var message: String

    public init(_ kind: Kind, instancePath: String, keyword: String, message: String) {
        self.kind = kind
        self.instancePath = instancePath
        self.keyword = keyword
        self.message = message
    }

    public var description: String {
        let at = instancePath.isEmpty ? "the value" : instancePath
        switch kind {
        case .violation: return "at \(at): \(message)"
        default: return "the schema cannot be used (\(kind.rawValue), at \(at), \(keyword)): \(message)"
        }
    }
}
