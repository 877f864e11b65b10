/// A schema object with the keywords it holds noted once, in one pass over
/// its members: evaluation then asks only for keywords that are there, so a
/// typical three-keyword subschema costs three dictionary lookups rather
/// than forty scans of its members (the budget is about 2 us for a whole
/// tool's arguments: bench/schema_bench.py).
struct SchemaObject: Sendable {
    let object: JSONObject
    let present: UInt64
    /// The keywords present, with their values, in the schema's order.
    private let found: [(SchemaKeyword, JSONValue)]

    init(_ object: JSONObject) {
        self.object = object
        var bits: UInt64 = 0
        var found: [(SchemaKeyword, JSONValue)] = []
        found.reserveCapacity(object.count)
        for m in object.members {
            guard let k = Self.table[m.key] else { continue }
            bits |= k.bit
            found.append((k, m.value))
        }
        present = bits
        self.found = found
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

    subscript(_ k: SchemaKeyword) -> JSONValue? {
        guard present & k.bit != 0 else { return nil }
        // By index: binding each (key, value) would retain every value passed over.
        for i in found.indices where found[i].0 == k { return found[i].1 }
        return nil
    }

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
