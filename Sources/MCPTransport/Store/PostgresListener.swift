internal import NIOCore
internal import PostgresNIO
import MCPCore
import MCPRuntime

/// The fleet's ears on PostgreSQL: one connection of its own doing
/// `LISTEN mcp_fleet` (outside the pool: a LISTEN lasts as long as its
/// session, and pooled connections are lent to anyone). Every fleet write of
/// every node calls pg_notify in the statement that writes its row, and
/// PostgreSQL delivers a notification at the commit of its transaction and
/// only then: a node is never told of a row it cannot read yet.
///
/// Notifications arrive on the pool's own event loop; they are parsed there
/// (nothing blocks on it) and kept until the reader takes them (`take`); the
/// reader is woken once per batch (`wake`, which must not block either).
///
/// A notification sent while this connection is down is lost for it; so
/// the reader's poll (FleetStore.poll, every fleet_poll_ms) reads the tables
/// anyway, and after a read that succeeded calls `ensure`, which opens a new
/// connection and LISTENs again (at most once per retryMs): whatever
/// committed before the new LISTEN the next poll reads, whatever after it
/// is notified.
final class PostgresListener: Sendable {
    static let channel = "mcp_fleet"

    /// What one notification said.
    enum Note: Sendable {
        case event(id: Int64, tx: Int64, key: FleetStreamKey)
        /// body nil: too long for a notification (PostgreSQL's limit is 8000
        /// bytes); the reader reads it from mcp_messages by id.
        case message(id: Int64, tx: Int64, kind: FleetMessage.Kind, session: String, node: String, body: [UInt8]?)
    }

    private struct State {
        var connection: PostgresConnection?
        var wake: (@Sendable () -> Void)?
        var pending: [Note] = []
        var triedAtMs: Int64 = 0
        var connecting = false
        var stopped = false
        var warned = false
    }

    private let pool: PostgresPool
    private let state = LockedState(State())

    init(pool: PostgresPool) {
        self.pool = pool
    }

    /// Starts listening (now, if the server answers) and has `wake` called
    /// for each batch of notifications; nil stops and closes the connection.
    func watch(_ wake: (@Sendable () -> Void)?) {
        let old = state.withLock { s -> PostgresConnection? in
            s.wake = wake
            s.triedAtMs = 0
            if wake != nil { return nil }
            s.pending = []
            defer { s.connection = nil }
            return s.connection
        }
        if let old { pool.closeDedicated(old) }
        if wake != nil { ensure() }
    }

    /// Whether the connection is listening; if it is not (never opened, or
    /// lost) and the last try is retryMs old, tries again now (blocking for
    /// at most connect_timeout: never call it on the pool's loop).
    @discardableResult
    func ensure() -> Bool {
        let now = Timestamp.nowMs()
        enum Step { case listening, idle, connect }
        let step = state.withLock { s -> Step in
            if let c = s.connection, !c.isClosed { return .listening }
            if s.stopped || s.wake == nil || s.connecting || now - s.triedAtMs < Int64(pool.options.retryMs) { return .idle }
            s.connection = nil
            s.connecting = true
            s.triedAtMs = now
            return .connect
        }
        switch step {
        case .listening: return true
        case .idle: return false
        case .connect: break
        }
        do throws(PostgresPool.Failure) {
            let c = try pool.connectDedicated()
            c.addListener(channel: Self.channel) { [weak self] _, note in self?.received(note.payload) }
            do throws(PostgresPool.Failure) {
                _ = try pool.query(c, "LISTEN mcp_fleet")
            } catch {
                pool.closeDedicated(c)
                throw error
            }
            let (keep, recovered) = state.withLock { s -> (Bool, Bool) in
                s.connecting = false
                guard !s.stopped, s.wake != nil else { return (false, false) }
                s.connection = c
                defer { s.warned = false }
                return (true, s.warned)
            }
            guard keep else {
                pool.closeDedicated(c)
                return false
            }
            if recovered { EngineLog.info("store", "postgres fleet notifications are back", ["store": .string(pool.options.display)]) }
            return true
        } catch {
            let first = state.withLock { s -> Bool in
                s.connecting = false
                defer { s.warned = true }
                return !s.warned
            }
            if first {
                EngineLog.warning("store", "cannot LISTEN for fleet notifications; polling every fleet_poll_ms meanwhile",
                                  ["store": .string(pool.options.display), "error": .string(error.message)])
            }
            return false
        }
    }

    /// The notifications received since the last call, oldest first.
    func take() -> [Note] {
        state.withLock { s in
            defer { s.pending = [] }
            return s.pending
        }
    }

    /// For good (the store is closing).
    func stop() {
        let c = state.withLock { s -> PostgresConnection? in
            s.stopped = true
            s.wake = nil
            s.pending = []
            defer { s.connection = nil }
            return s.connection
        }
        if let c { pool.closeDedicated(c) }
    }

    /// On the pool's loop: parse, keep, wake the reader if it had nothing.
    private func received(_ payload: String) {
        guard let note = Self.parse(payload) else { return }
        let wake = state.withLock { s -> (@Sendable () -> Void)? in
            guard s.wake != nil else { return nil }
            s.pending.append(note)
            return s.pending.count == 1 ? s.wake : nil
        }
        wake?()
    }

    /// A payload as PostgresStore+Fleet writes it (json_build_object):
    /// {"k":"e","id","tx","s","n"} for an event, {"k":"m","id","tx","kind",
    /// "s","node","b"} for a message ("b" null when the body was too long).
    static func parse(_ payload: String) -> Note? {
        guard let json = try? JSONParser.parse(payload), let o = json.objectValue,
              let id = o["id"]?.intValue, let tx = o["tx"]?.intValue, let session = o["s"]?.stringValue
        else { return nil }
        switch o["k"]?.stringValue {
        case "e":
            guard let n = o["n"]?.intValue else { return nil }
            return .event(id: id, tx: tx, key: FleetStreamKey(session: session, stream: UInt64(bitPattern: n)))
        case "m":
            guard let kind = o["kind"]?.stringValue.flatMap(FleetMessage.Kind.init(rawValue:)),
                  let node = o["node"]?.stringValue
            else { return nil }
            return .message(id: id, tx: tx, kind: kind, session: session, node: node,
                             body: o["b"]?.stringValue.map { Array($0.utf8) })
        default:
            return nil
        }
    }
}
