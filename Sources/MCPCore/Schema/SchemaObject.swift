/// A schema object with the keywords it holds noted once, in one pass over
/// its members: evaluation then asks only for keywords that are there, so a
/// typical three-keyword subschema costs three lookups rather than forty
/// scans of its members (the budget is about 2 us for a whole tool's
/// arguments: bench/schema_bench.py).
///
/// A class: the document's table hands out one reference per subschema
/// checked, where a struct was copied out with a retain per field. Values
/// are kept in keyword order, so a keyword's place is the number of present
/// keywords before it (a popcount), not a scan.
final class SchemaObject: Sendable {
    let object: JSONObject
    let present: UInt64
    /// The JSON types `type` allows, read once (nil: no `type`, or not a
    /// string or array of strings, which checkType reports).
    let types: JSONTypes?
    /// The values of the present keywords, ordered by SchemaKeyword.
    private let values: [JSONValue]

    init(_ object: JSONObject) {
        self.object = object
        var bits: UInt64 = 0
        var slots = [JSONValue?](repeating: nil, count: SchemaKeyword.count)
        for m in object.members {
            // A repeated key: the first one counts, as a scan would find it.
            guard let k = Self.table[m.key], bits & k.bit == 0 else { continue }
            bits |= k.bit
            slots[k.rawValue] = m.value
        }
        present = bits
        values = slots.compactMap { $0 }
        types = slots[SchemaKeyword.typeKeyword.rawValue].flatMap { JSONTypes(keyword: $0) }
    }

    static let table: [String: SchemaKeyword] = [
        "$id": .id,
        "$ref": .ref,
        "$dynamicRef": .dynamicRef,
        "type": .typeKeyword,
        "enum": .enumKeyword,
        "const": .constKeyword,
        "multipleOf": .multipleOf,
        "minimum": .minimum,
        "maximum": .maximum,
        "exclusiveMinimum": .exclusiveMinimum,
        "exclusiveMaximum": .exclusiveMaximum,
        "minLength": .minLength,
        "maxLength": .maxLength,
        "pattern": .pattern,
        "prefixItems": .prefixItems,
        "items": .items,
        "contains": .contains,
        "minContains": .minContains,
        "maxContains": .maxContains,
        "minItems": .minItems,
        "maxItems": .maxItems,
        "uniqueItems": .uniqueItems,
        "required": .required,
        "minProperties": .minProperties,
        "maxProperties": .maxProperties,
        "dependentRequired": .dependentRequired,
        "properties": .properties,
        "patternProperties": .patternProperties,
        "additionalProperties": .additionalProperties,
        "propertyNames": .propertyNames,
        "dependentSchemas": .dependentSchemas,
        "allOf": .allOf,
        "anyOf": .anyOf,
        "oneOf": .oneOf,
        "not": .notKeyword,
        "if": .ifKeyword,
        "then": .thenKeyword,
        "else": .elseKeyword,
        "unevaluatedItems": .unevaluatedItems,
        "unevaluatedProperties": .unevaluatedProperties,
    ]

    // Inlined: most lookups are of absent keywords, one bit test each.
    @inline(__always)
    subscript(_ k: SchemaKeyword) -> JSONValue? {
        guard present & k.bit != 0 else { return nil }
        return values[(present & (k.bit &- 1)).nonzeroBitCount]
    }

    @inline(__always)
    func has(_ k: SchemaKeyword) -> Bool { present & k.bit != 0 }
}

/// The keywords evaluation reads.
enum SchemaKeyword: Int, Sendable {
    case id
    case ref
    case dynamicRef
    case typeKeyword
    case enumKeyword
    case constKeyword
    case multipleOf
    case minimum
    case maximum
    case exclusiveMinimum
    case exclusiveMaximum
    case minLength
    case maxLength
    case pattern
    case prefixItems
    case items
    case contains
    case minContains
    case maxContains
    case minItems
    case maxItems
    case uniqueItems
    case required
    case minProperties
    case maxProperties
    case dependentRequired
    case properties
    case patternProperties
    case additionalProperties
    case propertyNames
    case dependentSchemas
    case allOf
    case anyOf
    case oneOf
    case notKeyword
    case ifKeyword
    case thenKeyword
    case elseKeyword
    case unevaluatedItems
    case unevaluatedProperties

    var bit: UInt64 { 1 << UInt64(rawValue) }

    /// How many keywords there are (the bits of SchemaObject.present).
    static var count: Int { unevaluatedProperties.rawValue + 1 }

    /// The applicators checkComposition reads: a subschema with none of them skips it.
    // Computed, not stored: a stored static is a lazy global, with a
    // swift_once check on each read of this hot path.
    static var composition: UInt64 {
        allOf.bit | anyOf.bit | oneOf.bit | notKeyword.bit | ifKeyword.bit
    }
    /// What checkNumber reads, and checkString: a subschema with none skips them.
    static var numeric: UInt64 {
        minimum.bit | maximum.bit | exclusiveMinimum.bit | exclusiveMaximum.bit | multipleOf.bit
    }
    static var textual: UInt64 { minLength.bit | maxLength.bit | pattern.bit }

    var name: String {
        switch self {
        case .id: return "$id"
        case .ref: return "$ref"
        case .dynamicRef: return "$dynamicRef"
        case .typeKeyword: return "type"
        case .enumKeyword: return "enum"
        case .constKeyword: return "const"
        case .multipleOf: return "multipleOf"
        case .minimum: return "minimum"
        case .maximum: return "maximum"
        case .exclusiveMinimum: return "exclusiveMinimum"
        case .exclusiveMaximum: return "exclusiveMaximum"
        case .minLength: return "minLength"
        case .maxLength: return "maxLength"
        case .pattern: return "pattern"
        case .prefixItems: return "prefixItems"
        case .items: return "items"
        case .contains: return "contains"
        case .minContains: return "minContains"
        case .maxContains: return "maxContains"
        case .minItems: return "minItems"
        case .maxItems: return "maxItems"
        case .uniqueItems: return "uniqueItems"
        case .required: return "required"
        case .minProperties: return "minProperties"
        case .maxProperties: return "maxProperties"
        case .dependentRequired: return "dependentRequired"
        case .properties: return "properties"
        case .patternProperties: return "patternProperties"
        case .additionalProperties: return "additionalProperties"
        case .propertyNames: return "propertyNames"
        case .dependentSchemas: return "dependentSchemas"
        case .allOf: return "allOf"
        case .anyOf: return "anyOf"
        case .oneOf: return "oneOf"
        case .notKeyword: return "not"
        case .ifKeyword: return "if"
        case .thenKeyword: return "then"
        case .elseKeyword: return "else"
        case .unevaluatedItems: return "unevaluatedItems"
        case .unevaluatedProperties: return "unevaluatedProperties"
        }
    }
}

/// A set of JSON Schema types, as `type` names them, for a check that
/// compares bits instead of type names.
struct JSONTypes: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = JSONTypes(rawValue: 1)
    static let boolean = JSONTypes(rawValue: 2)
    static let string = JSONTypes(rawValue: 4)
    static let array = JSONTypes(rawValue: 8)
    static let object = JSONTypes(rawValue: 16)
    static let number = JSONTypes(rawValue: 32)
    /// A number with no fractional part: every int, and doubles like 2.0.
    static let integer = JSONTypes(rawValue: 64)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The types a value has: an integer is also a number.
    init(of v: JSONValue) {
        switch v {
        case .null: self = .null
        case .bool: self = .boolean
        case .string: self = .string
        case .array: self = .array
        case .object: self = .object
        case .int: self = [.number, .integer]
        case .double(let d): self = d.rounded() == d && d.isFinite ? [.number, .integer] : .number
        }
    }

    /// `type`'s value: one name or an array of names; nil if it is neither
    /// or names an unknown type (left to checkType's own reading).
    init?(keyword: JSONValue) {
        var names: [JSONValue]
        switch keyword {
        case .string: names = [keyword]
        case .array(let a): names = a
        default: return nil
        }
        var set: JSONTypes = []
        for case let n in names {
            guard case .string(let name) = n else { return nil }
            switch name {
            case "null": set.insert(.null)
            case "boolean": set.insert(.boolean)
            case "string": set.insert(.string)
            case "array": set.insert(.array)
            case "object": set.insert(.object)
            case "number": set.insert(.number)
            case "integer": set.insert(.integer)
            default: return nil
            }
        }
        self = set
    }
}
