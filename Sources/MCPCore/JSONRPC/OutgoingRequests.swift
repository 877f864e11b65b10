import MCPRuntime
/// Why a request we sent did not produce a result.
public enum RequestFailure: Error, Sendable, Equatable {
    /// The peer answered with a JSON-RPC error.
    case peer(JSONRPCError)
    case timeout
    case cancelled
    /// The session or connection closed before an answer.
    case closed
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

/// The requests one side of a connection has sent and still waits on: ids,
/// timeouts (reset by progress up to a hard maximum), cancellation, and close.
/// Server and client both use it; nothing else allocates request ids.
public final class OutgoingRequests: Sendable {
    public typealias Completion = @Sendable (Result<JSONValue, RequestFailure>) -> Void
    public typealias ProgressHandler = @Sendable (JSONObject) -> Void

    private struct Pending {
        var method: String
        var completion: Completion
        var progress: ProgressHandler?
        var timing: RequestTiming
        var started: MonotonicInstant
        var timer: Scheduler.Token?
    }

    private struct State {
        var nextID: Int64 = 0
        var pending: [RequestID: Pending] = [:]
        var closed = false
    }

    private let state = LockedState(State())
    private let scheduler: Scheduler
    /// Sends a message to the peer (used for notifications/cancelled on timeout).
    private let sendCancel: @Sendable (Message) -> Void

    public init(scheduler: Scheduler, sendCancel: @escaping @Sendable (Message) -> Void) {
        self.scheduler = scheduler
        self.sendCancel = sendCancel
    }

    public var count: Int { state.withLock { $0.pending.count } }

    /// Registers a request and returns the message to send. When `progress` is
    /// given, `_meta.progressToken` is set to the request id.
    public func start(method: String, params: JSONObject?, timing: RequestTiming,
                      progress: ProgressHandler? = nil, completion: @escaping Completion) -> Message?
    {
        let id = state.withLock { s -> RequestID? in
            if s.closed { return nil }
            s.nextID += 1
            let id = RequestID.int(s.nextID)
            s.pending[id] = Pending(method: method, completion: completion, progress: progress, timing: timing,
                                    started: .now(), timer: nil)
            return id
        }
        guard let id else {
            completion(.failure(.closed))
            return nil
        }
        arm(id, afterMs: timing.timeoutMs)
        var p = params ?? JSONObject()
        if progress != nil {
            var meta = p["_meta"]?.objectValue ?? JSONObject()
            meta["progressToken"] = id.json
            p["_meta"] = .object(meta)
        }
        let hasParams = params != nil || progress != nil
        return .request(id: id, method: method, params: hasParams ? .object(p) : nil)
    }

    private func arm(_ id: RequestID, afterMs ms: Int) {
        let token = scheduler.schedule(after: ms) { [weak self] in self?.expire(id) }
        let stale = state.withLock { s -> Bool in
            guard s.pending[id] != nil else { return true }
            if let old = s.pending[id]?.timer { scheduler.cancel(old) }
            s.pending[id]?.timer = token
            return false
        }
        if stale { scheduler.cancel(token) }
    }

    private func take(_ id: RequestID) -> Pending? {
        let p = state.withLock { $0.pending.removeValue(forKey: id) }
        if let t = p?.timer { scheduler.cancel(t) }
        return p
    }

    private func expire(_ id: RequestID) {
        guard let p = take(id) else { return }
        sendCancel(.notification(method: "notifications/cancelled",
                                 params: ["requestId": id.json, "reason": "Request timed out"]))
        p.completion(.failure(.timeout))
    }

    /// Routes an answer; false when the id is not one we wait on (late or unknown).
    @discardableResult
    public func handleResponse(id: RequestID, outcome: Result<JSONValue, JSONRPCError>) -> Bool {
        guard let p = take(id) else { return false }
        switch outcome {
        case .success(let r): p.completion(.success(r))
        case .failure(let e): p.completion(.failure(.peer(e)))
        }
        return true
    }

    /// Routes notifications/progress whose token is one of our ids; extends the
    /// timeout up to the hard maximum.
    @discardableResult
    public func handleProgress(_ params: JSONObject) -> Bool {
        guard let token = params["progressToken"].flatMap(RequestID.init) else { return false }
        let found = state.withLock { s -> (ProgressHandler?, Int?)? in
            guard let p = s.pending[token], p.progress != nil else { return nil }
            var rearm: Int? = nil
            if p.timing.resetOnProgress {
                let elapsed = Int((MonotonicInstant.now().nanoseconds - p.started.nanoseconds) / 1_000_000)
                rearm = max(0, min(p.timing.timeoutMs, p.timing.maxTotalMs - elapsed))
            }
            return (p.progress, rearm)
        }
        guard let (handler, rearm) = found else { return false }
        if let rearm { arm(token, afterMs: rearm) }
        handler?(params)
        return true
    }

    /// Cancels a request we sent: the peer is told, the caller gets .cancelled.
    public func cancel(_ id: RequestID, reason: String?) {
        guard let p = take(id) else { return }
        var params = JSONObject(["requestId": id.json])
        if let reason { params["reason"] = .string(reason) }
        sendCancel(.notification(method: "notifications/cancelled", params: .object(params)))
        p.completion(.failure(.cancelled))
    }

    /// Whether `id` is a request still waiting for its answer.
    public func isPending(_ id: RequestID) -> Bool {
        state.withLock { $0.pending[id] != nil }
    }

    /// Fails one request without telling the peer: the transport lost it (the
    /// connection carrying it or its answer broke). False when not pending.
    @discardableResult
    public func fail(_ id: RequestID, with failure: RequestFailure) -> Bool {
        guard let p = take(id) else { return false }
        p.completion(.failure(failure))
        return true
    }

    /// Fails every waiter (the table is swapped out first, so completions may re-enter).
    public func closeAll() {
        let all = state.withLock { s -> [Pending] in
            s.closed = true
            let all = Array(s.pending.values)
            s.pending.removeAll()
            return all
        }
        for p in all {
            if let t = p.timer { scheduler.cancel(t) }
            p.completion(.failure(.closed))
        }
    }
}
