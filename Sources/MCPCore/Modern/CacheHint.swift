/// The caching hints of a cacheable 2026-07-28 result (`ttlMs`, `cacheScope`):
/// a server-wide default, overridden per feature by its definition.
public struct CacheHint: Sendable, Equatable {
    public enum Scope: String, Sendable { case `public`, `private` }

    /// How long the client may consider the result fresh; 0: do not cache.
    public var ttlMs: Int64
    public var scope: Scope

    public init(ttlMs: Int64 = 0, scope: Scope = .private) {
        self.ttlMs = max(0, ttlMs)
        self.scope = scope
    }

    /// The hint for a result made of several features: the shortest life and,
    /// if any of them is private, private (a list is as shareable as its
    /// least shareable item).
    func combined(with other: CacheHint) -> CacheHint {
        CacheHint(ttlMs: min(ttlMs, other.ttlMs), scope: scope == .private || other.scope == .private ? .private : .public)
    }

    func apply(to result: inout JSONObject) {
        result["ttlMs"] = .int(ttlMs)
        result["cacheScope"] = .string(scope.rawValue)
    }

    /// The definition keys a host sets per feature. They are libmcp's, not
    /// the protocol's, so they are taken out of the definition sent to clients.
    static let ttlKey = "ttlMs"
    static let scopeKey = "cacheScope"

    /// A feature's own hint: either part may be left to the server's default.
    public struct Override: Sendable, Equatable {
        public var ttlMs: Int64?
        public var scope: Scope?

        public init(ttlMs: Int64? = nil, scope: Scope? = nil) {
            self.ttlMs = ttlMs
            self.scope = scope
        }

        func resolved(_ base: CacheHint) -> CacheHint {
            CacheHint(ttlMs: ttlMs ?? base.ttlMs, scope: scope ?? base.scope)
        }
    }

    /// Takes the hint keys out of a feature definition; nil when it has none.
    static func extract(from definition: inout JSONObject) throws(DefinitionError) -> Override? {
        let ttl = definition[ttlKey]
        let scope = definition[scopeKey]
        guard ttl != nil || scope != nil else { return nil }
        var hint = Override()
        if let ttl {
            guard let t = ttl.intValue, t >= 0 else { throw .invalid("\"\(ttlKey)\" must be an integer >= 0") }
            hint.ttlMs = t
        }
        if let scope {
            guard let s = scope.stringValue.flatMap(Scope.init(rawValue:)) else {
                throw .invalid("\"\(scopeKey)\" must be \"public\" or \"private\"")
            }
            hint.scope = s
        }
        definition[ttlKey] = nil
        definition[scopeKey] = nil
        return hint
    }
}
