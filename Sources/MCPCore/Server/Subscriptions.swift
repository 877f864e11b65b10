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
    func isSubscribed(to uri: String) -> Bool {
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
        let message = Message.notification(method: "notifications/resources/updated", params: ["uri": .string(uri)])
        var told = 0
        for s in liveSessions where s.isInitialized && s.isSubscribed(to: uri) {
            s.send(message)
            told += 1
        }
        return told + listeners.deliver(message)
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
