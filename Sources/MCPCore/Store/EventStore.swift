/// Where SSE events are kept so a client that lost its connection can resume a
/// stream with `Last-Event-ID` (resumability, Streamable HTTP 2025-11-25).
///
/// The transport numbers the streams of a session and the events of a stream;
/// a store only keeps them. Implementations must be safe to call from any
/// thread. The in-memory store is the default; a durable one (StateStore.swift)
/// can replace it.
public protocol EventStore: Sendable {
    /// Keeps one event. Events of a stream arrive in increasing `seq` order.
    /// A durable store has the event on disk when this returns: the transport
    /// writes it to the client only then. Throws when it could not be kept.
    func append(session: String, event: StoredEvent) throws(StoreError)
    /// The events of `stream` after `seq`, oldest first; nil when the store
    /// cannot tell exactly (the stream is unknown, or some of those events were
    /// dropped), so that a client never receives a stream with a hole in it.
    func events(session: String, stream: UInt64, after seq: UInt64) throws(StoreError) -> [StoredEvent]?
    /// Drops everything kept for a session (it ended).
    func removeSession(_ session: String)
}

/// One SSE event of a session's stream. Empty `data` marks a priming event,
/// which is kept (it makes the stream known) but never replayed.
public struct StoredEvent: Sendable, Equatable {
    public var id: EventID
    public var data: [UInt8]

    public init(id: EventID, data: [UInt8]) {
        self.id = id
        self.data = data
    }
}

/// An SSE event id that names its stream: "<stream>-<seq>", both decimal.
/// Unique within a session; stream 0 is the standalone GET stream.
public struct EventID: Sendable, Hashable, CustomStringConvertible {
    public var stream: UInt64
    public var seq: UInt64

    public init(stream: UInt64, seq: UInt64) {
        self.stream = stream
        self.seq = seq
    }

    /// Parses a Last-Event-ID value; nil for anything not of our making.
    public init?(_ text: String) {
        let parts = text.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 19 }),
              let s = UInt64(String(decoding: parts[0], as: UTF8.self)),
              let q = UInt64(String(decoding: parts[1], as: UTF8.self)),
              parts.allSatisfy({ $0.allSatisfy { (0x30...0x39).contains($0) } })
        else { return nil }
        stream = s
        seq = q
    }

    public var description: String { "\(stream)-\(seq)" }
}
