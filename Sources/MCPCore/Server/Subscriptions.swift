/// resources/subscribe and resources/unsubscribe, per session, and the host's
/// "this resource changed" reaching exactly the sessions that subscribed.
extension ServerSession {
    func subscribe(_ request: InboundRequest, params: JSONObject, on: Bool) {
        guard let uri = params["uri"]?.stringValue else {
            return reply(request, .failure(.invalidParams("A string \"uri\" is required")))
        }
        if on {
            let exists = server.features.withLock { f in
                f.resources[uri] != nil || f.templates.values.contains { $0.template.match(uri) != nil }
            }
            guard exists else {
                return reply(request, .failure(JSONRPCError(code: ErrorCode.resourceNotFound,
                                                                message: "Resource not found: \(uri)", data: ["uri": .string(uri)])))
            }
            state.withLock { _ = $0.subscriptions.insert(uri) }
        } else {
            state.withLock { _ = $0.subscriptions.remove(uri) }
        }
        do throws(StoreError) {
            try saveRecord()
        } catch {
            return reply(request, .failure(error.rpcError))
        }
        reply(request, .success(.object(JSONObject())))
    }

    /// Whether this session subscribed to `uri` or to a resource it lies under.
    public func isSubscribed(to uri: String) -> Bool {
        state.withLock { s in
            s.subscriptions.contains(uri) || s.subscriptions.contains { SubscriptionFilter.covers($0, uri) }
        }
    }
}

extension ServerCore {
    /// Sends notifications/resources/updated to every session subscribed to
    /// `uri` and every listen stream whose filter names it. Returns how many
    /// sessions and streams were told.
    @discardableResult
    public func notifyResourceUpdated(uri: String) -> Int {
        guard let relay = resourceRelay.withLock({ $0 }) else { return notifyResourceUpdatedHere(uri: uri, stored: true) }
        // A fleet: sessions kept in the store are told by the relay, on
        // every process, once each; the rest are this process's alone.
        relay(uri)
        let stored = liveSessions.filter { $0.isStoredSession && $0.isInitialized && $0.isSubscribed(to: uri) }.count
        return stored + notifyResourceUpdatedHere(uri: uri, stored: false)
    }

    /// Tells this process's subscribers of `uri`: its listen streams and its
    /// sessions, those kept in a store only when `stored` (a fleet relays a
    /// change to those itself, and to every process's listen streams).
    @discardableResult
    public func notifyResourceUpdatedHere(uri: String, stored: Bool) -> Int {
        let message = Message.notification(method: "notifications/resources/updated", params: ["uri": .string(uri)])
        var told = 0
        for s in liveSessions where (stored || !s.isStoredSession) && s.isInitialized && s.isSubscribed(to: uri) {
            s.send(message)
            told += 1
        }
        return told + listeners.deliver(message)
    }

    /// Makes resource changes of stored sessions go through `relay` (a
    /// transport serving a fleet; nil: back to telling them here).
    public func relayResourceUpdates(_ relay: (@Sendable (String) -> Void)?) {
        resourceRelay.withLock { $0 = relay }
    }

    /// A log message from the host to every session, each filtered by its level.
    public func log(level: LoggingLevel, logger: String?, data: JSONValue) {
        for s in liveSessions where s.isInitialized { s.log(level: level, logger: logger, data: data) }
    }

    /// Sends notifications/elicitation/complete to the session with this id.
    public func notifyElicitationComplete(sessionID: String, elicitationID: String) -> Bool {
        guard let s = liveSessions.first(where: { $0.id == sessionID }), s.isInitialized else { return false }
        s.send(.notification(method: "notifications/elicitation/complete",
                             params: ["elicitationId": .string(elicitationID)]))
        return true
    }
}
