/// What the engine keeps beyond one process's memory: 2025-era session
/// records, the events of resumable streams (EventStore) and tasks with their
/// results. Chosen by the HTTP config value "store" (`memory:`, `sqlite:PATH`);
/// the implementations that do I/O live in MCPTransport/Store.
///
/// Calls come from any thread (event loops and workers) and return when done:
/// a durable store has a write on disk when `save…`/`append` returns, so the
/// engine shows the client nothing the store could still lose. A failing
/// store throws StoreError; callers answer HTTP 503 or JSON-RPC -32603 with its
/// message and never crash. A store that failed is tried again later
/// (`check`), so service resumes by itself once the store is back.
public protocol StateStore: EventStore {
    /// What the config named, for logs and readiness ("memory", "sqlite").
    var kind: String { get }
    /// False for `memory:`: sessions and tasks then live only in the engine's
    /// own tables (today's behaviour), and nothing is saved or loaded.
    var isDurable: Bool { get }
    /// Throws when the store cannot serve now (readiness, and the gate in
    /// front of requests that need it). Cheap when the store is healthy.
    func check() throws(StoreError)
    /// Keeps (inserts or replaces) a 2025-era session record; its expiry is
    /// pushed `ttlMs` into the future.
    func saveSession(_ record: SessionRecord, ttlMs: Int) throws(StoreError)
    /// A record not yet expired; nil when there is none.
    func loadSession(_ id: String) throws(StoreError) -> SessionRecord?
    /// The last event number of each stream of a session (stream -> seq), so
    /// a restored session numbers new streams and events after them.
    func lastSeqs(session: String) throws(StoreError) -> [UInt64: UInt64]
    /// Keeps (inserts or replaces) a task and its outcome until `expiresAtMs`
    /// (milliseconds since 1970).
    func saveTask(_ task: StoredTask) throws(StoreError)
    /// A task not yet expired; nil when there is none.
    func loadTask(_ id: String) throws(StoreError) -> StoredTask?
    func removeTask(_ id: String)
    /// Releases the store's resources (files, connections); idempotent.
    func close()
}

/// Why the store could not do what was asked (it is unreachable, unwritable,
/// full, or holds data of a newer schema). The message is for people.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// The JSON-RPC error a request that needed the store is answered with.
    public var rpcError: JSONRPCError {
        JSONRPCError(code: ErrorCode.internalError, message: "State store unavailable: \(message)")
    }
}

/// A 2025-era session as the store keeps it: enough to serve the session's
/// next request in another process (or after a restart) as if nothing happened.
public struct SessionRecord: Sendable, Equatable {
    public var id: String
    public var protocolVersion: String
    public var clientCapabilities: JSONObject
    public var clientInfo: JSONObject
    public var logLevel: String
    public var subscriptions: [String]
    /// The principal that opened it (HTTP "auth"), as Principal.json.
    public var owner: JSONValue?

    public init(id: String, protocolVersion: String, clientCapabilities: JSONObject, clientInfo: JSONObject,
                logLevel: String, subscriptions: [String], owner: JSONValue?)
    {
        self.id = id
        self.protocolVersion = protocolVersion
        self.clientCapabilities = clientCapabilities
        self.clientInfo = clientInfo
        self.logLevel = logLevel
        self.subscriptions = subscriptions
        self.owner = owner
    }

    /// The stored form (one JSON object), versioned by the store's schema.
    public var json: JSONValue {
        var o = JSONObject()
        o["protocolVersion"] = .string(protocolVersion)
        o["clientCapabilities"] = .object(clientCapabilities)
        o["clientInfo"] = .object(clientInfo)
        o["logLevel"] = .string(logLevel)
        o["subscriptions"] = .array(subscriptions.map { .string($0) })
        if let owner { o["owner"] = owner }
        return .object(o)
    }

    public init?(id: String, json: JSONValue) {
        guard let o = json.objectValue, let v = o["protocolVersion"]?.stringValue,
              let level = o["logLevel"]?.stringValue
        else { return nil }
        self.init(id: id, protocolVersion: v, clientCapabilities: o["clientCapabilities"]?.objectValue ?? JSONObject(),
                  clientInfo: o["clientInfo"]?.objectValue ?? JSONObject(), logLevel: level,
                  subscriptions: (o["subscriptions"]?.arrayValue ?? []).compactMap(\.stringValue),
                  owner: o["owner"])
    }
}

/// A task as the store keeps it: its Task fields and, once terminal, its
/// result or error (TaskRecord.stored / TaskRecord(restoring:)).
public struct StoredTask: Sendable, Equatable {
    public var id: String
    /// The 2025-era session that owns it; nil for a task of the 2026-07-28 extension.
    public var ownerSessionID: String?
    public var expiresAtMs: Int64
    /// Everything else, as one JSON object (status, times, outcome).
    public var body: JSONValue

    public init(id: String, ownerSessionID: String?, expiresAtMs: Int64, body: JSONValue) {
        self.id = id
        self.ownerSessionID = ownerSessionID
        self.expiresAtMs = expiresAtMs
        self.body = body
    }
}
