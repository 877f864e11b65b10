/// `$ref` resolution inside one schema document (SEP-2106): JSON Pointer
/// fragments, `$anchor` names and the root's own `$id`. Anything else is a
/// reference to another document, which is never fetched.
extension JSONSchema {
    func resolve(_ ref: String, at path: String = "") throws(JSONSchemaError) -> JSONValue {
        var r = Substring(ref)
        if let baseID, !baseID.isEmpty, r.hasPrefix(baseID) { r = r.dropFirst(baseID.count) }
        guard r.first == "#" || r.isEmpty else {
            throw JSONSchemaError(.unresolvedRef, instancePath: path, keyword: "$ref",
                                  message: "\"\(ref.prefix(200))\" points outside this schema, and external references are never fetched")
        }
        let fragment = r.dropFirst()
        if fragment.isEmpty { return root }
        guard fragment.first == "/" else {
            guard let target = anchors[String(fragment)] else {
                throw JSONSchemaError(.unresolvedRef, instancePath: path, keyword: "$ref",
                                      message: "\"\(ref.prefix(200))\" names no $anchor in this schema")
            }
            return target
        }
        guard let decoded = Self.percentDecode(fragment.dropFirst()) else {
            throw JSONSchemaError(.unresolvedRef, instancePath: path, keyword: "$ref",
                                  message: "\"\(ref.prefix(200))\" is not a valid URI fragment")
        }
        var node = root
        for token in decoded.split(separator: "/", omittingEmptySubsequences: false) {
            let key = Self.unescape(token)
            switch node {
            case .object(let o) where o[key] != nil:
                node = o[key] ?? .null
            case .array(let a) where Int(key).map({ $0 >= 0 && $0 < a.count }) == true:
                node = a[Int(key) ?? 0]
            default:
                throw JSONSchemaError(.unresolvedRef, instancePath: path, keyword: "$ref",
                                      message: "\"\(ref.prefix(200))\" points at nothing in this schema (no \"\(key.prefix(100))\")")
            }
        }
        switch node {
        case .object, .bool: return node
        default:
            throw JSONSchemaError(.unresolvedRef, instancePath: path, keyword: "$ref",
                                  message: "\"\(ref.prefix(200))\" points at a \(node.kindName), not a schema")
        }
    }

    /// A JSON Pointer token: ~1 is "/", ~0 is "~" (in that order, RFC 6901).
    static func unescape(_ token: Substring) -> String {
        guard token.contains("~") else { return String(token) }
        var out = ""
        var it = token.makeIterator()
        while let c = it.next() {
            guard c == "~" else {
                out.append(c)
                continue
            }
            switch it.next() {
            case "0"?: out.append("~")
            case "1"?: out.append("/")
            case let other?: out.append("~"); out.append(other)
            case nil: out.append("~")
            }
        }
        return out
    }

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
