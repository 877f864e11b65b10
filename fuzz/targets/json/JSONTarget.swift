// libFuzzer target: the JSON parser (Sources/MCPCore/JSON), over arbitrary bytes.
// Whatever parses must serialize to text that parses back to the same value
// (a number may come back as the other kind, 1e2 as 100, never as another
// number), and the nesting limit must hold however deep the input goes.
import MCPCore
import FuzzSupport

/// Equal, with integers and doubles compared as numbers.
func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.int(let i), .double(let d)), (.double(let d), .int(let i)): return Double(i) == d
    case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
    case (.object(let x), .object(let y)):
        return x.members.count == y.members.count
            && zip(x.members, y.members).allSatisfy { $0.key == $1.key && same($0.value, $1.value) }
    default: return a == b
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    // A small depth limit too, so the limit's own error path is reached often.
    _ = try? JSONParser.parse(input, maxDepth: 4)
    guard let value = try? JSONParser.parse(input) else { return 0 }
    let text = JSONSerializer.bytes(value)
    guard let again = try? JSONParser.parse(text) else {
        fatalError("the serializer wrote text its parser refuses: \(String(decoding: text, as: UTF8.self))")
    }
    if !same(again, value) {
        fatalError("a value changed over serialize and parse: \(String(decoding: text, as: UTF8.self))")
    }
    return 0
}

@main struct JSONTarget {
    static func main() { runFuzzer(fuzzJSON) }
}
