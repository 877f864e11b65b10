/// The `x-mcp-header` rules of Streamable HTTP at the modern revision
/// (SEP-2243, streamable-http.mdx "Custom Headers from Tool Parameters"):
/// which tool parameters are mirrored into `Mcp-Param-{Name}` headers, whether
/// a tool's annotations are valid at all, and how a value is encoded for a
/// header. Pure functions, so the transport and the tests share them.
public enum ToolHeaders {
    /// One annotated parameter: the chain of `properties` keys that leads to
    /// it from the schema root, and the header name part.
    public struct Parameter: Sendable, Equatable {
        public var path: [String]
        public var name: String
    }

    /// Why a tool definition is refused.
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// The annotated parameters of a tool's inputSchema, or why the tool is
    /// invalid: an empty name, a name that is not an HTTP token, a name used
    /// twice (case-insensitively), an annotation on a parameter that is not a
    /// string, integer or boolean, or one that is not reachable from the root
    /// by `properties` keys alone (through items, oneOf, $ref, ...).
    public static func parameters(of inputSchema: JSONValue?) throws(Invalid) -> [Parameter] {
        var found: [Parameter] = []
        guard let inputSchema else { return found }
        try visit(inputSchema, path: [], reachable: true, into: &found)
        var seen = Set<String>()
        for p in found where !seen.insert(p.name.lowercased()).inserted {
            throw Invalid(description: "x-mcp-header \"\(p.name)\" is used more than once (names are case-insensitive)")
        }
        return found
    }

    /// Members whose values are instance data, not schemas: an `x-mcp-header`
    /// key inside them is data and means nothing.
    private static let dataKeywords: Set<String> = ["default", "const", "enum", "examples"]

    private static func visit(_ schema: JSONValue, path: [String], reachable: Bool,
                              into found: inout [Parameter]) throws(Invalid)
    {
        switch schema {
        case .array(let items):
            for item in items { try visit(item, path: path, reachable: false, into: &found) }
        case .object(let o):
            if let annotation = o["x-mcp-header"] {
                let at = path.isEmpty ? "the schema root" : "parameter \"\(path.joined(separator: "."))\""
                guard reachable, !path.isEmpty else {
                    throw Invalid(description: "x-mcp-header on \(at) is not reachable from the root through properties alone")
                }
                guard case .string(let name) = annotation, !name.isEmpty else {
                    throw Invalid(description: "x-mcp-header on \(at) must be a non-empty string")
                }
                guard name.utf8.allSatisfy(isTokenChar) else {
                    throw Invalid(description: "x-mcp-header \"\(name)\" is not an HTTP field-name token")
                }
                guard case .string(let type)? = o["type"], ["string", "integer", "boolean"].contains(type) else {
                    throw Invalid(description: "x-mcp-header \"\(name)\" is on \(at), which is not of type string, integer or boolean")
                }
                found.append(Parameter(path: path, name: name))
            }
            for m in o.members where !dataKeywords.contains(m.key) && m.key != "x-mcp-header" {
                if m.key == "properties", case .object(let props) = m.value {
                    for p in props.members {
                        try visit(p.value, path: path + [p.key], reachable: reachable, into: &found)
                    }
                } else {
                    try visit(m.value, path: path, reachable: false, into: &found)
                }
            }
        default:
            break
        }
    }

    /// RFC 9110 tchar.
    static func isTokenChar(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            || "!#$%&'*+-.^_`|~".utf8.contains(c)
    }

    /// The `Mcp-Param-*` headers for one call: a parameter with no value (or
    /// null) at its path gets no header; strings go as they are, integers in
    /// decimal, booleans as true/false, each encoded by `encode`.
    public static func headers(for parameters: [Parameter], arguments: JSONValue?) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        for p in parameters {
            var v: JSONValue? = arguments
            for key in p.path { v = v?[key] }
            let text: String
            switch v {
            case .string(let s)?: text = s
            case .int(let i)?: text = String(i)
            case .bool(let b)?: text = b ? "true" : "false"
            case .double(let d)? where d.rounded() == d && abs(d) < 9.007_199_254_740_992e15: text = String(Int64(d))
            default: continue
            }
            out.append((name: "Mcp-Param-" + p.name, value: encode(text)))
        }
        return out
    }

    /// A value as an HTTP header carries it: as it is when it is visible ASCII
    /// and spaces with no space at either end; otherwise (and when it looks
    /// like the sentinel itself) `=?base64?{UTF-8 in base64}?=`.
    public static func encode(_ value: String) -> String {
        let bytes = Array(value.utf8)
        let plain = bytes.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
            && bytes.first != 0x20 && bytes.last != 0x20
            && !(value.hasPrefix("=?base64?") && value.hasSuffix("?="))
        if plain { return value }
        return "=?base64?" + bytes.withUnsafeBytes { Base64.encode($0) } + "?="
    }
}
