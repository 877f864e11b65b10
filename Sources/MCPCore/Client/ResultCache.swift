import MCPRuntime
import OrderedCollections

/// The client's response cache (caching.mdx): complete results of the
/// cacheable methods, kept while `ttlMs` says they are fresh, in memory,
/// bounded by entries and by bytes (least recently used go first), and
/// invalidated by the list-changed and resource-updated notifications.
///
/// Keyed by method and the params that shape the result (`_meta`,
/// which only describes the caller, is left out). Results of MRTR retries are
/// never offered to it. The cache belongs to one client, so one authorization
/// context: "private" entries are reused by it alone and dropped, with the
/// rest, when the host forgets the context (`removeAll(scope:)`); "public"
/// ones could be shared, and are kept apart so a later shared cache can take
/// them. Thread-safe; time comes from `now` (milliseconds) so tests drive it.
public final class ResultCache: Sendable {
    public struct Limits: Sendable, Equatable {
        public var maxEntries: Int
        public var maxBytes: Int
        public init(maxEntries: Int = 256, maxBytes: Int = 8 << 20) {
            self.maxEntries = max(1, maxEntries)
            self.maxBytes = max(1, maxBytes)
        }
    }

    /// The methods whose results carry caching hints.
    public static let methods: Set<String> = [
        "tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read",
    ]

    struct Entry {
        var method: String
        var uri: String?
        var value: JSONValue
        var bytes: Int
        var expiresMs: UInt64
        var scope: CacheHint.Scope
    }

    private struct State {
        var entries: OrderedDictionary<String, Entry> = [:]
        var bytes = 0
        var hits = 0
        var stores = 0
    }

    public let limits: Limits
    private let now: @Sendable () -> UInt64
    private let state = LockedState(State())

    public init(limits: Limits = Limits(), now: @escaping @Sendable () -> UInt64 = ResultCache.monotonicMs) {
        self.limits = limits
        self.now = now
    }

    public static let monotonicMs: @Sendable () -> UInt64 = { MonotonicInstant.now().nanoseconds / 1_000_000 }

    /// The key of a request, or nil when it is not cacheable: another
    /// method, or a retry carrying inputResponses or requestState.
    public static func key(method: String, params: JSONObject?) -> String? {
        guard methods.contains(method) else { return nil }
        var p = params ?? JSONObject()
        guard p["inputResponses"] == nil, p["requestState"] == nil else { return nil }
        p["_meta"] = nil
        // Members sorted, so the same params in another order share the entry.
        return method + " " + JSONSerializer.string(canonical(.object(p)))
    }

    private static func canonical(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o):
            var sorted = JSONObject()
            for m in o.members.sorted(by: { $0.key < $1.key }) { sorted[m.key] = canonical(m.value) }
            return .object(sorted)
        case .array(let a): return .array(a.map(canonical))
        default: return v
        }
    }

    /// A fresh result for the key, or nil (a stale one is dropped).
    public func lookup(_ key: String) -> JSONValue? {
        let t = now()
        return state.withLock { s -> JSONValue? in
            guard let e = s.entries[key] else { return nil }
            guard t < e.expiresMs else {
                remove(key, &s)
                return nil
            }
            // Most recently used last: eviction takes from the front.
            s.entries.removeValue(forKey: key)
            s.entries[key] = e
            s.hits += 1
            return e.value
        }
    }

    /// Keeps a complete result if its hints allow: `ttlMs` > 0 (absent or
    /// negative means 0, immediately stale), `resultType` complete or absent.
    /// A result bigger than the byte bound is not kept.
    public func store(_ key: String, method: String, params: JSONObject?, result: JSONValue) {
        guard case .object(let r) = result, r["resultType"].map({ $0.stringValue == "complete" }) ?? true,
              let ttl = r["ttlMs"]?.intValue, ttl > 0 else { return }
        let scope = r["cacheScope"]?.stringValue.flatMap(CacheHint.Scope.init(rawValue:)) ?? .private
        let bytes = JSONSerializer.string(result).utf8.count + key.utf8.count
        guard bytes <= limits.maxBytes else { return }
        let t = now()
        let expires = t &+ UInt64(ttl) < t ? UInt64.max : t &+ UInt64(ttl)
        let entry = Entry(method: method, uri: params?["uri"]?.stringValue, value: result, bytes: bytes,
                          expiresMs: expires, scope: scope)
        state.withLock { s in
            remove(key, &s)
            s.entries[key] = entry
            s.bytes += bytes
            s.stores += 1
            while s.entries.count > limits.maxEntries || s.bytes > limits.maxBytes, let first = s.entries.keys.first {
                remove(first, &s)
            }
        }
    }

    /// What a server notification makes stale: a list change drops that
    /// list's pages, a resource update drops reads of that URI.
    public func invalidate(notification method: String, params: JSONObject) {
        let drop: (Entry) -> Bool
        switch method {
        case "notifications/tools/list_changed": drop = { $0.method == "tools/list" }
        case "notifications/prompts/list_changed": drop = { $0.method == "prompts/list" }
        case "notifications/resources/list_changed":
            drop = { $0.method == "resources/list" || $0.method == "resources/templates/list" }
        case "notifications/resources/updated":
            let uri = params["uri"]?.stringValue
            drop = { $0.method == "resources/read" && (uri == nil || $0.uri == uri) }
        default: return
        }
        removeAll(where: drop)
    }

    /// Forgets entries of one scope (nil: all), e.g. when the authorization
    /// context changes ("private" results must not outlive it).
    public func removeAll(scope: CacheHint.Scope? = nil) {
        removeAll { scope == nil || $0.scope == scope }
    }

    private func removeAll(where drop: (Entry) -> Bool) {
        state.withLock { s in
            for (k, e) in s.entries where drop(e) { remove(k, &s) }
        }
    }

    private func remove(_ key: String, _ s: inout State) {
        if let old = s.entries.removeValue(forKey: key) { s.bytes -= old.bytes }
    }

    /// Entries, bytes, hits and stores so far (for tests and stats).
    public var stats: (entries: Int, bytes: Int, hits: Int, stores: Int) {
        state.withLock { ($0.entries.count, $0.bytes, $0.hits, $0.stores) }
    }
}
