internal import NIOCore
internal import NIOHTTP1
import MCPCore
import MCPRuntime

/// Blocking HTTP requests of the OAuth flow (metadata, registration, token),
/// on the transport's connection pool. Called on the flow's own thread only,
/// never on the event loop. No redirect is followed, no bearer token is sent.
struct OAuthHTTP: Sendable {
    let pool: HTTPConnectionPool
    let timeoutMs: Int
    let maxBytes: Int

    struct Response: Sendable {
        var status: Int
        var body: [UInt8]
        var headers: [(String, String)]

        var object: JSONObject? {
            guard case .object(let o)? = try? JSONParser.parse(body) else { return nil }
            return o
        }
    }

    func get(_ url: String) throws(OAuthError) -> Response {
        try run("GET", url, contentType: nil, body: nil, extra: [])
    }

    func postForm(_ url: String, _ pairs: [(String, String)], basic: (String, String)?) throws(OAuthError) -> Response {
        var extra: [(String, String)] = []
        if let (id, secret) = basic {
            // RFC 6749 section 2.3.1: each part form-encoded, then base64.
            extra.append(("Authorization", "Basic " + PKCE.base64(FormEncoding.escape(id) + ":" + FormEncoding.escape(secret))))
        }
        return try run("POST", url, contentType: "application/x-www-form-urlencoded",
                       body: Array(FormEncoding.encode(pairs).utf8), extra: extra)
    }

    func postJSON(_ url: String, _ value: JSONValue) throws(OAuthError) -> Response {
        try run("POST", url, contentType: "application/json", body: JSONSerializer.bytes(value), extra: [])
    }

    private func run(_ method: String, _ text: String, contentType: String?, body: [UInt8]?,
                     extra: [(String, String)]) throws(OAuthError) -> Response
    {
        let url: HTTPURL
        do throws(HTTPURL.ParseError) {
            url = try HTTPURL(parsing: text)
        } catch {
            throw OAuthError("Bad URL \(text): \(error.description)")
        }
        var h = HTTPHeaders()
        h.add(name: "Host", value: url.hostHeader)
        h.add(name: "User-Agent", value: "libmcp")
        h.add(name: "Accept", value: "application/json")
        if let contentType { h.add(name: "Content-Type", value: contentType) }
        if let body { h.add(name: "Content-Length", value: String(body.count)) }
        for (k, v) in extra { h.add(name: k, value: v) }

        struct Box {
            var done = false
            var status = 0
            var headers: [(String, String)] = []
            var body: [UInt8] = []
            var error: String?
        }
        let box = LockedState(Box())
        let limit = maxBytes
        let request = HTTPClientRequest(method: HTTPMethod(rawValue: method), url: url, headers: h, body: body)
        let exchange = pool.execute(request, handlers: HTTPResponseHandlers(
            head: { head in
                box.withLock { b in
                    b.status = Int(head.status.code)
                    b.headers = head.headers.map { ($0.name, $0.value) }
                }
            },
            body: { buf in
                box.withLockAndNotify { b in
                    if b.body.count + buf.readableBytes > limit {
                        b.error = "the answer of \(text) is larger than \(limit) bytes"
                        b.done = true
                    } else {
                        b.body.append(contentsOf: buf.readableBytesView)
                    }
                }
            },
            end: { box.withLockAndNotify { $0.done = true } },
            failure: { f in box.withLockAndNotify { b in b.error = b.error ?? "\(method) \(text): \(f)"; b.done = true } }))
        let finished = box.wait(until: MonotonicInstant.now().adding(milliseconds: timeoutMs)) { $0.done }
        guard finished else {
            exchange.cancel()
            throw OAuthError("\(method) \(text) got no answer within \(timeoutMs) ms")
        }
        let b = box.withLock { $0 }
        if let e = b.error {
            exchange.cancel()
            throw OAuthError(e)
        }
        return Response(status: b.status, body: b.body, headers: b.headers)
    }
}
