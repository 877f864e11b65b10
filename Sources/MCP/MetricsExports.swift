import CMCP
import MCPCore
import MCPMetrics
import MCPRuntime
import MCPTransport

// mcp_server_metrics, and the admin listener's view of the server: the
// figures read at scrape time and the readiness of the worker pool.

extension ServerHandle {
    /// Worker pool, connections and sessions, read now.
    func runtimeFigures() -> RuntimeFigures {
        var f = RuntimeFigures()
        let load = pool.load
        f.workerThreads = load.threads
        f.busyWorkers = load.busy
        f.queueDepth = load.queued
        f.maxWorkers = pool.maxThreads
        if case .running(let t) = http.withLock({ $0 }) {
            f.connections = t.connectionCount
            f.sessions = t.sessionCount
        }
        return f
    }

    /// What the HTTP listener's admin routes serve for this server. Weak: the
    /// listener belongs to the handle.
    func adminSource(readyMaxQueued: Int) -> AdminSource {
        AdminSource(
            metrics: { [weak self] in
                guard let self, let metrics = self.metrics else {
                    return "# metrics are off for this server (options \"metrics\": false)\n"
                }
                return metrics.exposition(self.runtimeFigures())
            },
            notReady: { [weak self] in
                guard let self else { return ["server freed"] }
                var reasons: [String] = []
                if self.isFreed { reasons.append("server freed") }
                let queued = self.pool.load.queued
                if queued >= readyMaxQueued {
                    reasons.append("worker queue \(queued) at or over its limit \(readyMaxQueued)")
                }
                return reasons
            })
    }
}

@c @implementation
public func mcp_server_metrics(_ server: OpaquePointer?, _ outText: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                               _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outText?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        guard let outText else { throw .invalidArgument("out_text must not be NULL") }
        let handle = try ServerHandle.from(server)
        guard let metrics = handle.metrics else {
            throw .state("Metrics are off for this server (mcp_server_new options \"metrics\": false)")
        }
        guard let text = hostString(metrics.exposition(handle.runtimeFigures())) else {
            throw ABIError(status: MCP_ERR_NO_MEMORY, message: "Cannot allocate the metrics text")
        }
        outText.pointee = text
    }
}
