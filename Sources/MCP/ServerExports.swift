import Glibc
import CMCP
import MCPCore
import MCPTransport
import MCPRuntime
import MCPMetrics

// mcp_server_* functions, in header order: validate, convert, forward.

@c @implementation
public func mcp_server_new(_ name: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?,
                           _ optionsJSON: UnsafePointer<CChar>?,
                           _ outServer: UnsafeMutablePointer<OpaquePointer?>?,
                           _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outServer?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        guard let outServer else { throw .invalidArgument("out_server must not be NULL") }
        let n = try requiredString(name, "name")
        let v = try requiredString(version, "version")
        guard !n.isEmpty, !v.isEmpty else { throw .invalidArgument("name and version must not be empty") }
        var options = ServerOptions(name: n, version: v)
        var workers = ServerHandle.defaultWorkers
        var keepMetrics = true
        try OptionsReader.read(optionsJSON, argument: "options_json") { (r: inout OptionsReader) throws(ABIError) in
            if let s = try r.string("title") { options.info["title"] = .string(s) }
            if let s = try r.string("description") { options.info["description"] = .string(s) }
            if let s = try r.string("website_url") { options.info["websiteUrl"] = .string(s) }
            if let icons = try r.array("icons") { options.info["icons"] = .array(icons) }
            options.instructions = try r.string("instructions")
            options.pageSize = try r.int("page_size", 1...10_000) ?? options.pageSize
            options.maxDepth = try r.int("max_depth", 16...10_000) ?? options.maxDepth
            workers = try r.int("worker_threads", 1...1024) ?? workers
            // ABI 1.3: extensions and the default caching hints of 2026-07-28.
            if let ext = try r.object("extensions") {
                for (key, value) in ext.members.map({ ($0.key, $0.value) }) {
                    guard key.contains("/"), value.objectValue != nil else {
                        throw .invalidArgument("option \"extensions\" maps identifiers with a prefix "
                            + "(\"vendor.example/name\") to settings objects; \"\(key)\" does not")
                    }
                }
                options.extensions = ext
            }
            // ABI 1.4: capabilities declared whatever is registered at handshake time.
            if let kinds = try r.array("declare_capabilities") {
                for kind in kinds {
                    guard let name = kind.stringValue, let c = DeclarableCapability(rawValue: name) else {
                        throw .invalidArgument("option \"declare_capabilities\" lists \"tools\", \"resources\", "
                            + "\"prompts\" or \"logging\"; \(JSONSerializer.string(kind)) is none of them")
                    }
                    options.declaredCapabilities.insert(c)
                }
            }
            // ABI 1.3: task lifetimes (the TTL a task gets when its client names
            // none, which at 2026-07-28 is always) and the poll hint.
            if let ttl = try r.int("task_ttl_ms", 1...Int64(options.taskLimits.maxTTLMs)) { options.taskLimits.defaultTTLMs = ttl }
            if let poll = try r.int("task_poll_interval_ms", 1...3_600_000) { options.taskLimits.pollIntervalMs = poll }
            if let ttl = try r.int("cache_ttl_ms", atLeast: 0) { options.cacheDefault.ttlMs = Int64(ttl) }
            if let scope = try r.choice("cache_scope", "\"public\" or \"private\"", CacheHint.Scope.init(rawValue:)) {
                options.cacheDefault.scope = scope
            }
            keepMetrics = try r.bool("metrics") ?? keepMetrics
            try readRequestStateOptions(&r, into: &options.requestState)
            try readCallLimits(&r, into: &options.callLimits)
            // ABI 1.4: schema validation (tool arguments and results,
            // elicitation answers) and the bounds of every schema (SEP-2106).
            options.validatesSchemas = try r.bool("schema_validation") ?? options.validatesSchemas
            let l = options.schemaLimits
            options.schemaLimits = SchemaLimits(
                maxSchemaDepth: try r.int("schema_max_depth", 1...10_000) ?? l.maxSchemaDepth,
                maxSubschemas: try r.int("schema_max_subschemas", 1...10_000_000) ?? l.maxSubschemas,
                maxEvaluationDepth: try r.int("schema_max_evaluation_depth", 1...10_000) ?? l.maxEvaluationDepth,
                maxSteps: try r.int("schema_max_steps", 1...100_000_000) ?? l.maxSteps)
        }
        let pool = WorkerPool(maxThreads: workers)
        let scheduler = Scheduler(executor: pool)
        let metrics = keepMetrics ? ServerMetrics() : nil
        let handle = ServerHandle(core: ServerCore(options: options, executor: pool, scheduler: scheduler,
                                                   observer: metrics),
                                  pool: pool, scheduler: scheduler, metrics: metrics)
        outServer.pointee = handle.retainedPointer
    }
}

@c @implementation
public func mcp_server_free(_ server: OpaquePointer?) {
    guard let server else { return }
    let u = Unmanaged<ServerHandle>.fromOpaque(UnsafeRawPointer(server))
    u.takeUnretainedValue().free()
    u.release()
}

// MARK: features

private func addFeature<Fn>(_ server: OpaquePointer?, _ json: UnsafePointer<CChar>?, _ what: String, _ fn: Fn?,
                            _ userData: UnsafeMutableRawPointer?, _ freeFn: mcp_free_fn?,
                            _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                            _ register: (ServerCore, JSONObject, HostCallback<Fn>) throws(DefinitionError) -> Void)
    -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let handle = try ServerHandle.from(server)
        let def = try requiredObject(json, "\(what)_json")
        guard let fn else { throw .invalidArgument("the callback must not be NULL") }
        let callback = HostCallback(fn: fn, userData: userData, free: freeFn)
        do throws(DefinitionError) {
            try register(handle.core, def, callback)
        } catch {
            callback.disarm()
            throw ABIError(error)
        }
    }
}

private func removeFeature(_ server: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ what: String,
                           _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                           _ remove: (ServerCore, String) throws(DefinitionError) -> Void) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let handle = try ServerHandle.from(server)
        let k = try requiredString(key, what)
        do throws(DefinitionError) { try remove(handle.core, k) } catch { throw ABIError(error) }
    }
}

@c @implementation
public func mcp_server_add_tool(_ server: OpaquePointer?, _ toolJSON: UnsafePointer<CChar>?, _ fn: mcp_tool_fn?,
                                _ userData: UnsafeMutableRawPointer?, _ freeFn: mcp_free_fn?,
                                _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    mcp_server_add_tool_ex(server, toolJSON, fn, userData, freeFn, 0, outError)
}

@c @implementation
public func mcp_server_add_tool_ex(_ server: OpaquePointer?, _ toolJSON: UnsafePointer<CChar>?, _ fn: mcp_tool_fn?,
                                   _ userData: UnsafeMutableRawPointer?, _ freeFn: mcp_free_fn?, _ flags: UInt32,
                                   _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    let known = UInt32(MCP_TOOL_INLINE) | UInt32(MCP_TOOL_ARGS_ON_DEMAND) | UInt32(MCP_TOOL_NO_VALIDATION)
    guard flags & ~known == 0 else {
        return withStatus(outError) { () throws(ABIError) in
            throw .invalidArgument("unknown flags 0x\(String(flags & ~known, radix: 16)) "
                + "(known: MCP_TOOL_INLINE, MCP_TOOL_ARGS_ON_DEMAND, MCP_TOOL_NO_VALIDATION)")
        }
    }
    let inline = flags & UInt32(MCP_TOOL_INLINE) != 0
    let onDemand = flags & UInt32(MCP_TOOL_ARGS_ON_DEMAND) != 0
    let unchecked = flags & UInt32(MCP_TOOL_NO_VALIDATION) != 0
    return addFeature(server, toolJSON, "tool", fn, userData, freeFn, outError) { (core, def, cb) throws(DefinitionError) in
        // Schemas are made once here (not per call), with the server's limits;
        // a server or tool without validation leaves them unread.
        let validation = unchecked || !core.options.validatesSchemas ? nil : core.options.schemaLimits
        try core.addTool(ToolEntry(definition: def, inline: inline, validation: validation) { call, args in
            let handle = CallTable.register(call, keepAlive: cb, arguments: args)
            if onDemand {
                cb.fn(cb.userData, handle, nil)
            } else {
                withJSONText(.object(args)) { cb.fn(cb.userData, handle, $0) }
            }
        })
    }
}

@c @implementation
public func mcp_server_remove_tool(_ server: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                   _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    removeFeature(server, name, "name", outError) { (core, key) throws(DefinitionError) in try core.removeTool(named: key) }
}

private func resourceHandler(_ cb: HostCallback<mcp_resource_fn>) -> ResourceHandler {
    { call, uri, vars in
        let handle = CallTable.register(call, keepAlive: cb)
        withJSONText(.object(vars)) { v in cb.fn(cb.userData, handle, uri, v) }
    }
}

@c @implementation
public func mcp_server_add_resource(_ server: OpaquePointer?, _ resourceJSON: UnsafePointer<CChar>?,
                                    _ fn: mcp_resource_fn?, _ userData: UnsafeMutableRawPointer?,
                                    _ freeFn: mcp_free_fn?,
                                    _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    addFeature(server, resourceJSON, "resource", fn, userData, freeFn, outError) { (core, def, cb) throws(DefinitionError) in
        try core.addResource(ResourceEntry(definition: def, handler: resourceHandler(cb)))
    }
}

@c @implementation
public func mcp_server_remove_resource(_ server: OpaquePointer?, _ uri: UnsafePointer<CChar>?,
                                       _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    removeFeature(server, uri, "uri", outError) { (core, key) throws(DefinitionError) in try core.removeResource(uri: key) }
}

@c @implementation
public func mcp_server_add_resource_template(_ server: OpaquePointer?, _ templateJSON: UnsafePointer<CChar>?,
                                             _ fn: mcp_resource_fn?, _ userData: UnsafeMutableRawPointer?,
                                             _ freeFn: mcp_free_fn?,
                                             _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?)
    -> mcp_status
{
    addFeature(server, templateJSON, "template", fn, userData, freeFn, outError) { (core, def, cb) throws(DefinitionError) in
        try core.addTemplate(TemplateEntry(definition: def, handler: resourceHandler(cb)))
    }
}

@c @implementation
public func mcp_server_remove_resource_template(_ server: OpaquePointer?, _ uriTemplate: UnsafePointer<CChar>?,
                                                _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?)
    -> mcp_status
{
    removeFeature(server, uriTemplate, "uri_template", outError) { (core, key) throws(DefinitionError) in
        try core.removeTemplate(uriTemplate: key)
    }
}

@c @implementation
public func mcp_server_add_prompt(_ server: OpaquePointer?, _ promptJSON: UnsafePointer<CChar>?, _ fn: mcp_prompt_fn?,
                                  _ userData: UnsafeMutableRawPointer?, _ freeFn: mcp_free_fn?,
                                  _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    addFeature(server, promptJSON, "prompt", fn, userData, freeFn, outError) { (core, def, cb) throws(DefinitionError) in
        try core.addPrompt(PromptEntry(definition: def) { call, args in
            let handle = CallTable.register(call, keepAlive: cb, arguments: args)
            withJSONText(.object(args)) { cb.fn(cb.userData, handle, $0) }
        })
    }
}

@c @implementation
public func mcp_server_remove_prompt(_ server: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                     _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    removeFeature(server, name, "name", outError) { (core, key) throws(DefinitionError) in try core.removePrompt(named: key) }
}

// MARK: serving

private func stdioOptions(_ json: UnsafePointer<CChar>?) throws(ABIError) -> StdioOptions {
    var options = StdioOptions()
    try OptionsReader.read(json, argument: "options_json") { (r: inout OptionsReader) throws(ABIError) in
        options.maxMessageBytes = try r.int("max_message_bytes", atLeast: 1024) ?? options.maxMessageBytes
        options.drainTimeoutMs = try r.checked("drain_timeout_ms", "a non-negative integer") { v in
            v.intValue.flatMap { $0 >= 0 && $0 <= Int64(Int32.max) ? Int($0) : nil }
        } ?? options.drainTimeoutMs
        options.redirectStdout = try r.bool("redirect_stdout") ?? options.redirectStdout
        options.maxInFlight = try r.int("max_in_flight", 1...1_000_000) ?? options.maxInFlight
        options.maxQueuedBytes = try r.int("max_queued_bytes", atLeast: 1024) ?? options.maxQueuedBytes
        options.keptBufferBytes = try r.int("kept_buffer_bytes", atLeast: 0) ?? options.keptBufferBytes
    }
    return options
}

private func serve(_ server: OpaquePointer?, _ optionsJSON: UnsafePointer<CChar>?,
                   _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                   _ run: (ServerCore, StdioOptions, StopSignal) throws(TransportError) -> Void) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let handle = try ServerHandle.from(server)
        let options = try stdioOptions(optionsJSON)
        let stop = try handle.beginServing()
        defer { handle.endServing() }
        do throws(TransportError) {
            try run(handle.core, options, stop)
        } catch {
            switch error {
            case .io(let m): throw ABIError(status: MCP_ERR_IO, message: m)
            }
        }
    }
}

@c @implementation
public func mcp_server_serve_stdio(_ server: OpaquePointer?, _ optionsJSON: UnsafePointer<CChar>?,
                                   _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    serve(server, optionsJSON, outError) { (core, options, stop) throws(TransportError) in
        try StdioServerTransport.serveStdio(server: core, options: options, stop: stop)
    }
}

@c @implementation
public func mcp_server_serve_fds(_ server: OpaquePointer?, _ inFD: Int32, _ outFD: Int32,
                                 _ optionsJSON: UnsafePointer<CChar>?,
                                 _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    guard inFD >= 0, outFD >= 0 else {
        outError?.pointee = hostString("in_fd and out_fd must be open descriptors")
        return MCP_ERR_INVALID_ARG
    }
    return serve(server, optionsJSON, outError) { (core, options, stop) throws(TransportError) in
        try StdioServerTransport.serve(server: core, input: inFD, output: outFD, options: options, stop: stop)
    }
}

@c @implementation
public func mcp_server_stop(_ server: OpaquePointer?) {
    guard let handle = try? ServerHandle.from(server) else { return }
    handle.stop()
}

/// The "request_state_*" options of mcp_server_new (MRTR's requestState).
private func readRequestStateOptions(_ r: inout OptionsReader, into o: inout RequestStateOptions) throws(ABIError) {
    if let keys = try r.strings("request_state_keys") {
        guard !keys.isEmpty else { throw .invalidArgument("option \"request_state_keys\" must not be empty") }
        for k in keys where k.utf8.count < RequestStateOptions.minKeyBytes {
            throw .invalidArgument("option \"request_state_keys\": each key must be at least \(RequestStateOptions.minKeyBytes) bytes")
        }
        o.keys = keys.map { Array($0.utf8) }
    }
    // ABI 1.5: the fleet's shared secret; the requestState key is derived from it.
    if let hex = try r.string("state_key", nonEmpty: true) {
        guard o.keys.isEmpty else {
            throw .invalidArgument("options \"state_key\" and \"request_state_keys\" exclude each other: give one")
        }
        guard let key = StateKey(hex: hex) else {
            throw .invalidArgument("option \"state_key\" must be hex text of at least \(StateKey.minBytes) bytes (\(2 * StateKey.minBytes) hex digits)")
        }
        o.keys = [key.requestStateKey]
    }
    o.ttlMs = try r.int("request_state_ttl_ms", 1000...86_400_000) ?? o.ttlMs
    o.maxBytes = try r.int("request_state_max_bytes", 1024...16_777_216) ?? o.maxBytes
}

/// The call limits of mcp_server_new (ABI 1.4): calls in flight, tool
/// timeouts, circuit breakers (MCPCore Server/Overload).
private func readCallLimits(_ r: inout OptionsReader, into l: inout CallLimits) throws(ABIError) {
    l.maxInFlight = try r.int("max_calls_in_flight", 1...1_000_000) ?? l.maxInFlight
    l.retryAfterMs = try r.int("call_retry_after_ms", 1...3_600_000) ?? l.retryAfterMs
    if let timeouts = try r.object("tool_timeouts_ms") {
        for (name, value) in timeouts.members.map({ ($0.key, $0.value) }) {
            guard let ms = value.intValue, (1...86_400_000).contains(ms) else {
                throw .invalidArgument("option \"tool_timeouts_ms\": \"\(name)\" must map to milliseconds in 1...86400000")
            }
            l.toolTimeoutsMs[name] = Int(ms)
        }
    }
    if let breaker = try r.object("circuit_breaker") {
        func number(_ key: String, _ range: ClosedRange<Int64>) throws(ABIError) -> Int? {
            guard let v = breaker[key] else { return nil }
            guard let n = v.intValue, range.contains(n) else {
                throw .invalidArgument("option \"circuit_breaker\": \"\(key)\" must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return Int(n)
        }
        for key in breaker.keys where key != "failures" && key != "open_ms" {
            throw .invalidArgument("option \"circuit_breaker\": unknown key \"\(key)\" (failures, open_ms)")
        }
        l.breakerFailures = try number("failures", 1...10_000) ?? 5
        l.breakerOpenMs = try number("open_ms", 1...86_400_000) ?? l.breakerOpenMs
    }
}
