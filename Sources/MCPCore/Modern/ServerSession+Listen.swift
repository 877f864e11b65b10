/// `subscriptions/listen` (2026-07-28): a request that stays open and
/// carries the change notifications its filter asked for, each tagged with
/// the request's id; the same on every transport (its own POST response
/// stream over HTTP, the one channel on stdio). It replaces the 2025 era's
/// GET stream and resources/subscribe.
extension ServerSession {
    func listen(_ request: InboundRequest, params: JSONObject) {
        let filter: SubscriptionFilter
        switch SubscriptionFilter.parse(params) {
        case .success(let f): filter = f
        case .failure(let e): return reply(request, .failure(e))
        }
        let listener = Listener(request: request, session: self, filter: filter)
        let registry = server.listeners
        // Registered before the acknowledgement goes out, under the listener's
        // gate: a change made once the client saw the acknowledgement reaches
        // it, and none reaches it before.
        listener.opening {
            registry.add(listener)
            var ack = JSONObject()
            ack["_meta"] = .object([SubscriptionFilter.subscriptionIDKey: request.id.json])
            ack["notifications"] = .object(filter.acknowledged)
            send(.notification(method: "notifications/subscriptions/acknowledged", params: .object(ack)),
                 on: request.channel)
        }
        // The client's end: notifications/cancelled (stdio), a closed response
        // stream (HTTP closes the session, which cancels its requests), or the
        // connection gone. Runs at once if that already happened.
        request.onCancel {
            registry.remove(listener)
            listener.close()
        }
    }
}

extension ServerCore {
    /// Open `subscriptions/listen` streams (a test and metrics hook: a
    /// stream that closed must not stay counted).
    public var listenerCount: Int { listeners.count }

    /// Ends the listen streams of the sessions that match, gracefully (each
    /// gets its listen result, resultType complete): a transport that stops
    /// calls it before closing its connections. Returns how many ended.
    @discardableResult
    public func endListeners(where matches: (ServerSession) -> Bool = { _ in true }) -> Int {
        listeners.endAll(where: matches)
    }
}
