/// Where in the instance a check is, as a JSON Pointer (RFC 6901) rendered
/// only when something reads it: an error, or a `$ref` cycle key. A value
/// that passes never pays for its pointer; building "/a/b" for every
/// property was 15% of checking a typical tool's arguments
/// (bench/schema_bench.py). The parent is rendered when a container's
/// members are visited, so only leaves stay unrendered.
struct InstancePath {
    private let parent: String
    private let last: Step?

    private enum Step {
        case key(String)
        case index(Int)
    }

    static let root = InstancePath(parent: "", last: nil)

    private init(parent: String, last: Step?) {
        self.parent = parent
        self.last = last
    }

    var text: String {
        switch last {
        case nil: return parent
        case .key(let k)?: return Self.join(parent, Self.escape(k))
        case .index(let i)?: return Self.join(parent, String(i))
        }
    }

    /// The same place with its pointer rendered, so that the paths of its
    /// members extend a ready string (called once per container visited).
    var rendered: InstancePath { last == nil ? self : InstancePath(parent: text, last: nil) }

    func appending(_ key: String) -> InstancePath { InstancePath(parent: text, last: .key(key)) }
    func appending(_ index: Int) -> InstancePath { InstancePath(parent: text, last: .index(index)) }

    /// One allocation at most, where `a + "/" + b` makes an intermediate.
    private static func join(_ parent: String, _ token: String) -> String {
        var out = ""
        out.reserveCapacity(parent.utf8.count + 1 + token.utf8.count)
        out.append(parent)
        out.append("/")
        out.append(token)
        return out
    }

    /// A key as a JSON Pointer token.
    static func escape(_ key: String) -> String {
        guard key.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return key }
        var out = ""
        for c in key {
            switch c {
            case "~": out += "~0"
            case "/": out += "~1"
            default: out.append(c)
            }
        }
        return out
    }
}
