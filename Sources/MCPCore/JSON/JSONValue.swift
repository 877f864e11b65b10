// A JSON value as the engine sees it. Integers and floating-point numbers are
// kept apart so that ids, counts and sizes survive a round trip exactly, and
// object members keep their order so host definitions are sent back verbatim.

public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

extension JSONValue {
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// Integer view: an integral double such as 30.0 counts as 30.
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d):
            if d.rounded() == d, abs(d) < 9.0e15 { return Int64(d) }
            return nil
        default: return nil
        }
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Member lookup on an object; nil for other kinds or a missing key.
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The kind's name, for error messages.
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

/// An ordered JSON object. Lookups are linear: MCP objects are small, and order
/// must be preserved, which a hash map would not do.
public struct JSONObject: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue
    }

    public private(set) var members: [Member]

    /// Names that appeared more than once in the parsed text (the last value
    /// was kept): JSON-RPC refuses a message whose own members repeat, which
    /// it can only see here. Not part of the value: equality ignores it.
    public private(set) var duplicateKeys: [String] = []

    public init() { members = [] }

    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        members = pairs.map { Member(key: $0.key, value: $0.value) }
    }

    init(uniqueMembers: [Member], duplicateKeys: [String] = []) {
        members = uniqueMembers
        self.duplicateKeys = duplicateKeys
    }

    public static func == (a: JSONObject, b: JSONObject) -> Bool { a.members == b.members }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    public subscript(key: String) -> JSONValue? {
        get {
            guard let i = index(of: key) else { return nil }
            return members[i].value
        }
        set {
            if let i = index(of: key) {
                if let v = newValue { members[i].value = v } else { members.remove(at: i) }
            } else if let v = newValue {
                members.append(Member(key: key, value: v))
            }
        }
    }

    /// Lengths first: they are O(1) to read, and most names in an object
    /// differ in length, so most comparisons never reach the bytes (a
    /// mismatched String == costs ~60 instructions).
    private func index(of key: String) -> Int? {
        let n = key.utf8.count
        return members.withUnsafeBufferPointer { all in
            for i in all.indices where all[i].key.utf8.count == n && all[i].key == key { return i }
            return nil
        }
    }

    mutating func reserve(_ count: Int) { members.reserveCapacity(count) }

    /// Adds a member the caller knows is not there yet (no search).
    mutating func appendAbsent(_ key: String, _ value: JSONValue) {
        members.append(Member(key: key, value: value))
    }

    public mutating func removeValue(forKey key: String) {
        self[key] = nil
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var o = JSONObject()
        o.reserve(elements.count)
        for (k, v) in elements { o[k] = v }
        self = .object(o)
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init()
        members.reserveCapacity(elements.count)
        for (k, v) in elements { self[k] = v }
    }
}
