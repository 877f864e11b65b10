import Glibc
import CMCP
import MCPCore
import MCPTransport
import MCPRuntime

// mcp_client_* functions, in header order: validate, convert, forward.

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
        var workers = ClientHandle.defaultWorkers
        var maxMessageBytes = StdioClientOptions().maxMessageBytes
        try OptionsReader.read(optionsJSON, argument: "options_json") { (r: inout OptionsReader) throws(ABIError) in
            if let t = try r.string("title") { options.info["title"] = .string(t) }
            extra = try r.object("capabilities") ?? extra
            options.protocolVersion = try r.choice("protocol_version", "one of 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05",
                                                   ProtocolVersion.init(rawValue:)) ?? options.protocolVersion
            options.era = try r.choice("era", "\"auto\", \"legacy\" or one of 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05",
                                       ClientEra.init(option:)) ?? options.era
            options.maxInputRounds = try r.int("max_input_rounds", 0...1000) ?? options.maxInputRounds
            options.validatesToolOutput = try r.bool("validate_tool_output") ?? options.validatesToolOutput
            options.followsTasks = try r.bool("tasks") ?? options.followsTasks  // ABI 1.4
            let defaults = ResultCache.Limits()
            let maxEntries = try r.int("cache_max_entries", 1...1_000_000) ?? defaults.maxEntries
            let maxBytes = try r.int("cache_max_bytes", atLeast: 1024) ?? defaults.maxBytes
            if try r.bool("cache") == true { options.cache = ResultCache.Limits(maxEntries: maxEntries, maxBytes: maxBytes) }
            options.discoverTimeoutMs = try r.int("discover_timeout_ms", 1...86_400_000) ?? options.discoverTimeoutMs
            options.logLevel = try r.choice("log_level", "one of debug, info, notice, warning, error, critical, alert, emergency",
                                            LoggingLevel.init(rawValue:)) ?? options.logLevel
            let base = options.timing
            options.timing = RequestTiming(timeoutMs: try r.int("request_timeout_ms", 1...86_400_000) ?? base.timeoutMs,
                                           maxTotalMs: try r.int("max_total_timeout_ms", 1...86_400_000) ?? base.maxTotalMs)
            workers = try r.int("worker_threads", 1...1024) ?? workers
            maxMessageBytes = try r.int("max_message_bytes", 1024...Int64(Int32.max)) ?? maxMessageBytes
        }
        let handle = ClientHandle(name: n, version: v, options: options, extraCapabilities: extra, workers: workers,
                                  maxMessageBytes: maxMessageBytes)
        outClient.pointee = handle.retainedPointer
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
    h.scheduler.shutdown()
    h.pool.shutdown()
    u.release()
}

@c @implementation
public func mcp_client_set_request_handler(_ client: OpaquePointer?, _ method: UnsafePointer<CChar>?,
                                           _ fn: mcp_request_fn?, _ userData: UnsafeMutableRawPointer?,
                                           _ freeFn: mcp_free_fn?,
                                           _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        let m = try requiredString(method, "method")
        guard ClientCapabilities.handles(m) else {
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

/// `timeout_ms` of a connect's options: one wait for each request of the
/// connection, progress or not (every transport reads it the same way).
func readConnectTiming(_ r: inout OptionsReader, into timing: inout RequestTiming) throws(ABIError) {
    if let ms = try r.int("timeout_ms", 1...86_400_000) { timing = RequestTiming(timeoutMs: ms, maxTotalMs: ms) }
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
    case .lost(let why): return ABIError(status: MCP_ERR_CLOSED, message: "The connection closed before an answer: \(why)")
    case .unsupported(let m): return ABIError(status: MCP_ERR_UNSUPPORTED, message: m)
    case .limit(let m): return ABIError(status: MCP_ERR_LIMIT, message: m)
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
        try OptionsReader.read(optionsJSON, argument: "options_json") { (r: inout OptionsReader) throws(ABIError) in
            transportOptions.cwd = try r.string("cwd") ?? transportOptions.cwd
            transportOptions.closeGraceMs = try r.checked("close_timeout_ms", ">= 0") { v in
                v.intValue.flatMap { $0 >= 0 && $0 <= Int64(Int32.max) ? Int($0) : nil }
            } ?? transportOptions.closeGraceMs
            try readConnectTiming(&r, into: &timing)
        }
        if let cb = h.state.withLock({ $0.stderrHandler }) {
            transportOptions.stderrLine = { line in
                line.withMemoryRebound(to: CChar.self) { b in
                    var copy = Array(b)
                    copy.append(0)
                    copy.withUnsafeBufferPointer { cb.fn(cb.userData, $0.baseAddress, b.count) }
                }
            }
        }
        let result = try h.connect(timing: timing) { () throws(ABIError) -> any ClientTransport in
            do throws(TransportError) {
                return try StdioClientTransport(argv: args, env: stringVector(envp), options: transportOptions)
            } catch {
                switch error { case .io(let m): throw ABIError(status: MCP_ERR_IO, message: m) }
            }
        }
        outResult?.pointee = hostString(JSONSerializer.string(.object(result)))
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
        guard let n = s.negotiated else { throw .state("The client is not connected") }
        outJSON.pointee = hostString(JSONSerializer.string(.object(n.initializeShaped)))
    }
}

@c @implementation
public func mcp_client_get_era(_ client: OpaquePointer?, _ outJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                               _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outJSON?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        guard let outJSON else { throw .invalidArgument("out_json must not be NULL") }
        let s = try ClientHandle.from(client).session()
        guard let n = s.negotiated else { throw .state("The client is not connected") }
        outJSON.pointee = hostString(JSONSerializer.string(.object(n.json)))
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
        let (session, listing) = h.state.withLock { ($0.session, $0.listings[requestID]) }
        let why = reason.map { String(cString: $0) }
        if let listing { return listing.cancel(reason: why) }
        session?.cancel(.int(requestID), reason: why)
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

@c @implementation
public func mcp_client_list(_ client: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ timeoutMs: Int32,
                            _ outItems: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                            _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outItems?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        let m = try requiredString(method, "method")
        guard ListPager.itemKeys[m] != nil else {
            throw .invalidArgument("method must be tools/list, resources/list, resources/templates/list, prompts/list or tasks/list")
        }
        let session = try h.session()
        let t = timing(h, timeoutMs)
        let outcome = try waitFor { (done: @escaping @Sendable (Result<[JSONValue], ListFailure>) -> Void) throws(ABIError) in
            session.listAll(method: m, timing: t) { done($0) }
        }
        switch outcome {
        case .success(let items): outItems?.pointee = hostString(JSONSerializer.string(.array(items)))
        case .failure(let f): throw listError(f)
        }
    }
}

func listError(_ f: ListFailure) -> ABIError {
    switch f {
    case .unknownMethod(let m): return .invalidArgument("\(m) is not a paginated list method")
    case .request(let r): return failureError(r)
    case .refused(let c): return ABIError(c)
    // As a peer error's text, JSON, so bindings read it the same way.
    case .malformedPage(let m): return ABIError(status: MCP_ERR_PEER, message: JSONSerializer.string(JSONRPCError.internalError(m).json))
    case .endless(let m): return ABIError(status: MCP_ERR_LIMIT, message: m)
    }
}

@c @implementation
public func mcp_client_list_async(_ client: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ timeoutMs: Int32,
                                  _ fn: mcp_response_fn?, _ userData: UnsafeMutableRawPointer?,
                                  _ outRequestID: UnsafeMutablePointer<Int64>?,
                                  _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outRequestID?.pointee = 0
    return withStatus(outError) { () throws(ABIError) in
        let h = try ClientHandle.from(client)
        let m = try requiredString(method, "method")
        guard let fn else { throw .invalidArgument("fn must not be NULL") }
        guard ListPager.itemKeys[m] != nil else {
            throw .invalidArgument("method must be tools/list, resources/list, resources/templates/list, prompts/list or tasks/list")
        }
        let session = try h.session()
        let ud = HostPointer(raw: userData)
        // The outcome waits until the listing's id is known (and, for a
        // refusal, until this function has returned it as a status).
        let gate = LockedState<(open: Bool, early: Result<[JSONValue], ListFailure>?, id: Int64?)>((false, nil, nil))
        let deliver: @Sendable (Result<[JSONValue], ListFailure>) -> Void = { [weak h] outcome in
            if let id = gate.withLock({ $0.id }) { _ = h?.state.withLock { $0.listings.removeValue(forKey: id) } }
            switch outcome {
            case .success(let items): withJSONText(.array(items)) { fn(ud.raw, MCP_OK, $0, nil) }
            case .failure(.request(let f)): deliverResponse(.failure(f), fn, ud)
            case .failure(.malformedPage(let m)):
                withJSONText(JSONRPCError.internalError(m).json) { fn(ud.raw, MCP_ERR_PEER, nil, $0) }
            case .failure(let f):
                let e = listError(f)
                withJSONText(JSONRPCError.internalError(e.message).json) { fn(ud.raw, e.status, nil, $0) }
            }
        }
        let listing = session.listAll(method: m, timing: timing(h, timeoutMs)) { outcome in
            let now = gate.withLock { g -> Bool in
                if g.open { return true }
                g.early = outcome
                return false
            }
            if now { deliver(outcome) }
        }
        let early = gate.withLock { g -> Result<[JSONValue], ListFailure>? in
            g.open = true
            if case .int(let n)? = listing.id {
                g.id = n
                // Registered before the outcome can be delivered, which unregisters it.
                if g.early == nil { h.state.withLock { $0.listings[n] = listing } }
            }
            return g.early
        }
        if case .failure(.refused(let c))? = early { throw ABIError(c) }
        outRequestID?.pointee = gate.withLock { $0.id } ?? 0
        if let early { deliver(early) }
    }
}
