// libFuzzer target: the URI template parser and matcher
// (Sources/MCPCore/Server/URITemplate.swift). Input: a template, a newline, a URI.
// A match must give each variable once, in the template's order, and the
// template with those values substituted must be the URI again.
@testable import MCPCore
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzURITemplate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let split = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? size
    let templateText = String(decoding: bytes[..<split], as: UTF8.self)
    let uri = split < size ? String(decoding: bytes[(split + 1)...], as: UTF8.self) : ""
    guard let template = try? URITemplate(templateText) else { return 0 }
    guard let vars = template.match(uri) else { return 0 }
    guard vars.map(\.name) == template.variableNames else {
        fatalError("match gave \(vars.map(\.name)), the template has \(template.variableNames)")
    }
    var rebuilt: [UInt8] = []
    var values = vars.makeIterator()
    for part in template.parts {
        switch part {
        case .literal(let text): rebuilt += text
        case .variable:
            guard let v = values.next() else { fatalError("fewer values than variables") }
            if v.value.isEmpty || v.value.contains("/") { fatalError("variable \(v.name) matched \"\(v.value)\"") }
            rebuilt += Array(v.value.utf8)
        }
    }
    if rebuilt != Array(uri.utf8) { fatalError("template \(templateText) matched \(uri) with \(vars), which expands to \(rebuilt)") }
    return 0
}

@main struct URITemplateTarget {
    static func main() { runFuzzer(fuzzURITemplate) }
}
