/// One dispatched Server-Sent Event.
public struct SSEEvent: Sendable, Equatable {
    /// The event type; "message" when the server named none.
    public var type: String
    /// The data lines joined with "\n" (empty for a priming event).
    public var data: [UInt8]
    /// The stream's last event id when this event was dispatched (ids persist
    /// across events, as in EventSource); nil when none was ever set.
    public var lastEventID: String?

    public init(type: String = "message", data: [UInt8], lastEventID: String? = nil) {
        self.type = type
        self.data = data
        self.lastEventID = lastEventID
    }
}

/// The event stream interpretation of the WHATWG HTML standard ("Server-sent
/// events", 9.2.6): lines end with CRLF, LF or CR; a leading BOM is dropped;
/// ":" starts a comment; `data` lines accumulate; `id` and `retry` persist;
/// an empty line dispatches. A pure value: feed bytes, receive events.
public struct SSEParser: Sendable {
    public enum Failure: Error, Sendable, Equatable {
        /// A line or an event's data grew beyond the limit.
        case tooLarge(limit: Int)
    }

    /// The longest line and the largest data of one event.
    public let maxEventBytes: Int
    /// The last `retry` the server sent, in milliseconds.
    public private(set) var retryMs: Int?
    /// The last event id, published at each blank line (also by an event
    /// without data); what a reconnection sends as Last-Event-ID.
    public private(set) var lastEventID: String?

    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType = ""
    /// The standard's "last event ID buffer": set by `id`, published at each blank line.
    private var idBuffer = ""
    private var sawCR = false
    private var atStart = true
    private var bomBytesLeft = 0
    private var failed = false

    public init(maxEventBytes: Int = 16 << 20) {
        self.maxEventBytes = maxEventBytes
    }

    /// Parses a chunk; complete events go to `emit`. After a failure, nothing
    /// more is parsed (the stream should be dropped).
    public mutating func feed(_ bytes: some Collection<UInt8>, _ emit: (SSEEvent) -> Void) throws(Failure) {
        if failed { throw .tooLarge(limit: maxEventBytes) }
        for b in bytes {
            if atStart {
                atStart = false
                // U+FEFF at the very start of the stream is not part of it; its
                // first byte is dropped here and the other two when they come.
                if b == 0xEF { bomBytesLeft = 2; continue }
            }
            if bomBytesLeft > 0 {
                let expected: UInt8 = bomBytesLeft == 2 ? 0xBB : 0xBF
                bomBytesLeft -= 1
                if b == expected { continue }
                // Not a BOM after all: the bytes held back belong to the line.
                line.append(0xEF)
                if expected == 0xBF { line.append(0xBB) }
                bomBytesLeft = 0
            }
            if b == 0x0A {
                if sawCR {
                    sawCR = false
                    continue
                }
                try endLine(emit)
            } else if b == 0x0D {
                sawCR = true
                try endLine(emit)
            } else {
                sawCR = false
                if line.count >= maxEventBytes {
                    failed = true
                    throw .tooLarge(limit: maxEventBytes)
                }
                line.append(b)
            }
        }
    }

    private mutating func endLine(_ emit: (SSEEvent) -> Void) throws(Failure) {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            dispatch(emit)
            return
        }
        if line[0] == UInt8(ascii: ":") { return }
        let field: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = line[..<colon]
            value = line[(colon + 1)...]
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        } else {
            field = line[...]
            value = []
        }
        switch String(decoding: field, as: UTF8.self) {
        case "data":
            if data.count + value.count + 1 > maxEventBytes {
                failed = true
                throw .tooLarge(limit: maxEventBytes)
            }
            data.append(contentsOf: value)
            data.append(0x0A)
            hasData = true
        case "event":
            eventType = String(decoding: value, as: UTF8.self)
        case "id":
            // An id with a NUL in it is ignored, as the standard says.
            if !value.contains(0) { idBuffer = String(decoding: value, as: UTF8.self) }
        case "retry":
            if !value.isEmpty, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), value.count <= 9,
               let ms = Int(String(decoding: value, as: UTF8.self))
            {
                retryMs = ms
            }
        default:
            break
        }
    }

    private mutating func dispatch(_ emit: (SSEEvent) -> Void) {
        lastEventID = idBuffer.isEmpty ? nil : idBuffer
        defer {
            data.removeAll(keepingCapacity: true)
            hasData = false
            eventType = ""
        }
        guard hasData else { return }
        data.removeLast()  // the "\n" after the last data line
        emit(SSEEvent(type: eventType.isEmpty ? "message" : eventType, data: data, lastEventID: lastEventID))
    }

    /// The stream ended: an event without its blank line is discarded, as the
    /// standard says (it may be incomplete).
    public mutating func finish() {
        line.removeAll()
        data.removeAll()
        hasData = false
        eventType = ""
        sawCR = false
    }
}
