/// Checking one value against a JSONSchema: the keyword rules, kept apart
/// from how a schema is made and where `$ref` leads (SchemaDocument).
struct Evaluation {
    let schema: JSONSchema
    let document: SchemaDocument
    /// Whether to keep track of what each subschema evaluated (only when the
    /// document has unevaluated* keywords: otherwise it costs for nothing).
    let tracking: Bool
    var steps = 0
    /// `$ref`s being followed, each with the instance location it was
    /// followed at: meeting one again at the same location is a cycle.
    var following: Set<String> = []
    /// The dynamic scope: the schema resources entered, outermost first
    /// (`$dynamicRef` looks its anchor up in them), after the root document
    /// (""), which is always first and kept out of the array so that a
    /// check with no `$id` allocates none.
    var scope: [String] = []

    init(schema: JSONSchema) {
        self.schema = schema
        document = schema.document
        tracking = schema.document.tracksEvaluation
    }

    /// What a subschema that passed evaluated of its instance (JSON Schema
    /// 2020-12 annotations, as unevaluatedProperties / unevaluatedItems read them).
    struct Evaluated {
        /// Properties and `contains` items recorded; nil until one is. One
        /// optional reference, not two optional Sets: an Evaluated is made
        /// and dropped per subschema checked while almost none record
        /// anything, and dropping an optional Set went through generic
        /// value witnesses, about 1,400 instructions per typical tool call
        /// (callgrind of bench/schema_driver).
        private var marks: Marks?
        var allProperties = false
        /// Items 0..<items were evaluated (prefixItems).
        var items = 0
        var allItems = false

        private final class Marks {
            var properties: Set<String> = []
            var contained: Set<Int> = []

            func copy() -> Marks {
                let m = Marks()
                m.properties = properties
                m.contained = contained
                return m
            }
        }

        /// Nothing evaluated (the common case when nothing tracks evaluation).
        var isEmpty: Bool { !allProperties && !allItems && items == 0 && marks == nil }

        func evaluated(property: String) -> Bool { marks?.properties.contains(property) ?? false }
        func evaluated(item: Int) -> Bool { marks?.contained.contains(item) ?? false }

        mutating func record(property: String) { writableMarks().properties.insert(property) }
        mutating func record(item: Int) { writableMarks().contained.insert(item) }

        mutating func merge(_ o: Evaluated) {
            if o.isEmpty { return }
            if let theirs = o.marks {
                let mine = writableMarks()
                mine.properties.formUnion(theirs.properties)
                mine.contained.formUnion(theirs.contained)
            }
            allProperties = allProperties || o.allProperties
            items = max(items, o.items)
            allItems = allItems || o.allItems
        }

        /// Marks this value alone holds (copied first if another Evaluated shares them).
        private mutating func writableMarks() -> Marks {
            guard var m = marks else {
                let m = Marks()
                marks = m
                return m
            }
            marks = nil
            if !isKnownUniquelyReferenced(&m) { m = m.copy() }
            marks = m
            return m
        }
    }

    mutating func check(_ v: JSONValue, against s: JSONValue, at path: InstancePath, depth: Int, base: String)
        throws(JSONSchemaError) -> Evaluated
    {
        steps += 1
        guard steps <= schema.maxSteps else {
            throw JSONSchemaError(.tooComplex, instancePath: path.text, keyword: "",
                                  message: "checking took more than \(schema.maxSteps) subschema evaluations")
        }
        guard depth <= schema.maxDepth else {
            throw JSONSchemaError(.tooComplex, instancePath: path.text, keyword: "",
                                  message: "subschemas nest deeper than \(schema.maxDepth)")
        }
        let o: SchemaObject
        switch s {
        case .bool(true): return Evaluated()
        case .bool(false): throw fail(path, "false", "no value is allowed here")
        case .object(let obj): o = document.object(obj)
        default:
            throw JSONSchemaError(.invalidSchema, instancePath: path.text, keyword: "",
                                  message: "a subschema is a \(s.kindName), not an object or a boolean")
        }
        // A subschema with its own $id is a resource of its own: references
        // inside it resolve against it, and it joins the dynamic scope.
        var here = base
        var entered = false
        if case .string(let id)? = o[.id], let uri = document.ids[base + "\u{0}" + id], uri != base {
            here = uri
            scope.append(uri)
            entered = true
        }
        defer { if entered { scope.removeLast() } }
        var seen = Evaluated()
        if let ref = o[.ref] {
            guard case .string(let r) = ref else { throw invalid(path, "$ref", "must be a string") }
            seen.merge(try follow(r, dynamic: false, v, path, depth, here))
        }
        if let ref = o[.dynamicRef] {
            guard case .string(let r) = ref else { throw invalid(path, "$dynamicRef", "must be a string") }
            seen.merge(try follow(r, dynamic: true, v, path, depth, here))
        }
        try checkType(v, o, path)
        if let e = o[.enumKeyword] {
            guard case .array(let options) = e else { throw invalid(path, "enum", "must be an array") }
            if !options.contains(where: { JSONSchema.equal($0, v) }) {
                throw fail(path, "enum", "the value is not one of the \(options.count) allowed by enum")
            }
        }
        if let c = o[.constKeyword], !JSONSchema.equal(c, v) {
            throw fail(path, "const", "the value is not the const \(JSONSerializer.string(c).prefix(100))")
        }
        switch v {
        case .int, .double: try checkNumber(v, o, path)
        case .string(let str): try checkString(str, o, path)
        case .array(let items): seen.merge(try checkArray(items, o, path.container, depth, here))
        case .object(let members): seen.merge(try checkObject(members, o, path.container, depth, here))
        default: break
        }
        if o.present & SchemaKeyword.composition != 0 { seen.merge(try checkComposition(v, o, path, depth, here)) }
        // unevaluated* come last: they see what every other keyword evaluated.
        if tracking {
            if case .array(let items) = v, let u = o[.unevaluatedItems], !seen.allItems {
                for i in seen.items..<max(seen.items, items.count) where !seen.evaluated(item: i) {
                    _ = try check(items[i], against: u, at: path.appending(i), depth: depth + 1, base: here)
                }
                seen.allItems = true
            }
            if case .object(let members) = v, let u = o[.unevaluatedProperties], !seen.allProperties {
                for m in members.members where !seen.evaluated(property: m.key) {
                    _ = try check(m.value, against: u, at: path.appending(m.key), depth: depth + 1, base: here)
                }
                seen.allProperties = true
            }
        }
        return seen
    }

    /// Follows a `$ref` (or `$dynamicRef`) resolved when the schema was made.
    private mutating func follow(_ r: String, dynamic: Bool, _ v: JSONValue, _ path: InstancePath, _ depth: Int,
                                 _ here: String) throws(JSONSchemaError) -> Evaluated
    {
        let refKey = here + "\u{0}" + r
        guard var target = document.refs[refKey] else {
            throw JSONSchemaError(.unresolvedRef, instancePath: path.text, keyword: dynamic ? "$dynamicRef" : "$ref",
                                  message: "\"\(r.prefix(200))\" does not resolve in this schema")
        }
        // $dynamicRef to a $dynamicAnchor: the outermost resource in the
        // dynamic scope that declares the same anchor wins.
        if dynamic, let name = document.dynamicNames[refKey] {
            for uri in [""] + scope {
                if let t = document.dynamicAnchors[uri + "#" + name] {
                    target = t
                    break
                }
            }
        }
        let key = refKey + "\u{0}" + path.text + (dynamic ? "\u{0}d" : "")
        guard following.insert(key).inserted else {
            throw JSONSchemaError(.refCycle, instancePath: path.text, keyword: dynamic ? "$dynamicRef" : "$ref",
                                  message: "\"\(r.prefix(200))\" leads back to itself without consuming any of the value")
        }
        defer { following.remove(key) }
        // Entering another resource extends the dynamic scope; a target with
        // its own $id is that resource (check adds it), not its parent.
        let ownResource = target.node["$id"]?.stringValue != nil
        let entered = !ownResource && target.base != (scope.last ?? "")
        if entered { scope.append(target.base) }
        defer { if entered { scope.removeLast() } }
        return try check(v, against: target.node, at: path, depth: depth + 1, base: target.base)
    }

    // MARK: kinds

    private func checkType(_ v: JSONValue, _ o: SchemaObject, _ path: InstancePath) throws(JSONSchemaError) {
        if let allowed = o.types {
            if !allowed.isDisjoint(with: JSONTypes(of: v)) { return }
        } else if !o.has(.typeKeyword) {
            return
        }
        guard let t = o[.typeKeyword] else { return }
        let names: [String]
        switch t {
        case .string(let n):
            // The common case, without an array.
            if Self.isOfType(v, n) { return }
            names = [n]
        case .array(let a):
            names = a.compactMap(\.stringValue)
            guard names.count == a.count else { throw invalid(path, "type", "must be a string or an array of strings") }
        default: throw invalid(path, "type", "must be a string or an array of strings")
        }
        for n in names where Self.isOfType(v, n) { return }
        throw fail(path, "type", "expected \(names.joined(separator: " or ")), got \(Self.typeName(v))")
    }

    static func isOfType(_ v: JSONValue, _ name: String) -> Bool {
        switch (name, v) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object),
             ("number", .int), ("number", .double), ("integer", .int):
            return true
        case ("integer", .double(let d)): return d.rounded() == d && d.isFinite
        default: return false
        }
    }

    static func typeName(_ v: JSONValue) -> String {
        switch v {
        case .int: return "integer"
        case .double(let d): return d.rounded() == d && d.isFinite ? "integer" : "number"
        default: return v.kindName
        }
    }

    private func checkNumber(_ v: JSONValue, _ o: SchemaObject, _ path: InstancePath) throws(JSONSchemaError) {
        guard o.present & SchemaKeyword.numeric != 0, let x = JSONSchema.number(v) else { return }
        func text() -> String { JSONSerializer.string(v) }
        func bound(_ key: SchemaKeyword) throws(JSONSchemaError) -> Double? {
            guard let b = o[key] else { return nil }
            guard let n = JSONSchema.number(b) else { throw invalid(path, key.name, "must be a number") }
            return n
        }
        /// The bound as the schema wrote it (600000, not 600000.0).
        func shown(_ key: SchemaKeyword) -> String { o[key].map { JSONSerializer.string($0) } ?? "" }
        if let m = try bound(.minimum), x < m { throw fail(path, "minimum", "\(text()) is less than the minimum \(shown(.minimum))") }
        if let m = try bound(.maximum), x > m { throw fail(path, "maximum", "\(text()) is more than the maximum \(shown(.maximum))") }
        if let m = try bound(.exclusiveMinimum), x <= m {
            throw fail(path, "exclusiveMinimum", "\(text()) is not more than \(shown(.exclusiveMinimum))")
        }
        if let m = try bound(.exclusiveMaximum), x >= m {
            throw fail(path, "exclusiveMaximum", "\(text()) is not less than \(shown(.exclusiveMaximum))")
        }
        if let m = try bound(.multipleOf) {
            guard m > 0 else { throw invalid(path, "multipleOf", "must be more than 0") }
            let ok: Bool
            if case .int(let i) = v, case .int(let d)? = o[.multipleOf] {
                ok = i % d == 0
            } else {
                let q = x / m
                ok = q.isFinite && abs(q - q.rounded()) < 1e-9 * max(1, abs(q))
            }
            if !ok { throw fail(path, "multipleOf", "\(text()) is not a multiple of \(shown(.multipleOf))") }
        }
    }

    private func checkString(_ s: String, _ o: SchemaObject, _ path: InstancePath) throws(JSONSchemaError) {
        guard o.present & SchemaKeyword.textual != 0 else { return }
        // Length counts code points (RFC 8259 characters), not UTF-16 units or graphemes.
        let needsLength = o.has(.minLength) || o.has(.maxLength)
        let length = needsLength ? Self.codePoints(s) : 0
        if let m = try count(o, .minLength, path), length < m {
            throw fail(path, "minLength", "the string has \(length) characters, fewer than minLength \(m)")
        }
        if let m = try count(o, .maxLength, path), length > m {
            throw fail(path, "maxLength", "the string has \(length) characters, more than maxLength \(m)")
        }
        if let p = o[.pattern] {
            guard case .string(let pattern) = p else { throw invalid(path, "pattern", "must be a string") }
            if try !Self.search(pattern, in: s, path: path) {
                throw fail(path, "pattern", "the string does not match the pattern \(pattern.prefix(100))")
            }
        }
    }

    /// The number of code points: UTF-8 bytes that do not continue a sequence
    /// (a third of the cost of unicodeScalars.count on short strings).
    static func codePoints(_ s: String) -> Int {
        var s = s
        return s.withUTF8 { bytes in
            var n = 0
            for b in bytes where b & 0xC0 != 0x80 { n += 1 }
            return n
        }
    }

    /// An unanchored regular-expression search (JSON Schema patterns are
    /// ECMA-262; the common subset reads the same in Swift's syntax).
    static func search(_ pattern: String, in s: String, path: InstancePath) throws(JSONSchemaError) -> Bool {
        let regex: Regex<AnyRegexOutput>
        do {
            regex = try Regex(pattern)
        } catch {
            throw JSONSchemaError(.invalidSchema, instancePath: path.text, keyword: "pattern",
                                  message: "\(pattern.prefix(100)) is not a regular expression this checker reads")
        }
        return s.contains(regex)
    }

    // MARK: containers

    private mutating func checkArray(_ items: [JSONValue], _ o: SchemaObject, _ path: InstancePath, _ depth: Int,
                                     _ base: String) throws(JSONSchemaError) -> Evaluated
    {
        var seen = Evaluated()
        if let m = try count(o, .minItems, path), items.count < m {
            throw fail(path, "minItems", "the array has \(items.count) items, fewer than minItems \(m)")
        }
        if let m = try count(o, .maxItems, path), items.count > m {
            throw fail(path, "maxItems", "the array has \(items.count) items, more than maxItems \(m)")
        }
        var prefix = 0
        if let p = o[.prefixItems] {
            guard case .array(let schemas) = p else { throw invalid(path, "prefixItems", "must be an array") }
            prefix = min(schemas.count, items.count)
            for i in 0..<prefix {
                _ = try check(items[i], against: schemas[i], at: path.appending(i), depth: depth + 1, base: base)
            }
            seen.items = prefix
        }
        if let each = o[.items], prefix < items.count {
            for i in prefix..<items.count {
                _ = try check(items[i], against: each, at: path.appending(i), depth: depth + 1, base: base)
            }
            seen.allItems = true
        }
        if let c = o[.contains] {
            var found = 0
            for (i, item) in items.enumerated() {
                guard try passes(item, c, path.appending(i), depth, base) != nil else { continue }
                found += 1
                if tracking { seen.record(item: i) }
            }
            let least = try count(o, .minContains, path) ?? 1
            if found < least {
                throw fail(path, "contains", "\(found) items match contains, fewer than \(least)")
            }
            if let most = try count(o, .maxContains, path), found > most {
                throw fail(path, "maxContains", "\(found) items match contains, more than maxContains \(most)")
            }
        }
        if o[.uniqueItems]?.boolValue == true {
            for i in items.indices {
                for j in items.indices where j > i && JSONSchema.equal(items[i], items[j]) {
                    throw fail(path.appending(j), "uniqueItems", "the item repeats item \(i)")
                }
            }
        }
        return seen
    }

    private mutating func checkObject(_ members: JSONObject, _ o: SchemaObject, _ path: InstancePath, _ depth: Int,
                                      _ base: String) throws(JSONSchemaError) -> Evaluated
    {
        var seen = Evaluated()
        if let r = o[.required] {
            guard case .array(let names) = r else { throw invalid(path, "required", "must be an array") }
            for case .string(let n) in names where members[n] == nil {
                throw fail(path.appending(n), "required", "the required property \"\(n.prefix(100))\" is missing")
            }
        }
        if let m = try count(o, .minProperties, path), members.count < m {
            throw fail(path, "minProperties", "the object has \(members.count) properties, fewer than minProperties \(m)")
        }
        if let m = try count(o, .maxProperties, path), members.count > m {
            throw fail(path, "maxProperties", "the object has \(members.count) properties, more than maxProperties \(m)")
        }
        if case .object(let deps)? = o[.dependentRequired] {
            for d in deps.members where members[d.key] != nil {
                for case .string(let n) in d.value.arrayValue ?? [] where members[n] == nil {
                    throw fail(path.appending(n), "dependentRequired",
                               "\"\(n.prefix(100))\" is required when \"\(d.key.prefix(100))\" is present")
                }
            }
        }
        let properties = o[.properties]?.objectValue
        if o[.properties] != nil, properties == nil { throw invalid(path, "properties", "must be an object") }
        let patterns = o[.patternProperties]?.objectValue
        let extra = o[.additionalProperties]
        for m in members.members {
            let at = path.appending(m.key)
            var matched = false
            if let sub = properties?[m.key] {
                matched = true
                _ = try check(m.value, against: sub, at: at, depth: depth + 1, base: base)
            }
            for p in patterns?.members ?? [] {
                guard try Self.search(p.key, in: m.key, path: path) else { continue }
                matched = true
                _ = try check(m.value, against: p.value, at: at, depth: depth + 1, base: base)
            }
            if !matched, let extra {
                if case .bool(false) = extra {
                    throw fail(at, "additionalProperties", "the property \"\(m.key.prefix(100))\" is not allowed")
                }
                _ = try check(m.value, against: extra, at: at, depth: depth + 1, base: base)
                matched = true
            }
            if matched, tracking { seen.record(property: m.key) }
            if let names = o[.propertyNames] {
                _ = try check(.string(m.key), against: names, at: at, depth: depth + 1, base: base)
            }
        }
        if case .object(let deps)? = o[.dependentSchemas] {
            for d in deps.members where members[d.key] != nil {
                seen.merge(try check(.object(members), against: d.value, at: path, depth: depth + 1, base: base))
            }
        }
        return seen
    }

    // MARK: composition

    private mutating func checkComposition(_ v: JSONValue, _ o: SchemaObject, _ path: InstancePath, _ depth: Int,
                                           _ base: String) throws(JSONSchemaError) -> Evaluated
    {
        var seen = Evaluated()
        if let a = o[.allOf] {
            for sub in try list(a, "allOf", path) {
                seen.merge(try check(v, against: sub, at: path, depth: depth + 1, base: base))
            }
        }
        if let a = o[.anyOf] {
            let subs = try list(a, "anyOf", path)
            var first: JSONSchemaError?
            var ok = false
            for sub in subs {
                do throws(JSONSchemaError) {
                    seen.merge(try check(v, against: sub, at: path, depth: depth + 1, base: base))
                    ok = true
                    // Every branch's annotations count when unevaluated* will read them.
                    if !tracking { break }
                } catch {
                    guard error.kind == .violation else { throw error }
                    if first == nil { first = error }
                }
            }
            if !ok {
                throw fail(path, "anyOf", "the value matches none of the \(subs.count) anyOf alternatives"
                    + (first.map { " (the first: \($0.description))" } ?? ""))
            }
        }
        if let a = o[.oneOf] {
            let subs = try list(a, "oneOf", path)
            var matching = 0
            for sub in subs {
                if let e = try passes(v, sub, path, depth, base) {
                    matching += 1
                    seen.merge(e)
                }
            }
            if matching != 1 {
                throw fail(path, "oneOf", "the value matches \(matching) of the \(subs.count) oneOf alternatives; exactly one must match")
            }
        }
        if let n = o[.notKeyword], try passes(v, n, path, depth, base) != nil {
            throw fail(path, "not", "the value matches a schema it must not match")
        }
        if let cond = o[.ifKeyword] {
            if let e = try passes(v, cond, path, depth, base) {
                seen.merge(e)
                if let t = o[.thenKeyword] { seen.merge(try check(v, against: t, at: path, depth: depth + 1, base: base)) }
            } else if let e = o[.elseKeyword] {
                seen.merge(try check(v, against: e, at: path, depth: depth + 1, base: base))
            }
        }
        return seen
    }

    /// What a subschema evaluated if the value passes it, nil if not; schema
    /// problems still throw.
    private mutating func passes(_ v: JSONValue, _ s: JSONValue, _ path: InstancePath, _ depth: Int, _ base: String)
        throws(JSONSchemaError) -> Evaluated?
    {
        do throws(JSONSchemaError) {
            return try check(v, against: s, at: path, depth: depth + 1, base: base)
        } catch {
            guard error.kind == .violation else { throw error }
            return nil
        }
    }

    // MARK: helpers

    private func list(_ v: JSONValue, _ keyword: String, _ path: InstancePath) throws(JSONSchemaError) -> [JSONValue] {
        guard case .array(let a) = v, !a.isEmpty else { throw invalid(path, keyword, "must be a non-empty array") }
        return a
    }

    private func count(_ o: SchemaObject, _ key: SchemaKeyword, _ path: InstancePath) throws(JSONSchemaError) -> Int? {
        guard let v = o[key] else { return nil }
        guard let i = v.intValue, i >= 0 else { throw invalid(path, key.name, "must be a non-negative integer") }
        return Int(clamping: i)
    }

    private func fail(_ path: InstancePath, _ keyword: String, _ message: String) -> JSONSchemaError {
        JSONSchemaError(.violation, instancePath: path.text, keyword: keyword, message: message)
    }

    private func invalid(_ path: InstancePath, _ keyword: String, _ message: String) -> JSONSchemaError {
        JSONSchemaError(.invalidSchema, instancePath: path.text, keyword: keyword, message: "\(keyword) \(message)")
    }
}

extension JSONSchema {
    /// JSON equality as JSON Schema means it: numbers by value (1 == 1.0),
    /// objects regardless of member order.
    public static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        case (.int, .double), (.double, .int), (.double, .double): return number(a) == number(b)
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.members.allSatisfy { m in y[m.key].map { equal(m.value, $0) } ?? false }
        default: return a == b
        }
    }

    static func number(_ v: JSONValue) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
}
