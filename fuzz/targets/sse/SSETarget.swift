// libFuzzer target: the HTTP client's SSE parser
// (Sources/MCPTransport/HTTPClient/SSEParser.swift). Input: a chunk size byte,
// then the stream. The events must not depend on how the stream was cut into
// chunks (TCP cuts anywhere: inside a CRLF, inside the BOM), and the size
// limit must hold.
import MCPTransport
import FuzzSupport

struct Outcome: Equatable {
    var events: [SSEEvent] = []
    var failed = false
    var retryMs: Int?
    var lastEventID: String?
}

func parse(_ stream: ArraySlice<UInt8>, chunk: Int, limit: Int) -> Outcome {
    var parser = SSEParser(maxEventBytes: limit)
    var out = Outcome()
    var rest = stream
    while !rest.isEmpty {
        let piece = rest.prefix(chunk)
        rest = rest.dropFirst(piece.count)
        do { try parser.feed(piece) { out.events.append($0) } } catch {
            out.failed = true
            break
        }
    }
    parser.finish()
    for e in out.events where e.data.count > limit { fatalError("an event of \(e.data.count) bytes passed the \(limit)-byte limit") }
    out.retryMs = parser.retryMs
    out.lastEventID = parser.lastEventID
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSSE(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let chunk = Int(bytes[0] & 0x0F) + 1
    let limit = bytes[0] & 0x80 != 0 ? 16 : 1 << 20
    let whole = parse(bytes[1...], chunk: size, limit: limit)
    let cut = parse(bytes[1...], chunk: chunk, limit: limit)
    if whole != cut { fatalError("the events depend on the chunking (\(chunk)): \(whole) vs \(cut)") }
    return 0
}

@main struct SSETarget {
    static func main() { runFuzzer(fuzzSSE) }
}
