/// RFC 3986 reference resolution (section 5.2), just what `$id` and `$ref`
/// need: a schema's identifiers are names here, never addresses to fetch.
enum URIReference {
    struct Parts {
        var scheme: Substring?
        var authority: Substring?
        var path: Substring = ""
        var query: Substring?
        var fragment: Substring?
    }

    static func parse(_ s: String) -> Parts {
        var p = Parts()
        var rest = Substring(s)
        if let hash = rest.firstIndex(of: "#") {
            p.fragment = rest[rest.index(after: hash)...]
            rest = rest[..<hash]
        }
        if let q = rest.firstIndex(of: "?") {
            p.query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        if let colon = rest.firstIndex(of: ":"), colon != rest.startIndex,
            rest[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }),
            rest[..<colon].first?.isLetter == true, !rest[..<colon].contains("/")
        {
            p.scheme = rest[..<colon]
            rest = rest[rest.index(after: colon)...]
        }
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            let end = rest.firstIndex(of: "/") ?? rest.endIndex
            p.authority = rest[..<end]
            rest = rest[end...]
        }
        p.path = rest
        return p
    }

    static func format(_ p: Parts) -> String {
        var out = ""
        if let s = p.scheme { out += s + ":" }
        if let a = p.authority { out += "//" + a }
        out += p.path
        if let q = p.query { out += "?" + q }
        if let f = p.fragment { out += "#" + f }
        return out
    }

    /// `ref` resolved against `base` (both may be relative; an empty base
    /// leaves relative references relative).
    static func resolve(_ ref: String, against base: String) -> String {
        let r = parse(ref)
        let b = parse(base)
        var t = Parts()
        if r.scheme != nil {
            t = r
            t.path = Substring(removeDots(String(r.path)))
        } else if r.authority != nil {
            t = r
            t.scheme = b.scheme
            t.path = Substring(removeDots(String(r.path)))
        } else {
            t.scheme = b.scheme
            t.authority = b.authority
            if r.path.isEmpty {
                t.path = b.path
                t.query = r.query ?? b.query
            } else {
                if r.path.hasPrefix("/") {
                    t.path = Substring(removeDots(String(r.path)))
                } else {
                    t.path = Substring(removeDots(merge(b, r.path)))
                }
                t.query = r.query
            }
            t.fragment = r.fragment
        }
        return format(t)
    }

    private static func merge(_ base: Parts, _ path: Substring) -> String {
        if base.authority != nil, base.path.isEmpty { return "/" + path }
        guard let slash = base.path.lastIndex(of: "/") else { return String(path) }
        return String(base.path[...slash]) + path
    }

    private static func removeDots(_ path: String) -> String {
        guard path.contains(".") else { return path }
        var out: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        for (i, seg) in segments.enumerated() {
            let last = i == segments.count - 1
            switch seg {
            case ".":
                if last { out.append("") }
            case "..":
                if out.count > 1 || (out.count == 1 && !out[0].isEmpty) { out.removeLast() }
                if last { out.append("") }
            default:
                out.append(seg)
            }
        }
        return out.joined(separator: "/")
    }

    /// The reference without its fragment, and the fragment ("" when none).
    static func split(_ uri: String) -> (String, String) {
        guard let hash = uri.firstIndex(of: "#") else { return (uri, "") }
        return (String(uri[..<hash]), String(uri[uri.index(after: hash)...]))
    }
}
