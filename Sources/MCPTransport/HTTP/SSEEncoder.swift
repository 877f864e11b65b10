/// Server-Sent Events framing (WHATWG HTML, "event stream" format). One
/// message per event; a `data` line per line of the message, so a payload with
/// a newline in it still arrives whole.
enum SSEEncoder {
    static func event(id: String? = nil, name: String? = nil, retryMs: Int? = nil, data: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(data.count + 48)
        if let retryMs {
            out.append(contentsOf: "retry: \(retryMs)\n".utf8)
        }
        if let name {
            out.append(contentsOf: "event: ".utf8)
            out.append(contentsOf: name.utf8)
            out.append(0x0A)
        }
        if let id {
            out.append(contentsOf: "id: ".utf8)
            out.append(contentsOf: id.utf8)
            out.append(0x0A)
        }
        var lineStart = 0
        var i = 0
        while i <= data.count {
            if i == data.count || data[i] == 0x0A {
                var end = i
                if end > lineStart, data[end - 1] == 0x0D { end -= 1 }
                out.append(contentsOf: "data: ".utf8)
                out.append(contentsOf: data[lineStart..<end])
                out.append(0x0A)
                lineStart = i + 1
            }
            i += 1
        }
        out.append(0x0A)
        return out
    }

    /// A comment line: ignored by clients, keeps idle connections alive through proxies.
    static let keepAlive: [UInt8] = Array(": keep-alive\n\n".utf8)
}
