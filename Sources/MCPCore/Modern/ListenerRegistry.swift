import MCPRuntime

/// One open `subscriptions/listen` stream: the request that opened it (never
/// answered until the server ends it gracefully), the session it came on and
/// what it asked for.
final class Listener: Sendable {
    let request: InboundRequest
    let session: ServerSession
    let filter: SubscriptionFilter
    /// Serializes what goes out on this subscription, so that the
    /// acknowledgement is its first message and the graceful end its last
    /// even when a broadcast runs on another thread. True once ended.
    private let gate = LockedState(false)

    init(request: InboundRequest, session: ServerSession, filter: SubscriptionFilter) {
        self.request = request
        self.session = session
        self.filter = filter
    }

    var subscriptionID: RequestID { request.id }

    /// Runs `body` (registration and the acknowledgement) with the gate held:
    /// a notification for this listener found by a concurrent broadcast
    /// waits until the acknowledgement is out.
    func opening(_ body: () -> Void) {
        gate.withLock { _ in body() }
    }

    /// Sends one notification, tagged, unless the listener ended. False when
    /// it did not go out.
    @discardableResult
    func deliver(_ message: Message) -> Bool {
        gate.withLock { (ended: inout Bool) -> Bool in
            guard !ended, !request.isCancelled else { return false }
            session.send(SubscriptionFilter.tag(message, id: subscriptionID), on: request.channel)
            return true
        }
    }

    /// Nothing more goes out (the client cancelled or the stream closed).
    func close() {
        gate.withLock { $0 = true }
    }

    /// The server ends the subscription: the listen request's result
    /// (resultType complete, the subscription id in `_meta`) is its last
    /// message; over HTTP it ends the response stream.
    func endGracefully() {
        gate.withLock { ended in
            guard !ended else { return }
            ended = true
            let meta: JSONObject = [SubscriptionFilter.subscriptionIDKey: subscriptionID.json]
            session.reply(request, .success(.object(["_meta": .object(meta)])))
        }
    }
}

/// The server's open listen streams. Every list change and resource update
/// the host makes goes through here to the listeners whose filter admits it.
final class ListenerRegistry: Sendable {
    private let listeners = LockedState([ObjectIdentifier: Listener]())

    var count: Int { listeners.withLock { $0.count } }

    func add(_ l: Listener) { listeners.withLock { $0[ObjectIdentifier(l)] = l } }

    func remove(_ l: Listener) { listeners.withLock { $0[ObjectIdentifier(l)] = nil } }

    /// Sends `message` to every listener that asked for it; returns how many got it.
    /// Sent outside the registry's lock: a slow stream delays only this broadcast.
    func deliver(_ message: Message) -> Int {
        guard case .notification(let method, let params) = message else { return 0 }
        let targets = listeners.withLock { $0.values.filter { $0.filter.admits(method: method, params: params) } }
        return targets.reduce(0) { n, l in n + (l.deliver(message) ? 1 : 0) }
    }

    /// Takes out the listeners whose session matches and ends each gracefully.
    func endAll(where matches: (ServerSession) -> Bool) -> Int {
        let taken = listeners.withLock { all -> [Listener] in
            let hit = all.values.filter { matches($0.session) }
            for l in hit { all[ObjectIdentifier(l)] = nil }
            return hit
        }
        for l in taken { l.endGracefully() }
        return taken.count
    }
}
