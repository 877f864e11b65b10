/// Finds the top-level `id` of a message too large to keep, and whether it has
/// a `method`, reading it in pieces as it streams past, in constant memory. A
/// transport that skips an over-long answer uses it to fail the request that
/// answer was for at once, instead of leaving it to its timeout. It does not
/// validate: on input that is not JSON it finds nothing, or a wrong id that
/// then matches no request.
public struct EnvelopeScanner: Sendable {
    /// How much of an id value is kept; longer ids are not ours.
    static let maxIDBytes = 256

    private var depth = 0
    private var inString = false
    private var escaped = false
    /// At depth 1, after `{` or `,`: the next string is a member name.
    private var expectingKey = false
    private var capturing = false
    private var buffer: [UInt8] = []
    private var lastKey: [UInt8] = []
    private var readingID = false
    private var idBytes: [UInt8] = []
    private var idIsString = false
    private var sawMethod = false
    private var foundID: RequestID?
    private var idTooLong = false

    public init() {}

    /// The id found so far (a string or integer id; null and others give nil).
    public var id: RequestID? { foundID }
    /// Whether the message has a top-level `method`: a request or a
    /// notification, not an answer.
    public var hasMethod: Bool { sawMethod }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes { step(b) }
    }

    private mutating func step(_ b: UInt8) {
        if inString {
            if escaped {
                escaped = false
            } else if b == UInt8(ascii: "\\") {
                escaped = true
            } else if b == UInt8(ascii: "\"") {
                inString = false
                if capturing { endString() }
                return
            }
            if capturing { keep(b) }
            return
        }
        switch b {
        case UInt8(ascii: "\""):
            inString = true
            capturing = depth == 1 && (expectingKey || readingID)
            buffer.removeAll(keepingCapacity: true)
            if readingID && depth == 1 {
                idIsString = true
                idBytes = []
            }
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            if depth == 1 { readingID = false }
            depth += 1
            if depth == 1 { expectingKey = b == UInt8(ascii: "{") }
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            if depth == 1 { endValue() }
            depth = max(0, depth - 1)
        case UInt8(ascii: ":") where depth == 1:
            expectingKey = false
            if lastKey == Array("id".utf8) {
                readingID = true
                idIsString = false
                idBytes = []
                idTooLong = false
            }
        case UInt8(ascii: ",") where depth == 1:
            endValue()
            expectingKey = true
        case 0x20, 0x09, 0x0A, 0x0D:
            break
        default:
            if depth == 1 && readingID && !idIsString { keepID(b) }
        }
    }

    private mutating func keep(_ b: UInt8) {
        // Names are compared with "id" and "method" only: a long one is kept
        // cut, with a 0 byte that no name of interest has.
        if readingID { keepID(b) } else if buffer.count < 16 { buffer.append(b) } else if buffer.count == 16 { buffer.append(0) }
    }

    private mutating func keepID(_ b: UInt8) {
        if idBytes.count < Self.maxIDBytes { idBytes.append(b) } else { idTooLong = true }
    }

    private mutating func endString() {
        capturing = false
        if readingID {
            endValue()
        } else if expectingKey {
            lastKey = buffer
            if buffer == Array("method".utf8) { sawMethod = true }
        }
    }

    /// The value of the member in hand ended: an id value is decoded once, by
    /// the JSON parser, from the bytes kept.
    private mutating func endValue() {
        guard readingID else { return }
        readingID = false
        guard !idTooLong, !idBytes.isEmpty || idIsString else { return }
        let text = idIsString ? [UInt8(ascii: "\"")] + idBytes + [UInt8(ascii: "\"")] : idBytes
        if let value = try? JSONParser.parse(text) { foundID = RequestID(value) }
    }
}
