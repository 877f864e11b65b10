import MCPRuntime

/// One subscription the host opened: its filter, the host's handler (which
/// gets its notifications one at a time, in the order they arrived) and how
/// it ends. Both eras; see ClientSession.subscribe.
public final class ClientSubscription: Sendable {
    public let requested: SubscriptionFilter
    let handler: ClientNotificationHandler
    let ordered: OrderedExecutor
    let state = LockedState(State())

    struct State {
        var id: RequestID?
        /// Modern: the filter the server acknowledged. Legacy: what this
        /// client could arrange (see subscribeLegacy).
        var honored: SubscriptionFilter?
        var ended = false
        var acknowledged: (@Sendable (Result<(RequestID, SubscriptionFilter), RequestFailure>) -> Void)?
        var onEnd: (@Sendable (String) -> Void)?
    }

    init(_ filter: SubscriptionFilter, executor: HandlerExecutor, handler: @escaping ClientNotificationHandler,
         acknowledged: @escaping @Sendable (Result<(RequestID, SubscriptionFilter), RequestFailure>) -> Void,
         ended: @escaping @Sendable (String) -> Void)
    {
        requested = filter
        self.handler = handler
        ordered = OrderedExecutor(base: executor)
        state.withLock {
            $0.acknowledged = acknowledged
            $0.onEnd = ended
        }
    }

    /// The subscription is in place: the caller of subscribe hears it, once.
    func acknowledge(id: RequestID, honored: SubscriptionFilter) {
        let ack = state.withLock { s -> (@Sendable (Result<(RequestID, SubscriptionFilter), RequestFailure>) -> Void)? in
            guard !s.ended else { return nil }
            s.honored = honored
            defer { s.acknowledged = nil }
            return s.acknowledged
        }
        ack?(.success((id, honored)))
    }

    /// Hands one notification to the host, after those before it.
    func deliver(_ method: String, _ params: JSONObject) {
        guard state.withLock({ !$0.ended && $0.honored != nil }) else { return }
        let handler = self.handler
        ordered.execute { handler(method, params) }
    }

    /// Ends it, once: before the acknowledgment the caller of subscribe gets
    /// the failure; after it the end callback runs, after every notification.
    func end(_ failure: RequestFailure, reason: String) {
        let (ack, onEnd) = state.withLock { s -> ((@Sendable (Result<(RequestID, SubscriptionFilter), RequestFailure>) -> Void)?, (@Sendable (String) -> Void)?) in
            if s.ended { return (nil, nil) }
            s.ended = true
            defer {
                s.acknowledged = nil
                s.onEnd = nil
            }
            return (s.acknowledged, s.honored == nil ? nil : s.onEnd)
        }
        if let ack { return ack(.failure(failure)) }
        if let onEnd { ordered.execute { onEnd(reason) } }
    }

    var isEnded: Bool { state.withLock { $0.ended } }
}

/// Subscriptions (subscriptions.mdx): at the modern revision one long-lived
/// `subscriptions/listen` request per subscription, whose notifications are
/// told apart by `_meta` subscriptionId; at the 2025 era `resources/subscribe`
/// per URI and the notifications the server sends anyway, picked by the
/// filter. The host writes one piece of code for both.
extension ClientSession {
    static let subscriptionIdKey = SubscriptionFilter.subscriptionIDKey
    /// Notifications carrying a subscription id that is not known yet (the
    /// acknowledgment may overtake the return of the request that opened
    /// it): kept, a few, until it is.
    static let maxEarlyNotifications = 64

    /// Opens a subscription. `acknowledged` runs once: with the id to
    /// unsubscribe with and the filter the server honoured, or with why it
    /// could not be opened. After a success `handler` gets the filter's
    /// notifications in order, then `ended` runs once with why it ended
    /// (unsubscribed, the server ended it, the connection closed).
    public func subscribe(_ filter: SubscriptionFilter, handler: @escaping ClientNotificationHandler,
                          acknowledged: @escaping @Sendable (Result<(RequestID, SubscriptionFilter), RequestFailure>) -> Void,
                          ended: @escaping @Sendable (String) -> Void) throws(CallFailure) -> ClientSubscription
    {
        let sub = ClientSubscription(filter, executor: executor, handler: handler, acknowledged: acknowledged, ended: ended)
        if isModern { try subscribeModern(sub) } else { try subscribeLegacy(sub) }
        return sub
    }

    /// Ends a subscription whether or not it was acknowledged yet (a caller
    /// that stopped waiting for the acknowledgment).
    public func unsubscribe(_ sub: ClientSubscription) {
        if let id = sub.state.withLock({ $0.id }) { unsubscribe(id) }
        sub.end(.cancelled, reason: "unsubscribed")
    }

    /// Ends a subscription the host opened; an unknown id is a no-op.
    public func unsubscribe(_ id: RequestID) {
        guard let sub = state.withLock({ $0.subscriptions[id] }) else { return }
        if isModern {
            // The stream is cancelled (notifications/cancelled on stdio, the
            // SSE stream closed over HTTP); the request then fails .cancelled.
            cancel(id, reason: "unsubscribed")
        } else {
            for uri in sub.requested.resourceSubscriptions where !stillWanted(uri, besides: id) {
                _ = try? request(method: "resources/unsubscribe", params: ["uri": .string(uri)]) { _ in }
            }
        }
        state.withLock { _ = $0.subscriptions.removeValue(forKey: id) }
        sub.end(.cancelled, reason: "unsubscribed")
    }

    // MARK: modern

    private func subscribeModern(_ sub: ClientSubscription) throws(CallFailure) {
        // A subscription lasts until cancelled: no timeout of its own.
        let forever = RequestTiming(timeoutMs: Int(Int32.max), maxTotalMs: Int(Int32.max), resetOnProgress: false)
        let params: JSONObject = ["notifications": .object(sub.requested.json)]
        let id = try request(method: "subscriptions/listen", params: params, timing: forever, inline: true) {
            [weak self] outcome in
            let id = sub.state.withLock { $0.id }
            if let id { self?.state.withLock { _ = $0.subscriptions.removeValue(forKey: id) } }
            switch outcome {
            case .success:
                sub.end(.unsupported("The server answered subscriptions/listen before acknowledging it"),
                        reason: "the server ended the subscription")
            case .failure(.cancelled):
                sub.end(.cancelled, reason: "unsubscribed")
            case .failure(.lost(let why)):
                sub.end(.lost(why), reason: "the subscription broke: \(why)")
            case .failure(let f):
                sub.end(f, reason: "the subscription broke: \(f)")
            }
        }
        guard let id else { return sub.end(.closed, reason: "the connection closed") }
        let early = state.withLock { s -> [(String, JSONObject)] in
            sub.state.withLock { $0.id = id }
            guard !sub.isEnded else { return [] }
            s.subscriptions[id] = sub
            let mine = s.earlyNotifications.filter { $0.id == id }
            s.earlyNotifications.removeAll { $0.id == id }
            return mine.map { ($0.method, $0.params) }
        }
        for (method, params) in early { route(sub, id: id, method, params) }
    }

    /// A notification that names a subscription: true when it was taken care
    /// of here (not for the general handler).
    func routeToSubscription(_ method: String, _ params: JSONObject) -> Bool {
        guard let raw = params["_meta"]?[Self.subscriptionIdKey], let sid = RequestID(raw) else { return false }
        let found = state.withLock { s -> (RequestID, ClientSubscription)? in
            if let sub = s.subscriptions[sid] { return (sid, sub) }
            // A re-issued listen (its answer stream broke) has a new wire id.
            for (first, call) in s.calls where call.state.withLock({ $0.current == sid }) {
                if let sub = s.subscriptions[first] { return (first, sub) }
            }
            s.earlyNotifications.append((sid, method, params))
            if s.earlyNotifications.count > Self.maxEarlyNotifications { s.earlyNotifications.removeFirst() }
            return nil
        }
        guard let (id, sub) = found else { return isModern }
        route(sub, id: id, method, params)
        return true
    }

    private func route(_ sub: ClientSubscription, id: RequestID, _ method: String, _ params: JSONObject) {
        if method == "notifications/subscriptions/acknowledged" {
            var honored = SubscriptionFilter()
            if let o = params["notifications"]?.objectValue {
                // What the server agreed to, read leniently: only what was asked counts.
                honored.toolsListChanged = o["toolsListChanged"] == .bool(true) && sub.requested.toolsListChanged
                honored.promptsListChanged = o["promptsListChanged"] == .bool(true) && sub.requested.promptsListChanged
                honored.resourcesListChanged = o["resourcesListChanged"] == .bool(true) && sub.requested.resourcesListChanged
                honored.resourceSubscriptions = (o["resourceSubscriptions"]?.arrayValue ?? []).compactMap(\.stringValue)
                    .filter { sub.requested.resourceSubscriptions.contains($0) }
            }
            sub.acknowledge(id: id, honored: honored)
        } else {
            sub.deliver(method, params)
        }
    }

    // MARK: 2025 era

    /// `resources/subscribe` for each URI (the server must declare
    /// resources.subscribe); list changes are honoured where the server
    /// declares listChanged. The id is local (negative): no request carries it.
    private func subscribeLegacy(_ sub: ClientSubscription) throws(CallFailure) {
        let caps = state.withLock { $0.serverCapabilities }
        var honored = sub.requested
        honored.toolsListChanged = honored.toolsListChanged && caps["tools"]?["listChanged"] == .bool(true)
        honored.promptsListChanged = honored.promptsListChanged && caps["prompts"]?["listChanged"] == .bool(true)
        honored.resourcesListChanged = honored.resourcesListChanged && caps["resources"]?["listChanged"] == .bool(true)
        let uris = sub.requested.resourceSubscriptions
        let agreed = honored
        if !uris.isEmpty, caps["resources"]?["subscribe"] != .bool(true) {
            throw .unsupported("The server does not support resource subscriptions (resources.subscribe)")
        }
        let id = state.withLock { s -> RequestID in
            s.nextLocalSubscription -= 1
            let id = RequestID.int(s.nextLocalSubscription)
            s.subscriptions[id] = sub
            return id
        }
        sub.state.withLock { $0.id = id }
        if !state.withLock({ $0.watchesClose }) {
            state.withLock { $0.watchesClose = true }
            onClose { [weak self] in self?.endAllSubscriptions() }
        }
        guard !uris.isEmpty else { return sub.acknowledge(id: id, honored: agreed) }
        let left = LockedState((count: uris.count, failure: RequestFailure?.none))
        for uri in uris {
            do throws(CallFailure) {
                try request(method: "resources/subscribe", params: ["uri": .string(uri)]) { [weak self] outcome in
                    let done = left.withLock { l -> (Bool, RequestFailure?) in
                        if case .failure(let f) = outcome, l.failure == nil { l.failure = f }
                        l.count -= 1
                        return (l.count == 0, l.failure)
                    }
                    guard done.0 else { return }
                    if let f = done.1 {
                        self?.state.withLock { _ = $0.subscriptions.removeValue(forKey: id) }
                        sub.end(f, reason: "resources/subscribe failed")
                    } else {
                        sub.acknowledge(id: id, honored: agreed)
                    }
                }
            } catch {
                state.withLock { _ = $0.subscriptions.removeValue(forKey: id) }
                throw error
            }
        }
    }

    /// 2025 era: hands a notification to every subscription that asked for it.
    func deliverToLegacySubscriptions(_ method: String, _ params: JSONObject) {
        guard !isModern else { return }
        let subs = state.withLock { Array($0.subscriptions.values) }
        for sub in subs {
            guard let honored = sub.state.withLock({ $0.honored }), honored.admits(method, params) else { continue }
            sub.deliver(method, params)
        }
    }

    /// Whether another live subscription still wants a URI (2025 era: one
    /// resources/subscribe serves them all, so it stays).
    private func stillWanted(_ uri: String, besides id: RequestID) -> Bool {
        state.withLock { s in
            s.subscriptions.contains { $0.key != id && $0.value.requested.resourceSubscriptions.contains(uri) }
        }
    }

    private func endAllSubscriptions() {
        let subs = state.withLock { s -> [ClientSubscription] in
            defer { s.subscriptions.removeAll() }
            return Array(s.subscriptions.values)
        }
        for sub in subs { sub.end(.closed, reason: "the connection closed") }
    }
}
