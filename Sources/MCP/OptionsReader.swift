import CMCP
import MCPCore

/// Reads one JSON options object of the ABI (server and client options, HTTP
/// server config, connect options, stdio options) into the Swift option
/// struct it configures. Each key is claimed by the code that applies it; an
/// absent key leaves the struct's own default in place, so defaults are
/// written once, on the structs. A key nobody claims, or a value of the wrong
/// type or range, is refused with MCP_ERR_INVALID_ARG and a message naming it.
struct OptionsReader {
    private let object: JSONObject
    /// "option" for options objects, "config key" for config_json.
    private let noun: String
    private var claimed: Set<String> = []

    /// Runs `body` over the object `json` holds (NULL: nothing to read), then
    /// refuses any key `body` did not claim. `argument` names the parameter in
    /// errors ("options_json").
    static func read(_ json: UnsafePointer<CChar>?, argument: String, noun: String = "option",
                     _ body: (inout OptionsReader) throws(ABIError) -> Void) throws(ABIError)
    {
        guard let value = try optionalJSON(json, argument) else { return }
        guard case .object(let o) = value else { throw .invalidArgument("\(argument) must be a JSON object") }
        var reader = OptionsReader(object: o, noun: noun)
        try body(&reader)
        for key in o.keys where !reader.claimed.contains(key) {
            throw .invalidArgument("unknown \(noun) \"\(key)\"")
        }
    }

    /// Reads a nested options object (the "auth" member of an HTTP config),
    /// refusing keys `body` does not claim; `prefix` names it in errors ("auth.").
    static func read(object o: JSONObject, noun: String, _ body: (inout OptionsReader) throws(ABIError) -> Void) throws(ABIError) {
        var reader = OptionsReader(object: o, noun: noun)
        try body(&reader)
        for key in o.keys where !reader.claimed.contains(key) {
            throw .invalidArgument("unknown \(noun) \"\(key)\"")
        }
    }

    private init(object: JSONObject, noun: String) {
        self.object = object
        self.noun = noun
    }

    private func invalid(_ key: String, _ what: String) -> ABIError {
        // Config keys have always been named bare; options with the word.
        .invalidArgument(noun == "option" ? "option \"\(key)\" must be \(what)" : "\"\(key)\" must be \(what)")
    }

    /// The raw value of `key`, claimed.
    mutating func value(_ key: String) -> JSONValue? {
        claimed.insert(key)
        return object[key]
    }

    mutating func int(_ key: String, _ range: ClosedRange<Int64>) throws(ABIError) -> Int? {
        guard let v = value(key) else { return nil }
        guard let i = v.intValue, range.contains(i) else {
            throw invalid(key, "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(i)
    }

    /// An integer with no upper bound beyond Int32.max (a count of ms or bytes).
    mutating func int(_ key: String, atLeast low: Int64) throws(ABIError) -> Int? {
        guard let v = value(key) else { return nil }
        guard let i = v.intValue, i >= low, i <= Int64(Int32.max) else {
            throw invalid(key, "an integer >= \(low)")
        }
        return Int(i)
    }

    mutating func string(_ key: String, nonEmpty: Bool = false) throws(ABIError) -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.stringValue, !(nonEmpty && s.isEmpty) else {
            throw invalid(key, nonEmpty ? "a non-empty string" : "a string")
        }
        return s
    }

    mutating func bool(_ key: String) throws(ABIError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v.boolValue else { throw invalid(key, "a boolean") }
        return b
    }

    mutating func object(_ key: String) throws(ABIError) -> JSONObject? {
        guard let v = value(key) else { return nil }
        guard let o = v.objectValue else { throw invalid(key, "an object") }
        return o
    }

    mutating func array(_ key: String) throws(ABIError) -> [JSONValue]? {
        guard let v = value(key) else { return nil }
        guard let a = v.arrayValue else { throw invalid(key, "an array") }
        return a
    }

    mutating func strings(_ key: String) throws(ABIError) -> [String]? {
        guard let v = value(key) else { return nil }
        guard let a = v.arrayValue else { throw invalid(key, "an array of strings") }
        var out: [String] = []
        for item in a {
            guard let s = item.stringValue, !s.isEmpty else { throw invalid(key, "an array of non-empty strings") }
            out.append(s)
        }
        return out
    }

    /// A value `parse` accepts; `expected` says what it must be ("a file path").
    mutating func checked<T>(_ key: String, _ expected: String, _ parse: (JSONValue) -> T?) throws(ABIError) -> T? {
        guard let v = value(key) else { return nil }
        guard let t = parse(v) else { throw invalid(key, expected) }
        return t
    }

    /// One of a fixed set of strings, mapped by `parse`.
    mutating func choice<T>(_ key: String, _ expected: String, _ parse: (String) -> T?) throws(ABIError) -> T? {
        try checked(key, expected) { $0.stringValue.flatMap(parse) }
    }
}
