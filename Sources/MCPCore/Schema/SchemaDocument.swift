/// A schema document read once, when its JSONSchema is made: its size and
/// depth against the limits, its schema resources (`$id`), anchors
/// (`$anchor`, `$dynamicAnchor`) and every location a JSON Pointer can name,
/// and then every `$ref` / `$dynamicRef` resolved against them. References
/// stay inside the document (2026-07-28 basic/index.mdx, "$ref Resolution":
/// nothing is fetched), so one that leads elsewhere is refused here.
///
/// A class: it is immutable once made, and every check holds it; copying a
/// struct of six tables retained each of them per tool call (3% of a check).
final class SchemaDocument: Sendable {
    /// A node of the document and the base URI of the resource it sits in
    /// (before any `$id` of its own).
    struct Target: Sendable {
        let node: JSONValue
        let base: String
    }

    /// "base \0 $id" -> the absolute URI the `$id` names.
    let ids: [String: String]
    /// "base \0 reference" -> where the `$ref` or `$dynamicRef` leads.
    let refs: [String: Target]
    /// "base \0 reference" of a `$dynamicRef` whose first target declares
    /// the same `$dynamicAnchor`: the anchor name to look up in the dynamic scope.
    let dynamicNames: [String: String]
    /// "resource URI # name" -> the subschema declaring that `$dynamicAnchor`.
    let dynamicAnchors: [String: Target]
    /// Whether unevaluatedProperties or unevaluatedItems appear: only then
    /// does evaluation keep track of what it evaluated.
    let tracksEvaluation: Bool
    /// Every schema object of the document with its keywords read once
    /// (SchemaObject), keyed by the address of its members' storage: the
    /// document is immutable and held by its JSONSchema, so the address is
    /// stable and unique, and a lookup costs one probe of a table per
    /// subschema instead of a string hash per keyword.
    let compiled: AddressTable<SchemaObject>

    /// Keywords whose value is one subschema, an object of subschemas, an
    /// array of subschemas. Anything else is not a schema: a `$id` or `$ref`
    /// inside it means nothing (though a pointer may still name it).
    static let single: Set<String> = ["additionalProperties", "propertyNames", "items", "contains", "not", "if", "then",
                                      "else", "unevaluatedItems", "unevaluatedProperties"]
    static let maps: Set<String> = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"]
    static let lists: Set<String> = ["allOf", "anyOf", "oneOf", "prefixItems"]

    init(_ root: JSONValue, limits: SchemaLimits) throws(JSONSchemaError) {
        var walk = Walk(limits: limits)
        try walk.visit(root, base: "", scopes: [("", "")], depth: 1, isSchema: true)
        tracksEvaluation = walk.tracksEvaluation
        compiled = walk.compiled
        ids = walk.ids
        dynamicAnchors = walk.dynamicAnchors
        var refs: [String: Target] = [:]
        var dynamicNames: [String: String] = [:]
        for (base, ref, dynamic) in walk.pending {
            let key = base + "\u{0}" + ref
            guard refs[key] == nil else { continue }
            let target = try walk.resolve(ref, base: base)
            refs[key] = target
            if dynamic {
                let fragment = URIReference.split(URIReference.resolve(ref, against: base)).1
                if !fragment.isEmpty, !fragment.hasPrefix("/"), target.node["$dynamicAnchor"]?.stringValue == fragment {
                    dynamicNames[key] = fragment
                }
            }
        }
        self.refs = refs
        self.dynamicNames = dynamicNames
    }

    private struct Walk {
        let limits: SchemaLimits
        var objects = 0
        var tracksEvaluation = false
        var ids: [String: String] = [:]
        /// "resource URI # pointer" and "resource URI # anchor" -> node.
        var locations: [String: Target] = [:]
        var resources: Set<String> = []
        var dynamicAnchors: [String: Target] = [:]
        var pending: [(String, String, Bool)] = []
        var compiled = AddressTable<SchemaObject>()

        init(limits: SchemaLimits) { self.limits = limits }

        /// `scopes`: every enclosing resource with the pointer to this node from it.
        mutating func visit(_ v: JSONValue, base: String, scopes: [(String, String)], depth: Int, isSchema: Bool)
            throws(JSONSchemaError)
        {
            let here = Target(node: v, base: base)
            for (uri, pointer) in scopes where locations[uri + "#" + pointer] == nil {
                locations[uri + "#" + pointer] = here
            }
            switch v {
            case .object(let o):
                try enter(depth)
                objects += 1
                guard objects <= limits.maxSubschemas else {
                    throw JSONSchemaError(.tooComplex, instancePath: "", keyword: "",
                                          message: "the schema has more than \(limits.maxSubschemas) subschemas")
                }
                var inner = base
                var scopes = scopes
                if isSchema {
                    if let key = SchemaDocument.key(o) { compiled[key] = SchemaObject(o) }
                    if case .string(let id)? = o["$id"] {
                        inner = URIReference.split(URIReference.resolve(id, against: base)).0
                        ids[base + "\u{0}" + id] = inner
                        resources.insert(inner)
                        if locations[inner + "#"] == nil { locations[inner + "#"] = here }
                        scopes.append((inner, ""))
                    }
                    if case .string(let a)? = o["$anchor"], locations[inner + "#" + a] == nil {
                        locations[inner + "#" + a] = here
                    }
                    if case .string(let a)? = o["$dynamicAnchor"] {
                        if locations[inner + "#" + a] == nil { locations[inner + "#" + a] = here }
                        if dynamicAnchors[inner + "#" + a] == nil { dynamicAnchors[inner + "#" + a] = here }
                    }
                    if case .string(let r)? = o["$ref"] { pending.append((inner, r, false)) }
                    if case .string(let r)? = o["$dynamicRef"] { pending.append((inner, r, true)) }
                    if o["unevaluatedProperties"] != nil || o["unevaluatedItems"] != nil { tracksEvaluation = true }
                }
                for m in o.members {
                    let child = scopes.map { ($0.0, $0.1 + "/" + InstancePath.escape(m.key)) }
                    if isSchema, SchemaDocument.maps.contains(m.key), case .object(let entries) = m.value {
                        try enter(depth + 1)
                        for e in entries.members {
                            let grand = child.map { ($0.0, $0.1 + "/" + InstancePath.escape(e.key)) }
                            try visit(e.value, base: inner, scopes: grand, depth: depth + 2, isSchema: true)
                        }
                    } else if isSchema, SchemaDocument.lists.contains(m.key), case .array(let items) = m.value {
                        try enter(depth + 1)
                        for (i, item) in items.enumerated() {
                            let grand = child.map { ($0.0, $0.1 + "/\(i)") }
                            try visit(item, base: inner, scopes: grand, depth: depth + 2, isSchema: true)
                        }
                    } else {
                        let sub = isSchema && SchemaDocument.single.contains(m.key)
                        let data = isSchema && JSONSchema.dataKeywords.contains(m.key)
                        try visit(m.value, base: inner, scopes: data ? [] : child, depth: depth + 1, isSchema: sub)
                    }
                }
            case .array(let items):
                try enter(depth)
                for (i, item) in items.enumerated() {
                    try visit(item, base: base, scopes: scopes.map { ($0.0, $0.1 + "/\(i)") }, depth: depth + 1,
                              isSchema: false)
                }
            default:
                break
            }
        }

        private func enter(_ depth: Int) throws(JSONSchemaError) {
            guard depth <= limits.maxSchemaDepth else {
                throw JSONSchemaError(.tooComplex, instancePath: "", keyword: "",
                                      message: "the schema nests deeper than \(limits.maxSchemaDepth) levels")
            }
        }

        /// Where a reference made in resource `base` leads, or why nowhere.
        func resolve(_ ref: String, base: String) throws(JSONSchemaError) -> Target {
            let (uri, rawFragment) = URIReference.split(URIReference.resolve(ref, against: base))
            guard let fragment = JSONSchema.percentDecode(Substring(rawFragment)) else {
                throw JSONSchemaError(.unresolvedRef, instancePath: "", keyword: "$ref",
                                      message: "\"\(ref.prefix(200))\" is not a valid URI fragment")
            }
            if let t = locations[uri + "#" + fragment] {
                switch t.node {
                case .object, .bool: return t
                default:
                    throw JSONSchemaError(.unresolvedRef, instancePath: "", keyword: "$ref",
                                          message: "\"\(ref.prefix(200))\" points at a \(t.node.kindName), not a schema")
                }
            }
            guard resources.contains(uri) || uri.isEmpty else {
                throw JSONSchemaError(.unresolvedRef, instancePath: "", keyword: "$ref",
                                      message: "\"\(ref.prefix(200))\" points outside this schema, and external references are never fetched")
            }
            let what = fragment.hasPrefix("/") ? "points at nothing in this schema" : "names no $anchor in this schema"
            throw JSONSchemaError(.unresolvedRef, instancePath: "", keyword: "$ref", message: "\"\(ref.prefix(200))\" \(what)")
        }
    }
}

extension SchemaDocument {
    /// Where an object's members are stored (nil for an empty object).
    static func key(_ o: JSONObject) -> UInt? {
        o.members.withUnsafeBufferPointer { $0.baseAddress.map { UInt(bitPattern: $0) } }
    }

    /// The object's keywords, read when the schema was made when it is one
    /// of the document's own subschemas.
    func object(_ o: JSONObject) -> SchemaObject {
        if let k = Self.key(o), let c = compiled[k] { return c }
        return SchemaObject(o)
    }
}

extension JSONSchema {
    /// Keywords whose values are instance data, not schemas: a `$ref` or
    /// `$anchor` inside them means nothing, and no pointer names their insides.
    static let dataKeywords: Set<String> = ["const", "enum", "default", "examples"]

    /// %XX sequences of a URI fragment, as UTF-8; nil when malformed.
    static func percentDecode(_ s: Substring) -> String? {
        guard s.contains("%") else { return String(s) }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            guard c == UInt8(ascii: "%") else {
                bytes.append(c)
                continue
            }
            guard it.count >= 2, let hi = hex(it.removeFirst()), let lo = hex(it.removeFirst()) else { return nil }
            bytes.append(hi << 4 | lo)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
