/// Where in the instance a check is, as a JSON Pointer (RFC 6901) rendered
/// only when something reads it: an error, or a `$ref` cycle key. A value
/// that passes never pays for its pointer; building "/a/b" for every
/// property was 15% of checking a typical tool's arguments, and rendering
/// each container's pointer so its members could extend it was another 5%
/// (bench/schema_bench.py, callgrind). A container visited is one small
/// node its members point back to instead.
struct InstancePath: Sendable {
    /// The container that holds `last` (nil: the root's).
    private let up: Node?
    private let last: Step?

    private enum Step: Sendable {
        case key(String)
        case index(Int)
    }

    private final class Node: Sendable {
        let path: InstancePath
        init(_ path: InstancePath) { self.path = path }
    }

    static let root = InstancePath(up: nil, last: nil)

    private init(up: Node?, last: Step?) {
        self.up = up
        self.last = last
    }

    var text: String {
        let head = up?.path.text ?? ""
        switch last {
        case nil: return head
        case .key(let k)?: return Self.join(head, Self.escape(k))
        case .index(let i)?: return Self.join(head, String(i))
        }
    }

    /// The same place as a container its members' paths point back to
    /// (called once per container visited).
    var container: InstancePath { last == nil ? self : InstancePath(up: Node(self), last: nil) }

    func appending(_ key: String) -> InstancePath { InstancePath(up: parentOfMembers, last: .key(key)) }
    func appending(_ index: Int) -> InstancePath { InstancePath(up: parentOfMembers, last: .index(index)) }

    private var parentOfMembers: Node? { last == nil ? up : Node(self) }

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
