import CMCP
import Glibc
import MCPCore
import MCPTransport
import MCPRuntime

// mcp_http_handler_* and mcp_http_exchange_*: the MCP endpoint inside the
// host's own web server. Validate, convert, forward to HostedHTTPEndpoint.

/// What an mcp_http_handler_t points to. Holds its server, so that an
/// exchange never outlives the engine it calls into.
final class HTTPHandlerHandle: Sendable, OpaqueHandle {
    let server: ServerHandle
    let hosted: HostedHTTPEndpoint

    init(server: ServerHandle, hosted: HostedHTTPEndpoint) {
        self.server = server
        self.hosted = hosted
    }

    static let parameterName = "handler"
}

/// What an mcp_http_exchange_t points to.
final class HTTPExchangeHandle: Sendable, OpaqueHandle {
    let handler: HTTPHandlerHandle
    let exchange: HostExchange

    init(handler: HTTPHandlerHandle, exchange: HostExchange) {
        self.handler = handler
        self.exchange = exchange
    }

    static let parameterName = "exchange"
}

/// Keys of mcp_server_start_http that only a listener of its own has.
private let listenerOnlyKeys = ["port", "tls_cert_file", "tls_key_file", "admin", "reuse_port",
                                "listen_backlog", "accept_batch", "accept_rate",
                                "connection_idle_timeout_ms", "request_body_timeout_ms", "websocket_path"]

private func exchangeFailure(_ e: HostExchange.Failure) -> ABIError {
    switch e {
    case .invalid(let m): return .invalidArgument(m)
    case .state(let m): return .state(m)
    }
}

@c @implementation
public func mcp_http_handler_new(_ server: OpaquePointer?, _ configJSON: UnsafePointer<CChar>?,
                                 _ outHandler: UnsafeMutablePointer<OpaquePointer?>?,
                                 _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outHandler?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        let handle = try ServerHandle.from(server)
        guard let outHandler else { throw .invalidArgument("out_handler must not be NULL") }
        if case .object(let o)? = try optionalJSON(configJSON, "config_json") {
            for key in listenerOnlyKeys where o[key] != nil {
                throw .invalidArgument("config key \"\(key)\" belongs to a listener of its own; "
                    + "in the host's web server the host's server owns it")
            }
        }
        var config = try httpConfig(configJSON)
        if let auth = config.auth, handle.hasTokenVerifier {
            config.tokenVerifier = handle.tokenVerifierBridge(timeoutMs: auth.verifierTimeoutMs)
        }
        if handle.isFreed { throw .state("The server was freed") }
        let hosted: HostedHTTPEndpoint
        do throws(HTTPServerError) {
            hosted = try HostedHTTPEndpoint.make(server: handle.core, config: config)
        } catch {
            switch error {
            case .invalidConfig(let m): throw .invalidArgument(m)
            case .io(let m): throw ABIError(status: MCP_ERR_IO, message: m)
            }
        }
        let h = HTTPHandlerHandle(server: handle, hosted: hosted)
        outHandler.pointee = h.retainedPointer
    }
}

@c @implementation
public func mcp_http_handler_stop(_ handler: OpaquePointer?, _ timeoutMs: Int32,
                                  _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let h = try HTTPHandlerHandle.from(handler)
        guard !WorkerPool.isWorkerThread else {
            throw .state("mcp_http_handler_stop would wait for the calls of this very callback; stop from a host thread")
        }
        h.hosted.stop(timeoutMs: Int(max(0, timeoutMs)))
    }
}

@c @implementation
public func mcp_http_handler_free(_ handler: OpaquePointer?) {
    guard let handler else { return }
    let u = Unmanaged<HTTPHandlerHandle>.fromOpaque(UnsafeRawPointer(handler))
    u.takeUnretainedValue().hosted.stop(timeoutMs: 0)
    u.release()
}

@c @implementation
public func mcp_http_exchange_new(_ handler: OpaquePointer?, _ method: UnsafePointer<CChar>?,
                                  _ target: UnsafePointer<CChar>?, _ remoteAddress: UnsafePointer<CChar>?,
                                  _ outExchange: UnsafeMutablePointer<OpaquePointer?>?,
                                  _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outExchange?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        let h = try HTTPHandlerHandle.from(handler)
        let m = try requiredString(method, "method")
        let t = try requiredString(target, "target")
        guard let outExchange else { throw .invalidArgument("out_exchange must not be NULL") }
        guard !m.isEmpty, m.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalidArgument("method must be an HTTP token, got \"\(m)\"")
        }
        guard t.hasPrefix("/"), !t.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw .invalidArgument("target must be a path (and query) starting with \"/\", got \"\(t)\"")
        }
        let remote = remoteAddress.map { String(cString: $0) }
        guard let ex = h.hosted.exchange(method: m, target: t, remoteAddress: remote) else {
            throw .state("The handler was stopped")
        }
        outExchange.pointee = HTTPExchangeHandle(handler: h, exchange: ex).retainedPointer
    }
}

@c @implementation
public func mcp_http_exchange_add_header(_ exchange: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                         _ value: UnsafePointer<CChar>?,
                                         _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let x = try HTTPExchangeHandle.from(exchange)
        let n = try requiredString(name, "name")
        let v = try requiredString(value, "value")
        do throws(HostExchange.Failure) { try x.exchange.addHeader(name: n, value: v) } catch { throw exchangeFailure(error) }
    }
}

@c @implementation
public func mcp_http_exchange_add_body(_ exchange: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int,
                                       _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let x = try HTTPExchangeHandle.from(exchange)
        guard data != nil || length == 0 else { throw .invalidArgument("data must not be NULL when length > 0") }
        guard length >= 0 else { throw .invalidArgument("length is out of range") }
        do throws(HostExchange.Failure) {
            try x.exchange.addBody(UnsafeRawBufferPointer(start: data, count: length))
        } catch { throw exchangeFailure(error) }
    }
}

@c @implementation
public func mcp_http_exchange_start(_ exchange: OpaquePointer?, _ wake: mcp_http_wake_fn?,
                                    _ userData: UnsafeMutableRawPointer?, _ freeUserData: mcp_free_fn?,
                                    _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    // free_user_data runs when the last holder of the callback goes, also
    // when start fails (the header promises it).
    let callback = HostCallback(fn: wake, userData: userData, free: freeUserData)
    return withStatus(outError) { () throws(ABIError) in
        let x = try HTTPExchangeHandle.from(exchange)
        var notify: (@Sendable () -> Void)?
        if callback.fn != nil {
            let pool = x.handler.server.pool
            notify = { pool.execute { if let fn = callback.fn { fn(callback.userData) } } }
        }
        do throws(HostExchange.Failure) { try x.exchange.start(wake: notify) } catch { throw exchangeFailure(error) }
    }
}

@c @implementation
public func mcp_http_exchange_get_part(_ exchange: OpaquePointer?, _ timeoutMs: Int32,
                                       _ outKind: UnsafeMutablePointer<Int32>?, _ outStatus: UnsafeMutablePointer<Int32>?,
                                       _ outData: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                       _ outLength: UnsafeMutablePointer<Int>?,
                                       _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outStatus?.pointee = 0
    outData?.pointee = nil
    outLength?.pointee = 0
    return withStatus(outError) { () throws(ABIError) in
        let x = try HTTPExchangeHandle.from(exchange)
        guard let outKind else { throw .invalidArgument("out_kind must not be NULL") }
        outKind.pointee = MCP_HTTP_PART_NONE
        guard x.exchange.isStarted else { throw .state("mcp_http_exchange_start comes first") }
        guard let part = x.exchange.next(timeoutMs: Int(timeoutMs)) else { return }
        func give(_ bytes: [UInt8]) throws(ABIError) {
            guard let outData else { return }
            guard let p = malloc(bytes.count + 1)?.assumingMemoryBound(to: CChar.self) else {
                throw ABIError(status: MCP_ERR_NO_MEMORY, message: "out of memory for a \(bytes.count)-byte response part")
            }
            bytes.withUnsafeBytes { b in if let base = b.baseAddress { memcpy(p, base, b.count) } }
            p[bytes.count] = 0
            outData.pointee = p
            outLength?.pointee = bytes.count
        }
        switch part {
        case .head(let status, let headers):
            outKind.pointee = MCP_HTTP_PART_HEAD
            outStatus?.pointee = Int32(status)
            try give(JSONSerializer.bytes(.array(headers.map { .array([.string($0.0), .string($0.1)]) })))
        case .body(let bytes):
            outKind.pointee = MCP_HTTP_PART_BODY
            try give(bytes)
        case .end:
            outKind.pointee = MCP_HTTP_PART_END
        case .abort:
            outKind.pointee = MCP_HTTP_PART_ABORT
        }
    }
}

@c @implementation
public func mcp_http_exchange_free(_ exchange: OpaquePointer?) {
    guard let exchange else { return }
    let u = Unmanaged<HTTPExchangeHandle>.fromOpaque(UnsafeRawPointer(exchange))
    u.takeUnretainedValue().exchange.cancel()
    u.release()
}
