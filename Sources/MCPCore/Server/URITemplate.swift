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

    /// The variables if `uri` matches, else nil. Each variable takes the
    /// shortest value that lets the rest match (so "{name}.{ext}" splits
    /// "archive.tar.gz" as "archive" and "tar.gz").
    ///
    /// Time linear in the URI's length times the template's parts, memory one
    /// bit per byte and part: which parts can match from which byte, found
    /// from the end, rather than trying every split (exponential in the
    /// variables: a 400-byte URI against "x://{a}-{b}-{c}-{d}!" held a worker
    /// for minutes).
    public func match(_ uri: String) -> [(name: String, value: String)]? {
        let s = Array(uri.utf8)
        let n = s.count
        // from[i]: the positions q where parts[i...] match s[q...].
        var from = [BitSet](repeating: BitSet(count: n + 1), count: parts.count + 1)
        from[parts.count].insert(n)
        for i in stride(from: parts.count - 1, through: 0, by: -1) {
            var here = BitSet(count: n + 1)
            switch parts[i] {
            case .literal(let lit):
                for p in 0...n where p + lit.count <= n && from[i + 1].contains(p + lit.count)
                    && s[p..<(p + lit.count)].elementsEqual(lit)
                {
                    here.insert(p)
                }
            case .variable:
                // One or more bytes, none of them '/': the rest must match at
                // some q in p+1 ... (the first '/' at or after p, or n).
                var nearest = Int.max  // the smallest q > p where the rest matches
                var segmentEnd = n
                for p in stride(from: n - 1, through: 0, by: -1) {
                    if from[i + 1].contains(p + 1) { nearest = p + 1 }
                    if s[p] == UInt8(ascii: "/") { segmentEnd = p }
                    if nearest <= segmentEnd { here.insert(p) }
                }
            }
            from[i] = here
        }
        guard from[0].contains(0) else { return nil }
        var vars: [(name: String, value: String)] = []
        var p = 0
        for (i, part) in parts.enumerated() {
            switch part {
            case .literal(let lit): p += lit.count
            case .variable(let name):
                var end = p + 1
                while !from[i + 1].contains(end) { end += 1 }
                vars.append((name, String(decoding: s[p..<end], as: UTF8.self)))
                p = end
            }
        }
        return vars
    }
}

/// A fixed set of small integers, one bit each (URITemplate.match).
private struct BitSet {
    private var words: [UInt64]

    init(count: Int) { words = [UInt64](repeating: 0, count: (count + 63) / 64) }

    func contains(_ i: Int) -> Bool { words[i >> 6] & (1 << UInt64(i & 63)) != 0 }

    mutating func insert(_ i: Int) { words[i >> 6] |= 1 << UInt64(i & 63) }
}
