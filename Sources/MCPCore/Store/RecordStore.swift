/// The smallest store a host can supply (mcp_server_set_store): records of
/// opaque bytes under byte keys, each with an expiry. RecordStateStore builds
/// the whole StateStore on it, so a host implements four operations, not the
/// engine's schema.
///
/// Why these four: a StateStore keeps three kinds of rows (session records,
/// stream events, tasks), reads them by exact key, and reads a session's
/// events by stream (`events`, `lastSeqs`, `removeSession`), which a listing
/// by key prefix answers. Nothing needs an atomic read-modify-write: one
/// process numbers its own streams and events (a host store is not a fleet:
/// FleetStore is not offered), so get / put / remove / list suffice.
///
/// Calls come from the threads that call a StateStore (the listener's event
/// loops and the engine's workers), concurrently, and each returns when done.
public protocol RecordStore: Sendable {
    /// What readiness and errors call it ("host").
    var kind: String { get }
    /// The value under `key`, nil when there is none.
    func get(_ key: [UInt8]) throws(StoreError) -> [UInt8]?
    /// Inserts or replaces; the store may drop the record once the time is
    /// past `expiresAtMs` (milliseconds since 1970; the engine never reads an
    /// expired record as live either way).
    func put(_ key: [UInt8], _ value: [UInt8], expiresAtMs: Int64) throws(StoreError)
    /// Removes the record under `key`; none there is no error.
    func remove(_ key: [UInt8]) throws(StoreError)
    /// Every record whose key starts with `prefix`, in any order.
    func list(prefix: [UInt8]) throws(StoreError) -> [(key: [UInt8], value: [UInt8])]
    /// Throws when the store cannot serve now (readiness).
    func check() throws(StoreError)
}
