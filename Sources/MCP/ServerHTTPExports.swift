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
            let transport = try HTTPServerTransport.start(server: core, config: config)
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
private func httpConfig(_ json: UnsafePointer<CChar>?) throws(ABIError) -> HTTPServerConfig {
    var c = HTTPServerConfig()
    guard let value = try optionalJSON(json, "config_json") else { return c }
    guard case .object(let o) = value else { throw .invalidArgument("config_json must be a JSON object") }
    func int(_ v: JSONValue, _ key: String, _ range: ClosedRange<Int64>) throws(ABIError) -> Int {
        guard let i = v.intValue, range.contains(i) else {
            throw .invalidArgument("\"\(key)\" must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(i)
    }
    func string(_ v: JSONValue, _ key: String) throws(ABIError) -> String {
        guard let s = v.stringValue, !s.isEmpty else { throw .invalidArgument("\"\(key)\" must be a non-empty string") }
        return s
    }
    func bool(_ v: JSONValue, _ key: String) throws(ABIError) -> Bool {
        guard let b = v.boolValue else { throw .invalidArgument("\"\(key)\" must be a boolean") }
        return b
    }
    func strings(_ v: JSONValue, _ key: String) throws(ABIError) -> [String] {
        guard let a = v.arrayValue else { throw .invalidArgument("\"\(key)\" must be an array of strings") }
        var out: [String] = []
        for item in a {
            guard let s = item.stringValue, !s.isEmpty else {
                throw .invalidArgument("\"\(key)\" must be an array of non-empty strings")
            }
            out.append(s)
        }
        return out
    }
    let big = Int64(Int32.max)
    for m in o.members {
        let v = m.value
        switch m.key {
        case "host": c.host = try string(v, m.key)
        case "port": c.port = try int(v, m.key, 0...65535)
        case "path": c.path = try string(v, m.key)
        case "sse_path": c.ssePath = try string(v, m.key)
        case "messages_path": c.messagesPath = try string(v, m.key)
        case "websocket_path": c.websocketPath = try string(v, m.key)
        case "json_response": c.jsonResponse = try bool(v, m.key)
        case "stateless": c.stateless = try bool(v, m.key)
        case "enable_get_stream": c.enableGetStream = try bool(v, m.key)
        case "max_body_bytes": c.maxBodyBytes = try int(v, m.key, 1024...(1 << 30))
        case "max_header_bytes": c.maxHeaderBytes = try int(v, m.key, 1024...(1 << 20))
        case "max_sessions": c.maxSessions = try int(v, m.key, 1...10_000_000)
        case "session_idle_timeout_ms": c.sessionIdleTimeoutMs = try int(v, m.key, 1...big)
        case "connection_idle_timeout_ms": c.connectionIdleTimeoutMs = try int(v, m.key, 1...big)
        case "max_queued_messages": c.maxQueuedMessages = try int(v, m.key, 1...1_000_000)
        case "event_store_max_events": c.eventStoreMaxEvents = try int(v, m.key, 1...1_000_000)
        case "event_store_max_bytes": c.eventStoreMaxBytes = try int(v, m.key, 1024...(1 << 40))
        case "sse_retry_ms": c.sseRetryMs = try int(v, m.key, 0...big)
        case "sse_keepalive_ms":
            // Below 50 ms it would be a timer storm, not a keep-alive.
            let ms = try int(v, m.key, 0...big)
            guard ms == 0 || ms >= 50 else { throw .invalidArgument("option \"\(m.key)\" must be 0 (off) or at least 50") }
            c.sseKeepaliveMs = ms
        case "allowed_hosts": c.allowedHosts = try strings(v, m.key)
        case "allowed_origins": c.allowedOrigins = try strings(v, m.key)
        case "cors_allowed_origins": c.corsAllowedOrigins = try strings(v, m.key)
        case "tls_cert_file": c.tlsCertFile = try string(v, m.key)
        case "tls_key_file": c.tlsKeyFile = try string(v, m.key)
        case "io_threads": c.ioThreads = try int(v, m.key, 1...256)
        default: throw .invalidArgument("unknown config key \"\(m.key)\"")
        }
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
