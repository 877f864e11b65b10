import MCPRuntime

/// The response cache in the request path: a fresh entry answers without
/// a message to the server; a complete answer with `ttlMs` > 0 is kept;
/// notifications invalidate (see ResultCache). Off unless
/// `ClientOptions.cache` is set.
extension ClientSession {
    /// Answers from the cache when it can (true: the completion has been
    /// scheduled); otherwise wraps the completion so the answer is stored.
    func throughCache(method: String, params: JSONObject?, _ completion: inout JSONRPCPeer.Completion,
                      retried: inout LockedState<Bool>?) -> Bool
    {
        guard let cache, let key = ResultCache.key(method: method, params: params) else { return false }
        if let hit = cache.lookup(key) {
            let done = completion
            executor.execute { done(.success(hit)) }
            return true
        }
        // An MRTR retry sets the flag: its result depends on inputs the key lacks.
        let flag = LockedState(false)
        retried = flag
        let inner = completion
        completion = { outcome in
            if case .success(let v) = outcome, !flag.withLock({ $0 }) {
                cache.store(key, method: method, params: params, result: v)
            }
            inner(outcome)
        }
        return false
    }
}
