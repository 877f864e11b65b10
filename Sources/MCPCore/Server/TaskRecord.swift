import MCPRuntime
/// One task (revision 2025-11-25): a task-augmented tools/call whose result is
/// fetched later with tasks/result. Its status moves working -> (input_required
/// <-> working) -> completed | failed | cancelled, and never leaves a terminal
/// status.
public final class TaskRecord: Sendable {
    public enum Status: String, Sendable {
        case working
        case inputRequired = "input_required"
        case completed, failed, cancelled

        var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled }
    }

    public let id: String
    /// The 2025-era session that created it; nil for a task of the tasks
    /// extension at 2026-07-28, which any request may name (no sessions).
    let ownerSessionID: String?
    let createdAt: String
    let ttlMs: Int?
    let pollIntervalMs: Int
    /// When the store may forget it (wall clock, ms since 1970): its TTL from
    /// creation, or a day for a task without one.
    let expiresAtMs: Int64
    private let state: LockedState<State>

    struct State {
        var status = Status.working
        var statusMessage: String?
        var lastUpdatedAt: String
        var outcome: Result<JSONValue, JSONRPCError>?
        /// tasks/result requests waiting for a terminal status.
        var waiters: [InboundRequest] = []
        var call: ServerCall?
        var pendingInputs = 0
    }

    /// The input requests of a 2026-07-28 task waiting for tasks/update.
    let inputs = TaskInputs()

    init(ownerSessionID: String?, ttlMs: Int?, pollIntervalMs: Int) {
        id = SessionID.random()
        self.ownerSessionID = ownerSessionID
        createdAt = Timestamp.now()
        self.ttlMs = ttlMs
        self.pollIntervalMs = pollIntervalMs
        expiresAtMs = Timestamp.nowMs() + Int64(ttlMs ?? 86_400_000)
        state = LockedState(State(lastUpdatedAt: createdAt))
    }

    /// A task read back from the store (StateStore): its fields and outcome
    /// as saved, no call (the process that ran it is not this one). nil when
    /// the stored body is not one this engine wrote.
    init?(restoring stored: StoredTask) {
        guard let o = stored.body.objectValue, let created = o["createdAt"]?.stringValue,
              let statusText = o["status"]?.stringValue, let status = Status(rawValue: statusText),
              let updated = o["lastUpdatedAt"]?.stringValue
        else { return nil }
        id = stored.id
        ownerSessionID = stored.ownerSessionID
        createdAt = created
        ttlMs = o["ttl"]?.intValue.map { Int($0) }
        pollIntervalMs = Int(o["pollInterval"]?.intValue ?? 500)
        expiresAtMs = stored.expiresAtMs
        var s = State(lastUpdatedAt: updated)
        s.status = status
        s.statusMessage = o["statusMessage"]?.stringValue
        if let r = o["result"] {
            s.outcome = .success(r)
        } else if let e = o["error"]?.objectValue, let code = e["code"]?.intValue {
            s.outcome = .failure(JSONRPCError(code: code, message: e["message"]?.stringValue ?? "", data: e["data"]))
        }
        state = LockedState(s)
    }

    /// The form the store keeps: the Task object of 2025-11-25 plus the
    /// outcome ("result" or "error"), one lock read.
    var stored: StoredTask {
        var o = json
        if let outcome {
            switch outcome {
            case .success(let r): o["result"] = r
            case .failure(let e): o["error"] = e.json
            }
        }
        return StoredTask(id: id, ownerSessionID: ownerSessionID, expiresAtMs: expiresAtMs, body: .object(o))
    }

    func attach(_ call: ServerCall) { state.withLock { $0.call = call } }
    var call: ServerCall? { state.withLock { $0.call } }
    var status: Status { state.withLock { $0.status } }

    /// The Task object as the protocol sends it.
    var json: JSONObject {
        state.withLock { s in
            var o = JSONObject()
            o["taskId"] = .string(id)
            o["status"] = .string(s.status.rawValue)
            if let m = s.statusMessage { o["statusMessage"] = .string(m) }
            o["createdAt"] = .string(createdAt)
            o["lastUpdatedAt"] = .string(s.lastUpdatedAt)
            o["ttl"] = ttlMs.map { .int(Int64($0)) } ?? .null
            o["pollInterval"] = .int(Int64(pollIntervalMs))
            return o
        }
    }

    /// Moves to `status` unless terminal; returns the waiters to answer when
    /// the move made it terminal, or nil when nothing changed.
    func transition(to status: Status, message: String? = nil, outcome: Result<JSONValue, JSONRPCError>? = nil)
        -> [InboundRequest]?
    {
        state.withLock { s in
            if s.status.isTerminal || s.status == status { return nil }
            s.status = status
            s.statusMessage = message
            s.lastUpdatedAt = Timestamp.now()
            if let outcome { s.outcome = outcome }
            guard status.isTerminal else { return [] }
            defer { s.waiters = [] }
            s.call = nil
            return s.waiters
        }
    }

    /// A request the task sent to the client is out or back (input_required while any is out).
    func inputRequest(started: Bool) -> Status? {
        state.withLock { s in
            if s.status.isTerminal { return nil }
            s.pendingInputs += started ? 1 : -1
            let next: Status = s.pendingInputs > 0 ? .inputRequired : .working
            if next == s.status { return nil }
            s.status = next
            s.lastUpdatedAt = Timestamp.now()
            return next
        }
    }

    /// The stored outcome when terminal; otherwise the waiter is kept.
    func outcomeOrWait(_ request: InboundRequest) -> Result<JSONValue, JSONRPCError>? {
        state.withLock { s in
            if s.status.isTerminal {
                return s.outcome ?? .failure(JSONRPCError(code: ErrorCode.internalError, message: "The task was cancelled"))
            }
            s.waiters.append(request)
            return nil
        }
    }

    var outcome: Result<JSONValue, JSONRPCError>? { state.withLock { $0.outcome } }

    /// Status, message, last update and outcome read together (one lock),
    /// for the 2026-07-28 shape built in ModernTaskShape.swift.
    var snapshot: (status: Status, message: String?, lastUpdatedAt: String, outcome: Result<JSONValue, JSONRPCError>?) {
        state.withLock { s in (s.status, s.statusMessage, s.lastUpdatedAt, s.outcome) }
    }
}
