import MCPRuntime

/// A request received from the other end, from its arrival until it is
/// answered (exactly once, from any thread) or cancelled. The call state both
/// roles share: `ServerCall` and `ClientCall` are this plus what their role adds.
public final class InboundRequest: Sendable {
    public let id: RequestID
    public let method: String
    /// The request's `_meta` (progressToken and anything else the sender put there).
    public let meta: JSONObject?
    /// Where the answer and messages related to this request go.
    let channel: MessageChannel
    let peer: JSONRPCPeer
    /// Set for a request whose answer goes elsewhere than the channel (a task's
    /// call: its answer becomes the task's result). Such a request is not in
    /// the peer's table.
    private let deliver: (@Sendable (Result<JSONValue, JSONRPCError>) -> Void)?
    /// Arrival time and tool name, when the server keeps metrics (ServerObserver).
    let stamp: RequestStamp?
    /// Its server span, while tracing is on (Tracing).
    let span: RequestSpan?
    private let state = LockedState(State())

    private struct State {
        var answered = false
        var cancelled = false
        var cancelHandlers: [@Sendable () -> Void] = []
        /// Requests we sent to the other end on this request's behalf.
        var outgoing: Set<RequestID> = []
        var lastProgress: Double?
        /// Set by the server for a request of the stateless revision.
        var modern: ModernContext?
        /// Runs once with the answer (the server's call limits: CallLimits).
        var settled: (@Sendable (Result<JSONValue, JSONRPCError>) -> Void)?
    }

    init(peer: JSONRPCPeer, id: RequestID, method: String, meta: JSONObject?, channel: MessageChannel,
         deliver: (@Sendable (Result<JSONValue, JSONRPCError>) -> Void)? = nil, stamp: RequestStamp? = nil,
         span: RequestSpan? = nil)
    {
        self.stamp = stamp
        self.span = span
        self.peer = peer
        self.id = id
        self.method = method
        self.meta = meta
        self.channel = channel
        self.deliver = deliver
    }

    /// A request answered through `deliver` rather than to the other end, with
    /// the same cancellation and once-only rules.
    func detached(channel: MessageChannel, deliver: @escaping @Sendable (Result<JSONValue, JSONRPCError>) -> Void)
        -> InboundRequest
    {
        InboundRequest(peer: peer, id: id, method: method, meta: meta, channel: channel, deliver: deliver)
    }

    /// The request's own context when it is of the stateless revision
    /// (2026-07-28): version, client capabilities, info and log level come
    /// from its `_meta`, not from a session. nil for a 2025-era request.
    public var modern: ModernContext? { state.withLock { $0.modern } }

    func attach(_ context: ModernContext) { state.withLock { $0.modern = context } }

    /// The `traceparent` naming this request's span (nil while tracing is
    /// off): the parent of whatever the host does for it.
    public var traceParent: String? { span?.traceParent }

    public var isCancelled: Bool { state.withLock { $0.cancelled } }
    public var isAnswered: Bool { state.withLock { $0.answered } }

    /// The progress token the sender asked progress under, if usable.
    var progressToken: JSONValue? {
        guard let t = meta?["progressToken"] else { return nil }
        switch t {
        case .string, .int: return t
        default: return nil
        }
    }

    /// Answers the request; once only. After cancellation the answer is
    /// dropped (the other end no longer waits for it).
    public func answer(_ outcome: Result<JSONValue, JSONRPCError>) throws(CallFailure) {
        let taken = state.withLock { s -> (Bool, (@Sendable (Result<JSONValue, JSONRPCError>) -> Void)?)? in
            if s.answered { return nil }
            s.answered = true
            s.cancelHandlers = []
            defer { s.settled = nil }
            return (s.cancelled, s.settled)
        }
        guard let (wasCancelled, settled) = taken else { throw .alreadyAnswered }
        // Before the answer leaves: a client that sends its next call on
        // reading this answer finds the slot free and the breaker up to date.
        settled?(outcome)
        if let deliver {
            if !wasCancelled { deliver(outcome) }
        } else {
            peer.finish(self, wasCancelled ? nil : outcome)
        }
    }

    /// Runs `body` once with the answer, whoever gives it (the handler, or
    /// `expire`). Set before the handler runs.
    func whenSettled(_ body: @escaping @Sendable (Result<JSONValue, JSONRPCError>) -> Void) {
        state.withLock { $0.settled = body }
    }

    /// Answers with `error` in the handler's stead and runs its cancel
    /// handlers: it took longer than it may (CallLimits). The handler sees
    /// the call cancelled, and its own answer is refused as already given.
    /// False if the request was answered or cancelled already.
    @discardableResult
    func expire(_ error: JSONRPCError) -> Bool {
        let taken = state.withLock { s -> ([@Sendable () -> Void], Set<RequestID>, (@Sendable (Result<JSONValue, JSONRPCError>) -> Void)?)? in
            if s.answered || s.cancelled { return nil }
            s.answered = true
            s.cancelled = true
            defer {
                s.cancelHandlers = []
                s.outgoing = []
                s.settled = nil
            }
            return (s.cancelHandlers, s.outgoing, s.settled)
        }
        guard let (handlers, requests, settled) = taken else { return false }
        settled?(.failure(error))
        if let deliver { deliver(.failure(error)) } else { peer.finish(self, .failure(error)) }
        for r in requests { peer.cancel(r, reason: "The request that needed it timed out") }
        for h in handlers { peer.executor.execute(h) }
        return true
    }

    /// Runs `handler` once if the request is cancelled (at once, on a worker,
    /// if it already was). It may run while the host is answering; that race
    /// is benign.
    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.cancelled { return true }
            if !s.answered { s.cancelHandlers.append(handler) }
            return false
        }
        if now { peer.executor.execute(handler) }
    }

    /// Marks the request cancelled: its channel ends at once (no answer will
    /// be sent), the requests made on its behalf are cancelled, the cancel
    /// handlers run on workers. False if it was already answered or cancelled.
    @discardableResult
    func cancel() -> Bool {
        let first = state.withLock { s -> Bool in
            if s.answered || s.cancelled { return false }
            s.cancelled = true
            return true
        }
        guard first else { return false }
        span?.end(SpanConventions.failure(answered: nil, method: method))
        channel.finish(nil)
        let (handlers, requests) = state.withLock { s in
            defer {
                s.cancelHandlers = []
                s.outgoing = []
            }
            return (s.cancelHandlers, s.outgoing)
        }
        for r in requests { peer.cancel(r, reason: "The request that needed it was cancelled") }
        for h in handlers { peer.executor.execute(h) }
        return true
    }

    func track(_ outgoing: RequestID) { state.withLock { _ = $0.outgoing.insert(outgoing) } }
    func untrack(_ outgoing: RequestID) { state.withLock { _ = $0.outgoing.remove(outgoing) } }

    /// Sends notifications/progress if the sender asked for it (else does
    /// nothing). Values must be finite and increase; `decorate` adds what the
    /// role needs to the params (a task's tag).
    func sendProgress(_ progress: Double, total: Double?, message: String?,
                      decorate: (JSONObject) -> JSONObject = { $0 }) throws(CallFailure)
    {
        guard progress.isFinite, total.map(\.isFinite) ?? true else {
            throw .invalidArgument("Progress values must be finite numbers")
        }
        let refusal = state.withLock { s -> CallFailure? in
            if s.answered { return .alreadyAnswered }
            if let last = s.lastProgress, progress <= last {
                return .invalidArgument("Progress must increase: \(progress) after \(last)")
            }
            s.lastProgress = progress
            return nil
        }
        if let refusal { throw refusal }
        guard let token = progressToken, !isCancelled else { return }
        var p = JSONObject()
        p["progressToken"] = token
        p["progress"] = .double(progress)
        if let total { p["total"] = .double(total) }
        if let message { p["message"] = .string(message) }
        peer.send(.notification(method: "notifications/progress", params: .object(decorate(p))), on: channel)
    }
}
