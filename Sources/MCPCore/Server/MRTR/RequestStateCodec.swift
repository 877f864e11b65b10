import Crypto
import Glibc

/// How the server seals the `requestState` of its InputRequiredResults.
public struct RequestStateOptions: Sendable {
    /// HMAC keys, newest first: the first seals, every one verifies (so a key
    /// can be rotated without failing the rounds in flight). Empty: one random
    /// key per process, which only that process accepts.
    public var keys: [[UInt8]] = []
    /// How long a sealed state is accepted (the client's user may take a while
    /// to answer a form, so minutes rather than seconds).
    public var ttlMs: Int = 10 * 60 * 1000
    /// The largest requestState accepted or produced, in bytes. It carries the
    /// answers of earlier rounds, so it grows with them; the bound keeps a
    /// client from making the server parse and hash megabytes per retry.
    public var maxBytes: Int = 256 * 1024

    /// Keys shorter than this are refused: an HMAC key must not be guessable.
    public static let minKeyBytes = 16

    public init() {}
}

/// What a requestState says: the request it belongs to, the answers gathered
/// in earlier rounds, the keys the last round asked, the host's own state.
struct RequestStatePayload: Equatable, Sendable {
    /// The method and the name within it (tool, prompt, resource URI).
    var method: String
    var name: String
    /// A digest of the request's arguments: an answer given for one set of
    /// arguments must not be replayed into a call with others.
    var argumentsDigest: String
    /// Unix time in ms after which the state is refused.
    var expiresAtMs: Int64
    /// Answers the handler used, by key (earlier rounds and the last one).
    var answers: JSONObject
    /// The keys the state's InputRequiredResult asked for.
    var openKeys: [String]
    /// What the host put between rounds (mcp_call_set_input_state).
    var hostState: String?
}

/// Seals and opens requestState: base64url(JSON payload) "." base64url(HMAC-SHA256).
/// The payload is signed, not encrypted: it holds what the client itself sent
/// (its answers) and the host's state, which the header tells hosts is
/// readable by the client.
public struct RequestStateCodec: Sendable {
    /// Raw key bytes, newest first. SymmetricKey is not Sendable in
    /// swift-crypto 3.x, so a key object is made per use (one small copy).
    private let keys: [[UInt8]]
    let ttlMs: Int
    let maxBytes: Int
    /// Injected for tests (expiry); unix ms.
    private let clock: @Sendable () -> Int64

    public init(options: RequestStateOptions) {
        self.init(options: options, clock: { RequestStateCodec.wallClockMs() })
    }

    init(options: RequestStateOptions, clock: @escaping @Sendable () -> Int64) {
        if options.keys.isEmpty {
            var rng = SystemRandomNumberGenerator()
            keys = [(0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) }]
        } else {
            keys = options.keys
        }
        ttlMs = options.ttlMs
        maxBytes = options.maxBytes
        self.clock = clock
    }

    static func wallClockMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec / 1_000_000)
    }

    /// The digest of arguments as bound into a state. Keys are sorted, so a
    /// client that re-serialises the same arguments in another order still matches.
    static func digest(of arguments: JSONValue?) -> String {
        var bytes: [UInt8] = []
        canonical(arguments ?? .object(JSONObject()), into: &bytes)
        return Base64URL.encode(Array(SHA256.hash(data: bytes)).prefix(16))
    }

    private static func canonical(_ v: JSONValue, into out: inout [UInt8]) {
        switch v {
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, m) in o.members.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONSerializer.writeString(m.key, to: &out)
                out.append(UInt8(ascii: ":"))
                canonical(m.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, e) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                canonical(e, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        default:
            JSONSerializer.write(v, to: &out)
        }
    }

    /// A fresh expiry for a state sealed now.
    func expiry() -> Int64 { clock() + Int64(ttlMs) }

    /// The sealed text, or nil when it would exceed maxBytes.
    func seal(_ p: RequestStatePayload) -> String? {
        var o = JSONObject()
        o["v"] = 1
        o["m"] = .string(p.method)
        o["n"] = .string(p.name)
        o["d"] = .string(p.argumentsDigest)
        o["e"] = .int(p.expiresAtMs)
        o["a"] = .object(p.answers)
        o["o"] = .array(p.openKeys.map { .string($0) })
        if let h = p.hostState { o["h"] = .string(h) }
        let body = Base64URL.encode(JSONSerializer.bytes(.object(o)))
        let mac = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: keys[0]))
        let sealed = body + "." + Base64URL.encode(Array(mac))
        return sealed.utf8.count <= maxBytes ? sealed : nil
    }

    /// Opens a state presented on `method` / `name` with `argumentsDigest`;
    /// every refusal is -32602 with a message saying why.
    func open(_ text: String, method: String, name: String, argumentsDigest: String)
        throws(JSONRPCError) -> RequestStatePayload
    {
        guard text.utf8.count <= maxBytes else {
            throw .invalidParams("requestState is larger than the \(maxBytes) bytes this server accepts")
        }
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 2, let body = Base64URL.decode(parts[0]), let mac = Base64URL.decode(parts[1]) else {
            throw .invalidParams("requestState is malformed: it was not issued by this server")
        }
        let signed = Array(parts[0])
        guard keys.contains(where: { HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: signed, using: SymmetricKey(data: $0)) })
        else {
            throw .invalidParams("requestState failed its integrity check: it was altered, or sealed with a key this server does not hold")
        }
        // Signed by us: a parse failure here is our own bug, still refused cleanly.
        let parsed = body.withUnsafeBytes { buf in Result { () throws(JSONParseError) in try JSONParser.parse(buf) } }
        guard case .success(.object(let o)) = parsed, o["v"]?.intValue == 1,
            let m = o["m"]?.stringValue, let n = o["n"]?.stringValue, let d = o["d"]?.stringValue,
            let e = o["e"]?.intValue, let a = o["a"]?.objectValue, let open = o["o"]?.arrayValue
        else {
            throw .invalidParams("requestState has a version or layout this server does not read")
        }
        guard e > clock() else { throw .invalidParams("requestState expired: start the request again without it") }
        guard m == method, n == name else {
            throw .invalidParams("requestState belongs to another request (\(m) \"\(n)\"), not to \(method) \"\(name)\"")
        }
        guard d == argumentsDigest else {
            throw .invalidParams("requestState belongs to the same \(method) with other arguments")
        }
        return RequestStatePayload(method: m, name: n, argumentsDigest: d, expiresAtMs: e, answers: a,
                                   openKeys: open.compactMap(\.stringValue), hostState: o["h"]?.stringValue)
    }
}

/// Base64 with the URL alphabet and no padding (RFC 4648 §5): requestState
/// travels in JSON and, for some clients, in headers or URLs.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let reverse: [UInt8] = {
        var r = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { r[Int(c)] = UInt8(i) }
        return r
    }()

    static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var it = bytes.makeIterator()
        while let b0 = it.next() {
            let b1 = it.next()
            let b2 = it.next()
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            if let b1 { out.append(alphabet[Int((b1 & 0x0F) << 2 | (b2 ?? 0) >> 6)]) }
            if let b2 { out.append(alphabet[Int(b2 & 0x3F)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil for a character outside the alphabet or an impossible length.
    static func decode<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        guard text.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for c in text {
            let v = reverse[Int(c)]
            guard v != 0xFF else { return nil }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return out
    }
}
