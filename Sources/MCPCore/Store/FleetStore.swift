/// What several server processes sharing one StateStore need beyond it, so
/// that any of them serves any request of a 2025-era session (a fleet behind
/// a load balancer with no stickiness): stream numbers and standalone-stream
/// events allocated atomically in the store (two processes serving one
/// session never give two streams or events the same id), which process
/// owns each live stream (so a stream left by a dead process is ended with
/// an error), a lease per process, and a channel every process reads (`poll`):
/// which streams got events (a process relaying a stream another one writes
/// learns of them), and published messages (a response to a server-to-client
/// request that reached another process than the one waiting for it, a
/// resource change every process must pass on).
///
/// A separate protocol, not part of StateStore: a store without it still
/// works, single-process (the transport checks `store as? FleetStore`).
/// Implemented by `sqlite:` (processes on one machine sharing the file),
/// `postgres://` (nodes on many machines sharing a database; it is also told
/// of changes as they commit: `watch`, `notified`) and `memory:` (one
/// process: trivially a fleet of one).
public protocol FleetStore: Sendable {
    /// This process's id in the fleet (random per start: a restarted
    /// process is a new node, and its old lease simply expires).
    var nodeID: String { get }

    /// Opens a new POST stream of `session`: the next stream number (after
    /// every stream any process opened, even ones whose events are gone),
    /// its priming event (seq 0) kept, and this node recorded as its owner
    /// with the ids of the requests it answers.
    func openStream(session: String, requests: [JSONValue]) throws(StoreError) -> UInt64

    /// Keeps an event of a POST stream this node owns; `final` also marks the
    /// stream finished in the same transaction (a relay never waits for more).
    func append(session: String, event: StoredEvent, final: Bool) throws(StoreError)

    /// Marks a stream finished without a further event (its request was cancelled).
    func finishStream(session: String, stream: UInt64)

    /// Keeps an event of the standalone stream (0) with the next number,
    /// allocated atomically across nodes; returns that number. `once`: a key
    /// that makes it happen at most once per session (several processes
    /// passing on one broadcast); nil returned when it already happened.
    func appendStandalone(session: String, data: [UInt8], once: String?) throws(StoreError) -> UInt64?

    /// Whether a stream is still being written (by some node whose lease has
    /// not been reaped); false when finished or unknown.
    func isStreamLive(session: String, stream: UInt64) throws(StoreError) -> Bool

    /// Puts a message on the channel every process reads.
    func publish(_ message: FleetMessage) throws(StoreError)

    /// What happened since `cursor`: the streams that got events, the
    /// messages published (by any process, this one included), and the new
    /// cursor; `cursor` nil: just the current position. Cheap when nothing
    /// changed.
    func poll(after cursor: FleetCursor?) throws(StoreError) -> FleetChanges

    /// Renews this node's lease for `ttlMs`.
    func renewLease(ttlMs: Int) throws(StoreError)

    /// Ends what nodes whose lease expired left behind: each of their live
    /// streams gets, for each request it answers, the JSON-RPC error
    /// `answer(requestID)` as its last event, and each task they were running
    /// is marked failed with `taskError`. Returns how many nodes were reaped.
    func reapExpired(answer: (JSONValue) -> [UInt8], taskError: JSONRPCError) throws(StoreError) -> Int

    /// Says this node is leaving (a graceful stop): its lease goes at once.
    func leave()

    /// Has `wake` called (from any thread; it must not block) when the store
    /// is told of a change as it commits (PostgreSQL's LISTEN/NOTIFY), so the
    /// reader asks `notified` at once instead of waiting for its next `poll`;
    /// nil stops it. A store that cannot be told (SQLite, memory) never calls it.
    func watch(_ wake: (@Sendable () -> Void)?)

    /// What the store was told of since the last call (see `watch`), as
    /// `poll` would report it, without reading the tables again; nothing that
    /// `cursor` says was already reported. `poll` stays the reference: it
    /// finds anything a lost notification did not bring.
    func notified(after cursor: FleetCursor) throws(StoreError) -> FleetChanges
}

extension FleetStore {
    public func watch(_ wake: (@Sendable () -> Void)?) {}
    public func notified(after cursor: FleetCursor) throws(StoreError) -> FleetChanges { FleetChanges(cursor: cursor) }
}

/// A message between the processes of a fleet.
public struct FleetMessage: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A response (or cancellation) for a request of `session` that some
        /// process sent (or serves); `body` is the JSON-RPC message.
        case relayed
        /// A resource changed; `body` is its URI; `session` is empty.
        case resourceUpdated = "resource-updated"
    }

    public var kind: Kind
    public var session: String
    public var body: [UInt8]
    /// The process that published it.
    public var node: String
    /// Its place on the channel (given by the store; unique, growing).
    public var id: Int64

    public init(kind: Kind, session: String, body: [UInt8], node: String, id: Int64 = 0) {
        self.kind = kind
        self.session = session
        self.body = body
        self.node = node
        self.id = id
    }
}

/// Where a reader of the channel is (FleetStore.poll). SQLite: the last
/// event and message ids read (its writers are serialised, so ids appear in
/// order). PostgreSQL: transactions commit out of id order, so a cursor there
/// is a transaction horizon per table (every transaction below it had ended
/// when it was taken) plus the rows at or above it already reported (`seen…`:
/// id to transaction id), which the next read skips.
public struct FleetCursor: Sendable, Equatable {
    public var events: Int64
    public var messages: Int64
    public var seenEvents: [Int64: Int64] = [:]
    public var seenMessages: [Int64: Int64] = [:]
    public init(events: Int64, messages: Int64) {
        self.events = events
        self.messages = messages
    }
}

/// What `poll` found.
public struct FleetChanges: Sendable {
    public var cursor: FleetCursor
    public var streams: [FleetStreamKey]
    public var messages: [FleetMessage]
    public init(cursor: FleetCursor, streams: [FleetStreamKey] = [], messages: [FleetMessage] = []) {
        self.cursor = cursor
        self.streams = streams
        self.messages = messages
    }
}

/// One stream of one session.
public struct FleetStreamKey: Sendable, Hashable {
    public var session: String
    public var stream: UInt64
    public init(session: String, stream: UInt64) {
        self.session = session
        self.stream = stream
    }
}
