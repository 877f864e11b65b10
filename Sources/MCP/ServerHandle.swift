import CMCP
import MCPCore
import MCPTransport
import MCPRuntime
import MCPMetrics

/// What an mcp_server_t points to: the protocol server, its worker pool, and
/// the serve in progress (if any), and its HTTP listener (if any).
final class ServerHandle: Sendable, OpaqueHandle {
    /// worker_threads when the options do not say: host tools may block.
    static let defaultWorkers = 64
    let core: ServerCore
    let pool: WorkerPool
    /// The core's timers; stopped at free so its thread ends with the server.
    let scheduler: Scheduler
    private let serving = LockedState<StopSignal?>(nil)
    /// The HTTP listener; `.starting` holds the slot while one binds.
    let http = LockedState<HTTPSlot>(.idle)
    private let freed = LockedState(false)
    /// The server's metrics (also its core's observer); nil with "metrics": false.
    let metrics: ServerMetrics?
    /// The host's token verifier (mcp_server_set_token_verifier), read at each check.
    let tokenVerifier = LockedState<HostCallback<mcp_token_verify_fn>?>(nil)
    /// The host's store (mcp_server_set_store) for the next listener; destroyed at free.
    let hostStore = LockedState<HostRecordStore?>(nil)

    init(core: ServerCore, pool: WorkerPool, scheduler: Scheduler, metrics: ServerMetrics? = nil) {
        self.core = core
        self.pool = pool
        self.scheduler = scheduler
        self.metrics = metrics
    }

    static let parameterName = "server"

    var isFreed: Bool { freed.withLock { $0 } }

    /// Claims the server for one serve; the signal stops it.
    func beginServing() throws(ABIError) -> StopSignal {
        guard !WorkerPool.isWorkerThread else {
            throw .state("Serving from inside an engine callback would block a worker; serve from a host thread")
        }
        guard let signal = StopSignal() else { throw ABIError(status: MCP_ERR_IO, message: "Cannot create a pipe") }
        let claimed = serving.withLock { s -> Bool in
            if s != nil { return false }
            s = signal
            return true
        }
        guard claimed else { throw .state("The server is already serving") }
        if isFreed { throw .state("The server was freed") }
        return signal
    }

    func endServing() { serving.withLock { $0 = nil } }

    func stop() { serving.withLock { $0?.trigger() } }

    func free() {
        freed.withLock { $0 = true }
        stop()
        stopHTTP(timeoutMs: 0)
        core.shutdown()
        scheduler.shutdown()
        pool.shutdown()
        hostStore.withLock { $0 }?.destroy()
    }
}
