import CMCP
import MCPCore
import MCPTransport
import MCPRuntime

// mcp_server_start_http / mcp_server_stop_http: validate, convert, forward.

/// A server's HTTP listener slot.
enum HTTPSlot: Sendable {
    case idle
    case starting
    case running(HTTPServerTransport)
}

extension ServerHandle {
    func startHTTP(_ config: HTTPServerConfig) throws(ABIError) -> Int {
        var config = config
        if let auth = config.auth, hasTokenVerifier { config.tokenVerifier = tokenVerifierBridge(timeoutMs: auth.verifierTimeoutMs) }
        let claimed = http.withLock { slot -> Bool in
            guard case .idle = slot else { return false }
            slot = .starting
            return true
        }
        guard claimed else { throw .state("The server already has an HTTP listener") }
        if isFreed {
            http.withLock { $0 = .idle }
            throw .state("The server was freed")
        }
        do throws(HTTPServerError) {
            // The host's records under the engine's schema, bounded as the config says.
            let store = hostStore.withLock { $0 }.map {
                RecordStateStore(records: $0, maxEventsPerSession: config.eventStoreMaxEvents,
                                 eventTTLMs: config.sessionIdleTimeoutMs)
            }
            let transport = try HTTPServerTransport.start(server: core, config: config,
                                                          admin: adminSource(readyMaxQueued: config.readyMaxQueued),
                                                          hostStore: store)
            http.withLock { $0 = .running(transport) }
            return transport.port
        } catch {
            http.withLock { $0 = .idle }
            switch error {
            case .invalidConfig(let m): throw .invalidArgument(m)
            case .io(let m): throw ABIError(status: MCP_ERR_IO, message: m)
            }
        }
    }

    func stopHTTP(timeoutMs: Int) {
        let transport = http.withLock { slot -> HTTPServerTransport? in
            guard case .running(let t) = slot else { return nil }
            slot = .idle
            return t
        }
        transport?.stop(timeoutMs: timeoutMs)
    }
}

/// Reads config_json into an HTTPServerConfig; unknown keys are refused.
func httpConfig(_ json: UnsafePointer<CChar>?) throws(ABIError) -> HTTPServerConfig {
    var c = HTTPServerConfig()
    let big = Int64(Int32.max)
    try OptionsReader.read(json, argument: "config_json", noun: "config key") { (r: inout OptionsReader) throws(ABIError) in
        c.host = try r.string("host", nonEmpty: true) ?? c.host
        c.port = try r.int("port", 0...65535) ?? c.port
        c.path = try r.string("path", nonEmpty: true) ?? c.path
        c.ssePath = try r.string("sse_path", nonEmpty: true) ?? c.ssePath
        c.messagesPath = try r.string("messages_path", nonEmpty: true) ?? c.messagesPath
        c.websocketPath = try r.string("websocket_path", nonEmpty: true) ?? c.websocketPath
        c.jsonResponse = try r.bool("json_response") ?? c.jsonResponse
        c.stateless = try r.bool("stateless") ?? c.stateless
        c.enableGetStream = try r.bool("enable_get_stream") ?? c.enableGetStream
        c.maxBodyBytes = try r.int("max_body_bytes", 1024...(1 << 30)) ?? c.maxBodyBytes
        c.maxBufferedBytes = try r.int("max_buffered_bytes", 1024...(1 << 40)) ?? c.maxBufferedBytes
        c.maxHeaderBytes = try r.int("max_header_bytes", 1024...(1 << 20)) ?? c.maxHeaderBytes
        c.maxSessions = try r.int("max_sessions", 1...10_000_000) ?? c.maxSessions
        c.sessionIdleTimeoutMs = try r.int("session_idle_timeout_ms", 1...big) ?? c.sessionIdleTimeoutMs
        c.connectionIdleTimeoutMs = try r.int("connection_idle_timeout_ms", 1...big) ?? c.connectionIdleTimeoutMs
        c.requestBodyTimeoutMs = try r.int("request_body_timeout_ms", 1...big) ?? c.requestBodyTimeoutMs
        c.maxConnections = try r.int("max_connections", 0...10_000_000) ?? c.maxConnections
        c.maxQueuedMessages = try r.int("max_queued_messages", 1...1_000_000) ?? c.maxQueuedMessages
        c.maxQueuedBytes = try r.int("max_queued_bytes", 1024...(1 << 40)) ?? c.maxQueuedBytes
        c.eventStoreMaxEvents = try r.int("event_store_max_events", 1...1_000_000) ?? c.eventStoreMaxEvents
        c.eventStoreMaxBytes = try r.int("event_store_max_bytes", 1024...(1 << 40)) ?? c.eventStoreMaxBytes
        c.store = try r.string("store", nonEmpty: true) ?? c.store  // ABI 1.5
        c.fleetLeaseMs = try r.int("fleet_lease_ms", 100...3_600_000) ?? c.fleetLeaseMs  // ABI 1.6
        c.fleetPollMs = try r.int("fleet_poll_ms", 1...60_000) ?? c.fleetPollMs  // ABI 1.6
        c.sseRetryMs = try r.int("sse_retry_ms", 0...big) ?? c.sseRetryMs
        if let ms = try r.int("sse_keepalive_ms", 0...big) {
            // Below 50 ms it would be a timer storm, not a keep-alive.
            guard ms == 0 || ms >= 50 else { throw .invalidArgument("option \"sse_keepalive_ms\" must be 0 (off) or at least 50") }
            c.sseKeepaliveMs = ms
        }
        c.allowedHosts = try r.strings("allowed_hosts") ?? c.allowedHosts
        c.allowedOrigins = try r.strings("allowed_origins") ?? c.allowedOrigins
        c.corsAllowedOrigins = try r.strings("cors_allowed_origins") ?? c.corsAllowedOrigins
        c.tlsCertFile = try r.string("tls_cert_file", nonEmpty: true) ?? c.tlsCertFile
        c.tlsKeyFile = try r.string("tls_key_file", nonEmpty: true) ?? c.tlsKeyFile
        c.ioThreads = try r.int("io_threads", 1...256) ?? c.ioThreads
        if let text = try r.string("admin", nonEmpty: true) {
            guard let a = AdminAddress(text) else {
                throw .invalidArgument("option \"admin\" must be HOST:PORT (IPv6: [HOST]:PORT), got \"\(text)\"")
            }
            c.admin = a
        }
        c.readyMaxQueued = try r.int("ready_max_queued", 1...Int64(Int32.max)) ?? c.readyMaxQueued
        c.accessLog = try r.bool("access_log") ?? c.accessLog
        c.reusePort = try r.bool("reuse_port") ?? c.reusePort  // ABI 1.4
        c.listenBacklog = try r.int("listen_backlog", 1...65535) ?? c.listenBacklog  // ABI 1.6
        c.acceptBatch = try r.int("accept_batch", 1...1024) ?? c.acceptBatch  // ABI 1.6
        c.acceptRate = try r.int("accept_rate", 0...1_000_000) ?? c.acceptRate  // ABI 1.6
        // ABI 1.4: per-client rate limit.
        if let limit = try r.object("rate_limit") {
            func number(_ v: JSONValue?) -> Double? {
                switch v {
                case .int(let i)?: return Double(i)
                case .double(let d)?: return d
                default: return nil
                }
            }
            for key in limit.keys where key != "requests_per_second" && key != "burst" {
                throw .invalidArgument("option \"rate_limit\": unknown key \"\(key)\" (requests_per_second, burst)")
            }
            guard let rate = number(limit["requests_per_second"]), rate > 0, rate <= 1_000_000 else {
                throw .invalidArgument("option \"rate_limit\": \"requests_per_second\" must be a number in (0, 1000000]")
            }
            let burst = limit["burst"] == nil ? max(1, rate) : number(limit["burst"]) ?? -1
            guard burst >= 1, burst <= 1_000_000 else {
                throw .invalidArgument("option \"rate_limit\": \"burst\" must be a number in [1, 1000000]")
            }
            c.rateLimit = RateLimitPolicy(rate: rate, burst: burst)
        }
        if let auth = try r.object("auth") { c.auth = try AuthConfigReader.read(auth) }
    }
    guard (c.tlsCertFile == nil) == (c.tlsKeyFile == nil) else {
        throw .invalidArgument("\"tls_cert_file\" and \"tls_key_file\" must be given together")
    }
    return c
}

@c @implementation
public func mcp_server_start_http(_ server: OpaquePointer?, _ configJSON: UnsafePointer<CChar>?,
                                  _ outPort: UnsafeMutablePointer<UInt16>?,
                                  _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outPort?.pointee = 0
    return withStatus(outError) { () throws(ABIError) in
        let handle = try ServerHandle.from(server)
        let config = try httpConfig(configJSON)
        let port = try handle.startHTTP(config)
        outPort?.pointee = UInt16(truncatingIfNeeded: port)
    }
}

@c @implementation
public func mcp_server_stop_http(_ server: OpaquePointer?, _ timeoutMs: Int32,
                                 _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let handle = try ServerHandle.from(server)
        guard !WorkerPool.isWorkerThread else {
            throw .state("mcp_server_stop_http would wait for the calls of this very callback; stop from a host thread")
        }
        handle.stopHTTP(timeoutMs: Int(max(0, timeoutMs)))
    }
}
