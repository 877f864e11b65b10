import MCPRuntime

/// Why a request we sent did not produce a result.
public enum RequestFailure: Error, Sendable, Equatable {
    /// The peer answered with a JSON-RPC error.
    case peer(JSONRPCError)
    case timeout
    case cancelled
    /// The session or connection closed before an answer.
    case closed
    /// The transport lost this request's answer and says how (a reset, a
    /// response cut short, bytes that are not HTTP, an answer over the size
    /// cap): the same outcome as `closed`, with the reason for the host.
    case lost(String)
    /// The answer asks for what this side cannot do: a server that chose a
    /// protocol revision this client does not speak (the text says which).
    case unsupported(String)
    /// A bound of this side was reached (the text says which): a server
    /// that keeps asking for input past max_input_rounds, for example.
    case limit(String)
}

/// Timing rules of one outgoing request.
public struct RequestTiming: Sendable {
    /// Time allowed without an answer (reset by progress when `resetOnProgress`).
    public var timeoutMs: Int
    /// Hard limit however much progress arrives.
    public var maxTotalMs: Int
    public var resetOnProgress: Bool

    public init(timeoutMs: Int = 60_000, maxTotalMs: Int = 600_000, resetOnProgress: Bool = true) {
        self.timeoutMs = max(1, timeoutMs)
        self.maxTotalMs = max(self.timeoutMs, maxTotalMs)
        self.resetOnProgress = resetOnProgress
    }
}

/// The method handlers on top of a peer: the client or server session.
/// Calls come on the thread that handed the message to `JSONRPCPeer.receive`.
protocol PeerMethods: AnyObject, Sendable {
    /// A request the peer does not answer itself (it answers `ping`). The
    /// request is registered until it is answered (`InboundRequest.answer`,
    /// exactly once, from any thread) or cancelled.
    func handleRequest(_ request: InboundRequest, params: JSONObject)
    /// Every notification; `notifications/cancelled` after the peer cancelled
    /// the request it names, `notifications/progress` only when no request of
    /// ours took it.
    func handleNotification(method: String, params: JSONObject)
    /// Whether the peer answers this `ping` itself (the 2025 era's liveness
    /// check). A role that refuses ping for some requests says no here.
    func answersPing(meta: JSONObject?) -> Bool
}

extension PeerMethods {
    func answersPing(meta: JSONObject?) -> Bool { true }
}

/// One end of a JSON-RPC connection, the same for client and server: the
/// requests we sent and wait on (ids, timeouts reset by progress up to a total
/// cap, cancellation), the requests we received and are answering (id reuse
/// refused, cancellation, answered once), `notifications/cancelled` and
/// `notifications/progress` both ways, and the close path. What each method
/// means is left to the `PeerMethods` above it. No I/O and no threads: bytes
/// leave through channels, time comes from the injected `TimerService`.
public final class JSONRPCPeer: Sendable {
    public typealias Completion = @Sendable (Result<JSONValue, RequestFailure>) -> Void
    public typealias ProgressHandler = @Sendable (JSONObject) -> Void

    private struct Outgoing {
        var completion: Completion
        var progress: ProgressHandler?
        var timing: RequestTiming
        /// False for requests the protocol forbids cancelling (initialize):
        /// a timeout or local cancel fails them here without telling the peer.
        var cancellable: Bool
        var started: MonotonicInstant
        var timer: TimerToken?
        /// The received request this one was made for; it is cancelled with it.
        var related: InboundRequest?
        /// Its client span, while tracing is on.
        var span: RequestSpan?
    }

    private struct State {
        var nextID: Int64 = 0
        var outgoing = RequestTable<Outgoing>()
        var incoming = RequestTable<InboundRequest>()
        /// Answers taken out of `incoming` but not yet written (drain waits for them).
        var answering = 0
        var closed = false
        var onClose: [@Sendable () -> Void] = []
        /// Where a response to no request of ours, or a cancellation of no
        /// request we hold, goes (another process of a fleet may hold it).
        var unmatched: (@Sendable (Message) -> Void)?
    }

    private let state = LockedState(State())
    /// Runs cancel handlers and anything else handed to host code.
    let executor: HandlerExecutor
    private let timers: any TimerService
    /// Messages tied to no received request (our cancellations, by default our requests).
    public let defaultChannel: MessageChannel
    /// Told of each received request and its outcome (a server's metrics); nil: none kept.
    let observer: SessionObserver?
    /// The session's revision and id, for the spans of its requests.
    let traceScope: TraceScope

    public convenience init(executor: HandlerExecutor, timers: any TimerService, defaultChannel: MessageChannel) {
        self.init(executor: executor, timers: timers, defaultChannel: defaultChannel, observer: nil)
    }

    init(executor: HandlerExecutor, timers: any TimerService, defaultChannel: MessageChannel,
         observer: SessionObserver?, traceScope: TraceScope = .none)
    {
        self.traceScope = traceScope
        self.executor = executor
        self.timers = timers
        self.defaultChannel = defaultChannel
        self.observer = observer
    }

    public var isClosed: Bool { state.withLock { $0.closed } }
    /// Received requests not yet answered.
    public var incomingCount: Int { state.withLock { $0.incoming.count } }

    // MARK: sending

    /// Sends a message unless the peer is closed.
    public func send(_ message: Message, on channel: MessageChannel? = nil) {
        if isClosed { return }
        (channel ?? defaultChannel).send(message.serialized())
    }

    /// Sends a request and returns its id; `completion` runs exactly once, on
    /// the thread that settles it (answer, timeout, cancel, close). When
    /// `progress` is given, `_meta.progressToken` is the request id. Returns
    /// nil (after failing the completion with .closed) when the peer is closed.
    @discardableResult
    public func request(method: String, params: JSONObject?, timing: RequestTiming,
                        progress: ProgressHandler? = nil, cancellable: Bool = true,
                        relatedTo related: InboundRequest? = nil, on channel: MessageChannel? = nil,
                        assigned: ((RequestID) -> Void)? = nil,
                        completion: @escaping Completion) -> RequestID?
    {
        let now = timers.now()
        let id = state.withLock { s -> RequestID? in
            if s.closed { return nil }
            s.nextID += 1
            let id = RequestID.int(s.nextID)
            s.outgoing[id] = Outgoing(completion: completion, progress: progress, timing: timing,
                                      cancellable: cancellable, started: now, timer: nil, related: related)
            return id
        }
        guard let id else {
            completion(.failure(.closed))
            return nil
        }
        assigned?(id)
        related?.track(id)
        arm(id, afterMs: timing.timeoutMs)
        var p = Tracing.isOn ? traced(id, method: method, params: params, related: related) : params ?? JSONObject()
        if progress != nil {
            var meta = p["_meta"]?.objectValue ?? JSONObject()
            meta["progressToken"] = id.json
            p["_meta"] = .object(meta)
        }
        let hasParams = params != nil || progress != nil || p["_meta"] != nil
        send(.request(id: id, method: method, params: hasParams ? .object(p) : nil), on: channel)
        return id
    }

    /// Starts the client span of a request we send and names it in the
    /// request's `_meta.traceparent`. Its parent: the trace context the host
    /// put there, else the received request this one serves, else none.
    private func traced(_ id: RequestID, method: String, params: JSONObject?, related: InboundRequest?) -> JSONObject {
        let given = SpanConventions.parent(in: params?["_meta"]?.objectValue)
        let span = RequestSpan(kind: .client, method: method, params: params, id: id,
                               parent: given ?? related?.span?.context, remoteParent: false, scope: traceScope)
        let kept = state.withLock { s -> Bool in
            guard s.outgoing[id] != nil else { return false }
            s.outgoing[id]?.span = span
            return true
        }
        // Settled already (closed meanwhile): the span ends as it did.
        if !kept { span.end(SpanFailure(type: "closed", message: "the connection closed before the request was sent")) }
        return SpanConventions.inject(span, into: params)
    }

    /// Hands a request's outcome to its caller, ending its span first.
    private func settle(_ p: Outgoing, _ outcome: Result<JSONValue, RequestFailure>) {
        if let span = p.span { span.end(SpanConventions.failure(received: outcome, method: span.method)) }
        p.completion(outcome)
    }

    /// Cancels a request we sent: the caller gets .cancelled and, unless the
    /// request may not be cancelled, the peer is told.
    public func cancel(_ id: RequestID, reason: String?) {
        guard let p = take(id) else { return }
        if p.cancellable { sendCancelled(id, reason: reason) }
        settle(p, .failure(.cancelled))
    }

    /// Whether a request we sent still waits for its answer.
    public func isAwaiting(_ id: RequestID) -> Bool {
        state.withLock { $0.outgoing[id] != nil }
    }

    /// Fails one request without telling the peer (the transport lost it, or
    /// its answer). False when it is not waiting.
    @discardableResult
    public func fail(_ id: RequestID, with failure: RequestFailure) -> Bool {
        guard let p = take(id) else { return false }
        settle(p, .failure(failure))
        return true
    }

    // Sent even after close: a request cancelled by the close path still tells
    // the peer, as long as the channel takes it.
    private func sendCancelled(_ id: RequestID, reason: String?) {
        var params = JSONObject(["requestId": id.json])
        if let reason { params["reason"] = .string(reason) }
        defaultChannel.send(Message.notification(method: "notifications/cancelled", params: .object(params)).serialized())
    }

    private func arm(_ id: RequestID, afterMs ms: Int) {
        let token = timers.schedule(after: ms) { [weak self] in self?.expire(id) }
        // The request may have settled meanwhile (then the new timer goes);
        // otherwise the timer it replaces goes.
        let unneeded = state.withLock { s -> TimerToken? in
            guard s.outgoing[id] != nil else { return token }
            defer { s.outgoing[id]?.timer = token }
            return s.outgoing[id]?.timer
        }
        if let unneeded { timers.cancel(unneeded) }
    }

    private func take(_ id: RequestID) -> Outgoing? {
        let p = state.withLock { $0.outgoing.removeValue(forKey: id) }
        if let t = p?.timer { timers.cancel(t) }
        p?.related?.untrack(id)
        return p
    }

    private func expire(_ id: RequestID) {
        guard let p = take(id) else { return }
        if p.cancellable { sendCancelled(id, reason: "Request timed out") }
        settle(p, .failure(.timeout))
    }

    // MARK: receiving

    /// Handles one message from the other end. Answers to received requests
    /// go to `channel` (`channel.finish` once per request). Returns 1 when the
    /// message is a request (it will be answered or its channel finished
    /// without an answer), else 0.
    @discardableResult
    func receive(_ message: Message, channel: MessageChannel, methods: some PeerMethods) -> Int {
        switch message {
        case .response(let id, let result):
            route(id, .success(result))
            return 0
        case .errorResponse(let id, let error):
            if let id { route(id, .failure(error)) }
            return 0
        case .notification(let method, let params):
            let p = params?.objectValue ?? JSONObject()
            switch method {
            case "notifications/cancelled":
                if let raw = p["requestId"], let id = RequestID(raw) { cancelIncoming(id) }
            case "notifications/progress":
                if progress(p) { return 0 }
            default:
                break
            }
            methods.handleNotification(method: method, params: p)
            return 0
        case .request(let id, let method, let params):
            let p = params?.objectValue ?? JSONObject()
            let meta = p["_meta"]?.objectValue
            let span = Tracing.isOn ? serverSpan(id, method: method, params: p, meta: meta, channel: channel) : nil
            let request = InboundRequest(peer: self, id: id, method: method, meta: meta, channel: channel,
                                         stamp: observer?.start(method: method, params: p), span: span)
            if method == "ping", methods.answersPing(meta: request.meta) {
                try? request.answer(.success(.object(JSONObject())))
                return 1
            }
            let refusal = state.withLock { s -> Bool? in
                if s.closed { return false }
                if s.incoming[id] != nil { return true }
                s.incoming[id] = request
                return nil
            }
            switch refusal {
            case nil: methods.handleRequest(request, params: p)
            case true?:
                let error = JSONRPCError.invalidRequest("Request id \(id) is already in use")
                observe(request, .failure(error))
                channel.finish(Message.errorResponse(id: id, error: error).serialized())
            case false?:
                observe(request, nil)
                channel.finish(nil)
            }
            return 1
        }
    }

    /// The server span of a received request: a child of the trace context
    /// in its `_meta`, else of the one its transport carried (an HTTP header).
    private func serverSpan(_ id: RequestID, method: String, params: JSONObject, meta: JSONObject?,
                            channel: MessageChannel) -> RequestSpan
    {
        let parent = SpanConventions.parent(in: meta) ?? channel.traceHeaders.flatMap {
            SpanConventions.parent(traceParent: $0.traceParent, traceState: $0.traceState)
        }
        return RequestSpan(kind: .server, method: method, params: params, id: id, parent: parent,
                           remoteParent: true, scope: traceScope, transport: channel.spanTransport)
    }

    /// Hands responses to no request of ours and cancellations of no request
    /// we hold to `relay` (a fleet: another process may have sent or be
    /// serving it), and numbers our requests from a random point, so that
    /// two processes serving one session never use the same request id.
    public func relayUnmatched(_ relay: @escaping @Sendable (Message) -> Void) {
        var rng = SystemRandomNumberGenerator()
        let start = Int64(rng.next(upperBound: UInt64(1) << 52))  // JSON-safe integers stay below 2^53
        state.withLock { s in
            s.unmatched = relay
            if s.nextID < start { s.nextID = start }
        }
    }

    /// A message another process relayed here: settled or cancelled if it is
    /// ours, else dropped (never relayed again). True when it was ours.
    @discardableResult
    public func receiveRelayed(_ message: Message) -> Bool {
        switch message {
        case .response(let id, let result): return route(id, .success(result), relay: false)
        case .errorResponse(let id?, let error): return route(id, .failure(error), relay: false)
        case .notification("notifications/cancelled", let params):
            guard let raw = params?.objectValue?["requestId"], let id = RequestID(raw) else { return false }
            return cancelIncoming(id, relay: false)
        default: return false
        }
    }

    @discardableResult
    private func route(_ id: RequestID, _ outcome: Result<JSONValue, JSONRPCError>, relay: Bool = true) -> Bool {
        guard let p = take(id) else {  // late (timed out, cancelled), unknown, or another process's
            if relay, let unmatched = state.withLock({ $0.unmatched }) {
                switch outcome {
                case .success(let r): unmatched(.response(id: id, result: r))
                case .failure(let e): unmatched(.errorResponse(id: id, error: e))
                }
            }
            return false
        }
        switch outcome {
        case .success(let r): settle(p, .success(r))
        case .failure(let e): settle(p, .failure(.peer(e)))
        }
        return true
    }

    /// Progress on a request of ours that asked for it: handed on, and the
    /// timeout starts again (never past the request's total cap).
    private func progress(_ params: JSONObject) -> Bool {
        guard let token = params["progressToken"].flatMap(RequestID.init) else { return false }
        let now = timers.now()
        let found = state.withLock { s -> (ProgressHandler, Int?)? in
            guard let p = s.outgoing[token], let handler = p.progress else { return nil }
            var rearm: Int? = nil
            if p.timing.resetOnProgress {
                let elapsed = Int((now.nanoseconds &- p.started.nanoseconds) / 1_000_000)
                rearm = max(0, min(p.timing.timeoutMs, p.timing.maxTotalMs - elapsed))
            }
            return (handler, rearm)
        }
        guard let (handler, rearm) = found else { return false }
        if let rearm { arm(token, afterMs: rearm) }
        handler(params)
        return true
    }

    @discardableResult
    private func cancelIncoming(_ id: RequestID, relay: Bool = true) -> Bool {
        let request = state.withLockAndNotify { $0.incoming.removeValue(forKey: id) }
        guard let request else {
            if relay, let unmatched = state.withLock({ $0.unmatched }) {
                unmatched(.notification(method: "notifications/cancelled", params: .object(["requestId": id.json])))
            }
            return false
        }
        request.cancel()
        return true
    }

    /// A received request was answered (nil: it ended without an answer, after
    /// its cancellation). The id is released first, since the other end may
    /// reuse it once it sees the answer; `answering` keeps drain waiting
    /// until the answer is written.
    func finish(_ request: InboundRequest, _ outcome: Result<JSONValue, JSONRPCError>?) {
        let closed = state.withLock { s -> Bool in
            if let current = s.incoming[request.id], current === request { s.incoming[request.id] = nil }
            s.answering += 1
            return s.closed
        }
        observe(request, closed ? nil : outcome)
        if closed {
            if outcome != nil { request.channel.finish(nil) }
        } else {
            switch outcome {
            case .success(let r)?:
                request.channel.finish(Message.response(id: request.id, result: r).serialized(for: request.channel))
            case .failure(let e)?:
                request.channel.finish(error: Message.errorResponse(id: request.id, error: e).serialized(), code: e.code)
            case nil: break
            }
        }
        state.withLockAndNotify { $0.answering -= 1 }
    }

    /// Metrics and tracing: the request ended with `answer` (nil: none was sent).
    @inline(__always)
    private func observe(_ request: InboundRequest, _ answer: Result<JSONValue, JSONRPCError>?) {
        if let observer, let stamp = request.stamp { observer.finish(request, stamp, answer) }
        if let span = request.span { span.end(SpanConventions.failure(answered: answer, method: request.method)) }
    }

    // MARK: lifetime

    /// Waits until no received request is unanswered, or the deadline passes.
    public func waitUntilIdle(until deadline: MonotonicInstant?) -> Bool {
        state.wait(until: deadline) { $0.incoming.isEmpty && $0.answering == 0 }
    }

    /// Waits until fewer than `limit` received requests are unanswered or
    /// being answered (or the peer closed), or the deadline passes.
    public func waitUntilIncoming(below limit: Int, until deadline: MonotonicInstant?) -> Bool {
        state.wait(until: deadline) { $0.incoming.count + $0.answering < limit || $0.closed }
    }

    /// Runs once when the peer closes (at once if it already has).
    public func onClose(_ body: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.closed { return true }
            s.onClose.append(body)
            return false
        }
        if now { body() }
    }

    /// Ends the peer: received requests are cancelled, our waiters fail with
    /// .closed, nothing more is sent, then the close hooks run. Idempotent.
    public func close() {
        let taken = state.withLockAndNotify { s -> ([InboundRequest], [@Sendable () -> Void])? in
            if s.closed { return nil }
            s.closed = true
            defer {
                s.incoming.removeAll()
                s.onClose = []
            }
            return (Array(s.incoming.values), s.onClose)
        }
        guard let (incoming, hooks) = taken else { return }
        // First the received requests: what they asked of the other end is
        // cancelled with them (and the other end told), the rest fails as closed.
        for r in incoming { r.cancel() }
        let outgoing = state.withLock { s -> [Outgoing] in
            defer { s.outgoing.removeAll() }
            return Array(s.outgoing.values)
        }
        for p in outgoing {
            if let t = p.timer { timers.cancel(t) }
            settle(p, .failure(.closed))
        }
        for h in hooks { h() }
    }
}
