import Glibc
import CMCP
import MCPCore
import MCPTransport
import MCPRuntime

// mcp_client_* functions, in header order: validate, convert, forward.

private let clientOptionKeys: Set<String> = [
    "title", "capabilities", "protocol_version", "request_timeout_ms", "max_total_timeout_ms", "worker_threads",
    "max_message_bytes",
]

@c @implementation
public func mcp_client_new(_ name: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?,
                           _ optionsJSON: UnsafePointer<CChar>?, _ outClient: UnsafeMutablePointer<OpaquePointer?>?,
                           _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outClient?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        guard let outClient else { throw .invalidArgument("out_client must not be NULL") }
        let n = try requiredString(name, "name")
        let v = try requiredString(version, "version")
        guard !n.isEmpty, !v.isEmpty else { throw .invalidArgument("name and version must not be empty") }
        var options = ClientOptions(name: n, version: v)
        var extra = JSONObject()
        var workers = 16
        var timeout = 60_000
        var maxTotal = 600_000
        var maxMessageBytes = 16 << 20
        if let json = try optionalJSON(optionsJSON, "options_json") {
            guard case .object(let o) = json else { throw .invalidArgument("options_json must be a JSON object") }
            for m in o.members {
                guard clientOptionKeys.contains(m.key) else { throw .invalidArgument("unknown option \"\(m.key)\"") }
                func int(_ range: ClosedRange<Int64>) throws(ABIError) -> Int {
                    guard let i = m.value.intValue, range.contains(i) else {
                        throw .invalidArgument("option \"\(m.key)\" must be an integer in \(range.lowerBound)...\(range.upperBound)")
                    }
                    return Int(i)
                }
                switch m.key {
                case "title":
                    guard let t = m.value.stringValue else { throw .invalidArgument("option \"title\" must be a string") }
                    options.info["title"] = .string(t)
                case "capabilities":
                    guard let c = m.value.objectValue else { throw .invalidArgument("option \"capabilities\" must be an object") }
                    extra = c
                case "protocol_version":
                    guard let pv = m.value.stringValue.flatMap(ProtocolVersion.init(rawValue:)) else {
                        throw .invalidArgument("option \"protocol_version\" must be one of 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05")
                    }
                    options.protocolVersion = pv
                case "request_timeout_ms": timeout = try int(1...86_400_000)
                case "max_total_timeout_ms": maxTotal = try int(1...86_400_000)
                case "worker_threads": workers = try int(1...1024)
                case "max_message_bytes": maxMessageBytes = try int(1024...Int64(Int32.max))
                default: break
                }
            }
        }
        options.timing = RequestTiming(timeoutMs: timeout, maxTotalMs: maxTotal)
        let handle = ClientHandle(name: n, version: v, options: options, extraCapabilities: extra, workers: workers,
                                  maxMessageBytes: maxMessageBytes)
        outClient.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
    }
}

@c @implementation
public func mcp_client_free(_ client: OpaquePointer?) {
    guard let client else { return }
    let u = Unmanaged<ClientHandle>.fromOpaque(UnsafeRawPointer(client))
    let h = u.takeUnretainedValue()
    h.close()
    // Callbacks already queued (a notification read just before the close)
    // still run, and finish before free returns (bounded, so a stuck callback
    // cannot hang the host); none start afterwards.
    if !WorkerPool.isWorkerThread { h.pool.waitUntilIdle(timeoutMs: 5000) }
    h.pool.shutdown()
    u.release()
}

private let handledMethods: Set<String> = ["sampling/createMessage", "elicitation/create", "roots/list"]

@c @implementation
public func mcp_client_set_request_handler(_ client: OpaquePointer?, _ method: UnsafePointer<CChar>?,
                                           _ fn: mcp_request_fn?, _ userData: UnsafeMutableRawPointer?,
                                           _ freeFn: mcp_free_fn?,
                                           _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        let m = try requiredString(method, "method")
        guard handledMethods.contains(m) else {
            throw .invalidArgument("method must be sampling/createMessage, elicitation/create or roots/list")
        }
        var handler: ClientRequestHandler? = nil
        if let fn {
            let cb = HostCallback(fn: fn, userData: userData, free: freeFn)
            handler = { call, method, params in
                let handle = CallTable.register(call, keepAlive: cb)
                withJSONText(.object(params)) { cb.fn(cb.userData, handle, method, $0) }
            }
        }
        let refused = h.state.withLock { s -> Bool in
            if s.session != nil && s.requestHandlers[m] == nil && handler != nil { return true }
            s.requestHandlers[m] = handler
            s.session?.setRequestHandler(method: m, handler)
            return false
        }
        if refused { throw .state("Connected already: a new capability cannot be declared now") }
    }
}

@c @implementation
public func mcp_client_set_notification_handler(_ client: OpaquePointer?, _ fn: mcp_notification_fn?,
                                                _ userData: UnsafeMutableRawPointer?, _ freeFn: mcp_free_fn?,
                                                _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?)
    -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        var handler: ClientNotificationHandler? = nil
        if let fn {
            let cb = HostCallback(fn: fn, userData: userData, free: freeFn)
            handler = { method, params in
                withJSONText(.object(params)) { cb.fn(cb.userData, method, $0) }
            }
        }
        h.state.withLock { s in
            s.notificationHandler = handler
            s.session?.setNotificationHandler(handler)
        }
    }
}

@c @implementation
public func mcp_client_set_stderr_handler(_ client: OpaquePointer?, _ fn: mcp_stderr_fn?,
                                          _ userData: UnsafeMutableRawPointer?, _ freeFn: mcp_free_fn?,
                                          _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        let cb = fn.map { HostCallback(fn: $0, userData: userData, free: freeFn) }
        h.state.withLock { $0.stderrHandler = cb }
    }
}

/// A NULL-terminated C string vector, copied.
private func stringVector(_ v: UnsafePointer<UnsafePointer<CChar>?>?) -> [String]? {
    guard let v else { return nil }
    var out: [String] = []
    var i = 0
    while let p = v[i] {
        out.append(String(cString: p))
        i += 1
    }
    return out
}

/// Waits for an asynchronous outcome on a host thread.
func waitFor<T: Sendable>(_ start: (@escaping @Sendable (T) -> Void) throws(ABIError) -> Void) throws(ABIError) -> T {
    guard !WorkerPool.isWorkerThread else {
        throw .state("Blocking calls are not allowed inside a libmcp callback; use the _async variant")
    }
    // A separate flag, not `value != nil`: testing a multi-payload enum for nil
    // reads spare bits that valgrind reports as uninitialised.
    let box = LockedState<(done: Bool, value: T?)>((false, nil))
    try start { v in box.withLockAndNotify { $0 = (true, v) } }
    _ = box.wait(until: nil) { $0.done }
    guard let v = box.withLock({ $0.value }) else { throw ABIError(status: MCP_ERR_INTERNAL, message: "No outcome") }
    return v
}

/// Turns a request failure into a status; JSON-RPC errors become their JSON text.
func failureError(_ f: RequestFailure) -> ABIError {
    switch f {
    case .peer(let e): return ABIError(status: MCP_ERR_PEER, message: JSONSerializer.string(e.json))
    case .timeout: return ABIError(status: MCP_ERR_TIMEOUT, message: "The request timed out")
    case .cancelled: return ABIError(status: MCP_ERR_CANCELLED, message: "The request was cancelled")
    case .closed: return ABIError(status: MCP_ERR_CLOSED, message: "The connection closed before an answer")
    }
}

@c @implementation
public func mcp_client_connect_stdio(_ client: OpaquePointer?, _ argv: UnsafePointer<UnsafePointer<CChar>?>?,
                                     _ envp: UnsafePointer<UnsafePointer<CChar>?>?, _ optionsJSON: UnsafePointer<CChar>?,
                                     _ outResult: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                     _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outResult?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        guard let args = stringVector(argv), !args.isEmpty else { throw .invalidArgument("argv must hold a command") }
        var transportOptions = StdioClientOptions()
        transportOptions.maxMessageBytes = h.maxMessageBytes
        var timing = h.baseOptions.timing
        if let json = try optionalJSON(optionsJSON, "options_json") {
            guard case .object(let o) = json else { throw .invalidArgument("options_json must be a JSON object") }
            for m in o.members {
                switch m.key {
                case "cwd":
                    guard let c = m.value.stringValue else { throw .invalidArgument("option \"cwd\" must be a string") }
                    transportOptions.cwd = c
                case "close_timeout_ms":
                    guard let i = m.value.intValue, i >= 0 else { throw .invalidArgument("option \"close_timeout_ms\" must be >= 0") }
                    transportOptions.closeGraceMs = Int(i)
                case "timeout_ms":
                    guard let i = m.value.intValue, i > 0 else { throw .invalidArgument("option \"timeout_ms\" must be > 0") }
                    timing = RequestTiming(timeoutMs: Int(i), maxTotalMs: Int(i))
                default: throw .invalidArgument("unknown option \"\(m.key)\"")
                }
            }
        }
        try h.claimConnect()
        defer { h.releaseConnect() }

        let transport: StdioClientTransport
        do throws(TransportError) {
            transport = try StdioClientTransport(argv: args, env: stringVector(envp), options: transportOptions)
        } catch {
            switch error { case .io(let m): throw ABIError(status: MCP_ERR_IO, message: m) }
        }
        let stderrCB = h.state.withLock { $0.stderrHandler }
        let session = h.makeSession(timing: timing, output: transport.output)
        transport.start(session: session, stderrLine: { line in
            if let cb = stderrCB {
                line.withMemoryRebound(to: CChar.self) { b in
                    var copy = Array(b)
                    copy.append(0)
                    copy.withUnsafeBufferPointer { cb.fn(cb.userData, $0.baseAddress, b.count) }
                }
            } else {
                var copy = Array(line)
                copy.append(0x0A)
                _ = copy.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            }
        }, onEnd: {})
        switch try h.handshake(session) {
        case .success(let result):
            h.state.withLock { s in
                s.session = session
                s.stdio = transport
            }
            outResult?.pointee = hostString(JSONSerializer.string(.object(result)))
        case .failure(let f):
            session.close()
            transport.close()
            if case .peer(let e) = f, e.message.contains("does not support") {
                throw ABIError(status: MCP_ERR_UNSUPPORTED, message: e.message)
            }
            throw failureError(f)
        }
    }
}

@c @implementation
public func mcp_client_close(_ client: OpaquePointer?,
                             _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        guard !WorkerPool.isWorkerThread else { throw .state("Cannot close from inside a libmcp callback") }
        h.close()
    }
}

@c @implementation
public func mcp_client_server_info(_ client: OpaquePointer?, _ outJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                   _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outJSON?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        guard let outJSON else { throw .invalidArgument("out_json must not be NULL") }
        let s = try ClientHandle.from(client).session()
        guard let r = s.initializeResult else { throw .state("The client is not connected") }
        outJSON.pointee = hostString(JSONSerializer.string(.object(r)))
    }
}

private func paramsObject(_ p: UnsafePointer<CChar>?) throws(ABIError) -> JSONObject? {
    guard let v = try optionalJSON(p, "params_json") else { return nil }
    guard case .object(let o) = v else { throw .invalidArgument("params_json must be a JSON object") }
    return o
}

private func timing(_ h: ClientHandle, _ timeoutMs: Int32) -> RequestTiming {
    guard timeoutMs > 0 else { return h.baseOptions.timing }
    return RequestTiming(timeoutMs: Int(timeoutMs), maxTotalMs: max(Int(timeoutMs), h.baseOptions.timing.maxTotalMs))
}

/// Sends a request and waits: the shared path of the blocking functions.
private func blockingRequest(_ h: ClientHandle, _ method: String, _ params: JSONObject?,
                             _ timeoutMs: Int32) throws(ABIError) -> JSONValue
{
    let session = try h.session()
    let t = timing(h, timeoutMs)
    let outcome = try waitFor { (done: @escaping @Sendable (Result<JSONValue, RequestFailure>) -> Void) throws(ABIError) in
        do throws(CallFailure) {
            try session.request(method: method, params: params, timing: t, inline: true) { done($0) }
        } catch { throw ABIError(error) }
    }
    switch outcome {
    case .success(let v): return v
    case .failure(let f): throw failureError(f)
    }
}

@c @implementation
public func mcp_client_request(_ client: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ paramsJSON: UnsafePointer<CChar>?,
                               _ timeoutMs: Int32, _ outResult: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                               _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outResult?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        let m = try requiredString(method, "method")
        let result = try blockingRequest(h, m, try paramsObject(paramsJSON), timeoutMs)
        outResult?.pointee = hostString(JSONSerializer.string(result))
    }
}

@c @implementation
public func mcp_client_request_async(_ client: OpaquePointer?, _ method: UnsafePointer<CChar>?,
                                     _ paramsJSON: UnsafePointer<CChar>?, _ timeoutMs: Int32, _ fn: mcp_response_fn?,
                                     _ progressFn: mcp_progress_fn?, _ userData: UnsafeMutableRawPointer?,
                                     _ outRequestID: UnsafeMutablePointer<Int64>?,
                                     _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outRequestID?.pointee = 0
    return withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        let m = try requiredString(method, "method")
        guard let fn else { throw .invalidArgument("fn must not be NULL") }
        let params = try paramsObject(paramsJSON)
        let session = try h.session()
        let ud = HostPointer(raw: userData)
        var progress: JSONRPCPeer.ProgressHandler? = nil
        if let pf = progressFn {
            progress = { (p: JSONObject) -> Void in
                withJSONText(.object(p)) { text in pf(ud.raw, text) }
            }
        }
        let id: RequestID?
        do throws(CallFailure) {
            id = try session.request(method: m, params: params, timing: timing(h, timeoutMs), progress: progress) {
                (outcome: Result<JSONValue, RequestFailure>) -> Void in
                deliverResponse(outcome, fn, ud)
            }
        } catch { throw ABIError(error) }
        if case .int(let n)? = id { outRequestID?.pointee = n }
    }
}

@c @implementation
public func mcp_client_cancel(_ client: OpaquePointer?, _ requestID: Int64, _ reason: UnsafePointer<CChar>?,
                              _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        guard let s = h.state.withLock({ $0.session }) else { return }
        s.cancel(.int(requestID), reason: reason.map { String(cString: $0) })
    }
}

@c @implementation
public func mcp_client_notify(_ client: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ paramsJSON: UnsafePointer<CChar>?,
                              _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        let m = try requiredString(method, "method")
        let params = try paramsObject(paramsJSON)
        try h.session().notify(method: m, params: params)
    }
}

@c @implementation
public func mcp_client_call_tool(_ client: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                 _ argumentsJSON: UnsafePointer<CChar>?, _ timeoutMs: Int32,
                                 _ outResult: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                 _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outResult?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        let n = try requiredString(name, "name")
        var params = JSONObject()
        params["name"] = .string(n)
        if let a = try optionalJSON(argumentsJSON, "arguments_json") {
            guard case .object = a else { throw .invalidArgument("arguments_json must be a JSON object") }
            params["arguments"] = a
        }
        let result = try blockingRequest(h, "tools/call", params, timeoutMs)
        outResult?.pointee = hostString(JSONSerializer.string(result))
    }
}

private let listKeys: [String: String] = [
    "tools/list": "tools", "resources/list": "resources", "resources/templates/list": "resourceTemplates",
    "prompts/list": "prompts", "tasks/list": "tasks",
]

@c @implementation
public func mcp_client_list(_ client: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ timeoutMs: Int32,
                            _ outItems: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                            _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outItems?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        let m = try requiredString(method, "method")
        guard let key = listKeys[m] else {
            throw .invalidArgument("method must be tools/list, resources/list, resources/templates/list, prompts/list or tasks/list")
        }
        var items: [JSONValue] = []
        var cursor: JSONValue? = nil
        for _ in 0..<10_000 {
            let page = try blockingRequest(h, m, cursor.map { JSONObject(["cursor": $0]) }, timeoutMs)
            items += page[key]?.arrayValue ?? []
            cursor = page["nextCursor"]
            if cursor == nil || cursor == .null {
                outItems?.pointee = hostString(JSONSerializer.string(.array(items)))
                return
            }
        }
        throw ABIError(status: MCP_ERR_LIMIT, message: "More than 10000 pages")
    }
}
