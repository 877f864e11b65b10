/// An RFC 6570 level-1 URI template: literal text with `{name}` expressions.
/// A variable matches one or more characters other than '/'.
public struct URITemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case literal([UInt8])
        case variable(String)
    }

    public let text: String
    let parts: [Part]
    public var variableNames: [String] {
        parts.compactMap { if case .variable(let n) = $0 { return n } else { return nil } }
    }

    public struct SyntaxError: Error, Sendable { public var message: String }

    public init(_ text: String) throws(SyntaxError) {
        self.text = text
        var parts: [Part] = []
        var literal: [UInt8] = []
        var it = Array(text.utf8)[...]
        var names = Set<String>()
        while let c = it.popFirst() {
            if c == UInt8(ascii: "}") { throw SyntaxError(message: "Unmatched '}' in URI template") }
            guard c == UInt8(ascii: "{") else {
                literal.append(c)
                continue
            }
            guard let close = it.firstIndex(of: UInt8(ascii: "}")) else {
                throw SyntaxError(message: "Unclosed '{' in URI template")
            }
            let name = String(decoding: it[it.startIndex..<close], as: UTF8.self)
            it = it[(close + 1)...]
            let valid = !name.isEmpty && name.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F
            }
            guard valid else {
                throw SyntaxError(message: "Unsupported expression {\(name)}: only level-1 {name} variables")
            }
            guard names.insert(name).inserted else { throw SyntaxError(message: "Variable {\(name)} appears twice") }
            if case .variable = parts.last, literal.isEmpty {
                throw SyntaxError(message: "Two variables need literal text between them")
            }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = []
            parts.append(.variable(name))
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    /// The variables if `uri` matches, else nil.
    public func match(_ uri: String) -> [(name: String, value: String)]? {
        let bytes = Array(uri.utf8)
        var vars: [(String, String)] = []
        return Self.match(parts[...], bytes[...], &vars) ? vars : nil
    }

    private static func match(_ parts: ArraySlice<Part>, _ s: ArraySlice<UInt8>, _ vars: inout [(String, String)]) -> Bool {
        guard let first = parts.first else { return s.isEmpty }
        switch first {
        case .literal(let lit):
            guard s.starts(with: lit) else { return false }
            return match(parts.dropFirst(), s.dropFirst(lit.count), &vars)
        case .variable(let name):
            // Variables stop at '/', so try each possible end inside the segment.
            var end = s.startIndex
            while end < s.endIndex, s[end] != UInt8(ascii: "/") {
                end += 1
                let saved = vars.count
                vars.append((name, String(decoding: s[s.startIndex..<end], as: UTF8.self)))
                if match(parts.dropFirst(), s[end...], &vars) { return true }
                vars.removeSubrange(saved...)
            }
            return false
        }
    }
}
