internal import NIOCore
internal import NIOHTTP1
import MCPCore

/// A complete request as the endpoint sees it.
struct HTTPRequest {
    var head: HTTPRequestHead
    var body: ByteBuffer
    /// The peer's IP address (no port), for per-client limits; nil if unknown.
    var remoteAddress: String?
    /// The peer's port, for span attributes; nil if unknown (a host's own server).
    var remotePort: Int? = nil
    /// Who sent it, once the listener's "auth" accepted its token (Auth/).
    var principal: Principal? = nil

    /// The path without the query string.
    var path: Substring {
        let uri = head.uri
        // Searched as bytes: over Characters, grapheme breaking made this
        // ~1.5K instructions of every request. "?" is ASCII, so the index
        // found is a valid String index.
        if let q = uri.utf8.firstIndex(of: UInt8(ascii: "?")) { return uri[..<q] }
        return uri[...]
    }

    /// A query parameter's (percent-decoded) value.
    func query(_ name: String) -> String? {
        guard let q = head.uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return nil }
        for pair in head.uri[head.uri.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if kv.first == Substring(name) { return kv.count > 1 ? String(kv[1]).removingPercentEncoding() : "" }
        }
        return nil
    }

    func header(_ name: String) -> String? { head.headers.first(name: name) }

    /// The W3C trace context headers, when tracing is on and there are some
    /// (nothing is looked up while it is off).
    var traceHeaders: TraceHeaders? {
        guard Tracing.isOn, let tp = header("traceparent") else { return nil }
        return TraceHeaders(traceParent: tp, traceState: header("tracestate"))
    }

    /// TCP, HTTP/x.y and the client's address, when tracing is on.
    var spanTransport: SpanTransport? {
        guard Tracing.isOn else { return nil }
        return SpanTransport(transport: "tcp", protocolName: "http",
                             protocolVersion: "\(head.version.major).\(head.version.minor)",
                             peerAddress: remoteAddress, peerPort: remotePort)
    }
}

extension String {
    /// Percent-decoding for query values; nil on a malformed escape. `+` is a
    /// space in a query (form encoding), itself elsewhere (a URL's user info).
    func removingPercentEncoding(plusIsSpace: Bool = true) -> String? {
        var out = [UInt8]()
        var it = utf8.makeIterator()
        while let c = it.next() {
            if c == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let hv = hexValue(h), let lv = hexValue(l) else { return nil }
                out.append(hv << 4 | lv)
            } else if plusIsSpace, c == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x41...0x46: return c - 0x41 + 10
    case 0x61...0x66: return c - 0x61 + 10
    default: return nil
    }
}
