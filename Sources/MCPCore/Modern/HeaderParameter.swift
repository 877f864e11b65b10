/// A tool parameter mirrored into an HTTP header (`x-mcp-header` in its
/// schema, 2026-07-28): the header is `Mcp-Param-{name}`, its value the
/// argument at `path` (a chain of `properties` keys from the schema root).
public struct HeaderParameter: Sendable, Equatable {
    public enum Kind: String, Sendable { case string, integer, boolean }

    public let name: String
    public let path: [String]
    public let kind: Kind

    /// The annotated parameters of an inputSchema, or why the annotations
    /// make the tool invalid (the spec's constraints: a token name, unique
    /// without case, only on string/integer/boolean properties reachable
    /// through `properties` alone).
    static func collect(from schema: JSONObject) throws(DefinitionError) -> [HeaderParameter] {
        var found: [HeaderParameter] = []
        try walk(schema, path: [], reachable: true, into: &found)
        var seen: Set<String> = []
        for p in found {
            guard seen.insert(p.name.lowercased()).inserted else {
                throw .invalid("x-mcp-header \"\(p.name)\" is used twice (names are compared without case)")
            }
        }
        return found
    }

    private static func walk(_ schema: JSONObject, path: [String], reachable: Bool,
                             into found: inout [HeaderParameter]) throws(DefinitionError)
    {
        for member in schema.members {
            switch member.key {
            case "x-mcp-header":
                guard reachable, !path.isEmpty else {
                    throw .invalid("x-mcp-header is allowed only on a property reached through \"properties\" alone")
                }
                guard let name = member.value.stringValue, isToken(name) else {
                    throw .invalid("x-mcp-header must be an HTTP header name token (at \(path.joined(separator: ".")))")
                }
                guard let type = schema["type"]?.stringValue, let kind = Kind(rawValue: type) else {
                    throw .invalid("x-mcp-header \"\(name)\" must annotate a string, integer or boolean property")
                }
                found.append(HeaderParameter(name: name, path: path, kind: kind))
            case "properties":
                guard let props = member.value.objectValue else { continue }
                for p in props.members {
                    if let sub = p.value.objectValue { try walk(sub, path: path + [p.key], reachable: reachable, into: &found) }
                }
            default:
                // Anything else (items, anyOf, $defs...) may not hold an annotation.
                try scan(member.value, into: &found)
            }
        }
    }

    private static func scan(_ value: JSONValue, into found: inout [HeaderParameter]) throws(DefinitionError) {
        switch value {
        case .object(let o):
            if o["x-mcp-header"] != nil {
                throw .invalid("x-mcp-header is allowed only on a property reached through \"properties\" alone")
            }
            for m in o.members { try scan(m.value, into: &found) }
        case .array(let a):
            for v in a { try scan(v, into: &found) }
        default:
            break
        }
    }

    /// RFC 9110 token characters.
    static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { b in
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "A")...UInt8(ascii: "Z"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(b)
            }
        }
    }

    /// The argument this header mirrors; nil when absent or null (then the
    /// header is not expected).
    func value(in arguments: JSONObject) -> JSONValue? {
        var current: JSONValue = .object(arguments)
        for key in path {
            guard let next = current.objectValue?[key] else { return nil }
            current = next
        }
        return current.isNull ? nil : current
    }
}
