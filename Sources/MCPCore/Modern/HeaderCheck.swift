/// The Streamable HTTP checks of a 2026-07-28 POST that compare headers with
/// the body (HeaderMismatch, -32020): `Mcp-Method`, `Mcp-Name`,
/// `MCP-Protocol-Version` against `_meta`, and the `Mcp-Param-*` headers of
/// tools whose parameters carry `x-mcp-header`. Pure: the transport hands
/// the headers in through a lookup (names without case) and answers 400.
public enum HeaderCheck {
    /// nil when the headers agree with the request, else the -32020 error.
    public static func validate(method: String, params: JSONObject?, server: ServerCore,
                                header: (String) -> String?) -> JSONRPCError?
    {
        guard let m = header("mcp-method") else { return .headerMismatch("the Mcp-Method header is required") }
        guard m.trimmingOWS() == method else {
            return .headerMismatch("Mcp-Method header value '\(m)' does not match body method '\(method)'")
        }
        guard let v = header("mcp-protocol-version") else {
            return .headerMismatch("the MCP-Protocol-Version header is required")
        }
        if let bodyVersion = params?["_meta"]?[ModernContext.protocolVersionKey]?.stringValue,
           v.trimmingOWS() != bodyVersion
        {
            return .headerMismatch("MCP-Protocol-Version header value '\(v)' does not match "
                + "\(ModernContext.protocolVersionKey) '\(bodyVersion)' in the body")
        }
        let nameKey: String?
        switch method {
        case "tools/call", "prompts/get": nameKey = "name"
        case "resources/read": nameKey = "uri"
        // The tasks extension routes its methods by task id (SEP-2663).
        case "tasks/get", "tasks/update", "tasks/cancel": nameKey = "taskId"
        default: nameKey = nil
        }
        if let nameKey, let bodyName = params?[nameKey]?.stringValue {
            guard let raw = header("mcp-name") else {
                return .headerMismatch("the Mcp-Name header is required for \(method)")
            }
            guard let decoded = decode(raw) else {
                return .headerMismatch("Mcp-Name header value is not a valid header value")
            }
            guard decoded == bodyName else {
                return .headerMismatch("Mcp-Name header value '\(decoded)' does not match body value '\(bodyName)'")
            }
        }
        if method == "tools/call", let name = params?["name"]?.stringValue {
            let parameters = server.headerParameters(ofTool: name)
            if parameters.isEmpty { return nil }
            let arguments = params?["arguments"]?.objectValue ?? JSONObject()
            for p in parameters {
                if let error = check(p, arguments: arguments, header: header) { return error }
            }
        }
        return nil
    }

    private static func check(_ p: HeaderParameter, arguments: JSONObject,
                              header: (String) -> String?) -> JSONRPCError?
    {
        let headerName = "Mcp-Param-\(p.name)"
        guard let value = p.value(in: arguments) else { return nil }
        guard let raw = header(headerName.lowercased()) else {
            return .headerMismatch("the \(headerName) header is required: the argument it mirrors is present")
        }
        guard let text = decode(raw) else { return .headerMismatch("\(headerName) is not a valid header value") }
        let agrees: Bool
        switch (p.kind, value) {
        case (.string, .string(let s)): agrees = text == s
        case (.boolean, .bool(let b)): agrees = text == (b ? "true" : "false")
        case (.integer, _):
            // Compared as numbers: "42" and 42.0 agree.
            agrees = value.intValue != nil && parseInteger(text) == value.intValue
        default: agrees = false
        }
        return agrees ? nil : .headerMismatch("\(headerName) header value '\(text)' does not match the argument in the body")
    }

    private static func parseInteger(_ text: String) -> Int64? {
        if let i = Int64(text) { return i }
        guard let d = Double(text), d.rounded() == d, abs(d) < 9.0e15 else { return nil }
        return Int64(d)
    }

    /// A header value as the client meant it: blanks around it dropped (RFC
    /// 9110 field parsing), the `=?base64?...?=` form decoded; nil when it
    /// holds characters a header may not, or bad base64 or UTF-8.
    static func decode(_ raw: String) -> String? {
        let v = raw.trimmingOWS()
        guard v.utf8.allSatisfy({ $0 == 0x09 || (0x20...0x7E).contains($0) }) else { return nil }
        let prefix = "=?base64?"
        let suffix = "?="
        guard v.hasPrefix(prefix), v.hasSuffix(suffix), v.utf8.count >= prefix.utf8.count + suffix.utf8.count else {
            return v
        }
        let body = v.dropFirst(prefix.count).dropLast(suffix.count)
        guard let bytes = Base64.decode(body) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}

extension String {
    /// Without the optional white space around it; most header values have
    /// none and come back as they are (no Substring, no new String: the
    /// StringProtocol form below cost ~350 instructions a value).
    public func trimmingOWS() -> String {
        guard let first = utf8.first, let last = utf8.last else { return "" }
        if first != 0x20, first != 0x09, last != 0x20, last != 0x09 { return self }
        return Substring(self).trimmingOWS()
    }
}

extension StringProtocol {
    /// Without the optional white space (blanks and tabs) around it (RFC
    /// 9110 field values; no Foundation in the engine).
    public func trimmingOWS() -> String {
        // Most header values have none: no Substring walk for them.
        var s = Substring(self)
        guard let first = s.utf8.first, let last = s.utf8.last else { return "" }
        if first != 0x20, first != 0x09, last != 0x20, last != 0x09 { return String(s) }
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

extension Base64 {
    /// RFC 4648 with padding; nil for anything else.
    static func decode(_ text: Substring) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt32? {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(c - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"): return 62
            case UInt8(ascii: "/"): return 63
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            let last = i + 4 == chars.count
            let pad = last ? (chars[i + 3] == UInt8(ascii: "=") ? (chars[i + 2] == UInt8(ascii: "=") ? 2 : 1) : 0) : 0
            var v: UInt32 = 0
            for j in 0..<4 {
                if j >= 4 - pad {
                    v <<= 6
                    continue
                }
                guard let d = value(chars[i + j]) else { return nil }
                v = v << 6 | d
            }
            out.append(UInt8(v >> 16 & 0xFF))
            if pad < 2 { out.append(UInt8(v >> 8 & 0xFF)) }
            if pad < 1 { out.append(UInt8(v & 0xFF)) }
            i += 4
        }
        return out
    }
}
