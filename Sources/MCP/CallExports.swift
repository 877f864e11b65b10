import Glibc
import CMCP
import MCPCore

// mcp_call_* functions: answers, progress, logs and cancellation of one call.

private func liveCall(_ call: OpaquePointer?) throws(ABIError) -> any AnswerableCall {
    guard call != nil else { throw .invalidArgument("call must not be NULL") }
    guard let c = CallTable.lookup(call) else { throw .state("The call handle is not live (already answered?)") }
    return c
}

/// Progress, logs and requests exist only for calls a server answers.
private func liveServerCall(_ call: OpaquePointer?) throws(ABIError) -> ServerCall {
    guard let c = try liveCall(call) as? ServerCall else {
        throw ABIError(status: MCP_ERR_UNSUPPORTED, message: "Only calls answered by a server support this")
    }
    return c
}

/// Consumes the handle and answers through `answer`.
private func answer(_ call: OpaquePointer?, _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                    _ prepare: () throws(ABIError) -> Void,
                    _ answer: (any AnswerableCall) throws(CallFailure) -> Void) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        guard call != nil else { throw .invalidArgument("call must not be NULL") }
        guard let entry = CallTable.take(call) else { throw .state("The call handle is not live (already answered?)") }
        // Strings lent by mcp_call_arg_string stay valid until the answer is made.
        defer { withExtendedLifetime(entry) {} }
        let c = entry.call
        do throws(ABIError) {
            try prepare()
        } catch {
            // An unusable answer still ends the call, so the client never hangs.
            try? c.fail(.internalError("The server produced an invalid result"))
            throw error
        }
        do throws(CallFailure) { try answer(c) } catch { throw ABIError(error) }
    }
}

/// As `answer`, for a result built from the call's kind (a server's calls only).
private func answerServerCall(_ call: OpaquePointer?, _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                              _ build: (ServerCall.Kind, LentStrings?) throws(ABIError) -> JSONValue) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        guard call != nil else { throw .invalidArgument("call must not be NULL") }
        guard let entry = CallTable.take(call) else { throw .state("The call handle is not live (already answered?)") }
        defer { withExtendedLifetime(entry) {} }
        let c = entry.call
        let result: JSONValue
        do throws(ABIError) {
            guard let sc = c as? ServerCall else {
                throw ABIError(status: MCP_ERR_UNSUPPORTED, message: "Only calls answered by a server support this")
            }
            result = try build(sc.kind, entry.lent)
        } catch {
            try? c.fail(.internalError("The server produced an invalid result"))
            throw error
        }
        do throws(CallFailure) { try c.respond(result) } catch { throw ABIError(error) }
    }
}

/// Host bytes that must be UTF-8 text.
private func utf8Text(_ p: UnsafePointer<CChar>?, _ len: Int, _ name: String) throws(ABIError) -> String {
    guard len >= 0 else { throw .invalidArgument("\(name) length must not be negative") }
    guard len == 0 || p != nil else { throw .invalidArgument("\(name) must not be NULL") }
    guard let p else { return "" }
    let bytes = UnsafeRawBufferPointer(start: p, count: len).bindMemory(to: UInt8.self)
    guard let s = String(validating: bytes, as: UTF8.self) else { throw .invalidArgument("\(name) is not valid UTF-8") }
    return s
}

@c @implementation
public func mcp_call_arg_string(_ call: OpaquePointer?, _ name: UnsafePointer<CChar>?,
                                _ outText: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                _ outLen: UnsafeMutablePointer<Int>?,
                                _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outText?.pointee = nil
    outLen?.pointee = 0
    return withStatus(outError) { () throws(ABIError) in
        guard call != nil else { throw .invalidArgument("call must not be NULL") }
        let key = try requiredString(name, "name")
        guard let outText, let outLen else { throw .invalidArgument("out_text and out_len must not be NULL") }
        guard let entry = CallTable.entry(call) else { throw .state("The call handle is not live (already answered?)") }
        guard let lent = entry.lent else {
            throw ABIError(status: MCP_ERR_UNSUPPORTED, message: "Only tool and prompt calls have arguments")
        }
        switch lent.lend(key) {
        case .text(let b):
            outText.pointee = b.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
            outLen.pointee = b.count
        case .missing: throw ABIError(status: MCP_ERR_NOT_FOUND, message: "No argument \"\(key)\"")
        case .notString(let kind): throw .invalidArgument("The argument \"\(key)\" is a \(kind), not a string")
        }
    }
}

@c @implementation
public func mcp_call_return_text(_ call: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ len: Int,
                                 _ mimeType: UnsafePointer<CChar>?, _ structuredKey: UnsafePointer<CChar>?,
                                 _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    answerServerCall(call, outError) { (kind, lent) throws(ABIError) in
        let s: String
        if let text, let same = lent?.original(of: text, count: len) {
            s = same
        } else {
            s = try utf8Text(text, len, "text")
        }
        let mime = mimeType.map { String(cString: $0) }
        let key = structuredKey.map { String(cString: $0) }
        do throws(CallFailure) {
            return try ContentResult.text(s, mimeType: mime, structuredKey: key, for: kind)
        } catch { throw ABIError(error) }
    }
}

@c @implementation
public func mcp_call_return_structured(_ call: OpaquePointer?, _ json: UnsafePointer<CChar>?, _ len: Int,
                                       _ structuredKey: UnsafePointer<CChar>?,
                                       _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    answerServerCall(call, outError) { (kind, _) throws(ABIError) in
        try structuredResult(json, len, "json", structuredKey, kind)
    }
}

/// The result of mcp_call_return_structured(_parts): the `len` bytes at `json` (NULL only when
/// empty) as the text block, parsed as structuredContent.
private func structuredResult(_ json: UnsafePointer<CChar>?, _ len: Int, _ name: String,
                              _ structuredKey: UnsafePointer<CChar>?, _ kind: ServerCall.Kind) throws(ABIError)
    -> JSONValue
{
    let text = try utf8Text(json, len, name)
    let r = Result { () throws(JSONParseError) in try JSONParser.parse(UnsafeRawBufferPointer(start: json, count: len)) }
    let value: JSONValue
    switch r {
    case .success(let v): value = v
    case .failure(let e): throw ABIError(status: MCP_ERR_INVALID_JSON, message: "\(name) is not valid JSON: \(e)")
    }
    let key = structuredKey.map { String(cString: $0) }
    do throws(CallFailure) {
        return try ContentResult.structured(json: text, value: value, structuredKey: key, for: kind)
    } catch { throw ABIError(error) }
}

@c @implementation
public func mcp_call_return_structured_parts(_ call: OpaquePointer?, _ parts: UnsafePointer<UnsafePointer<CChar>?>?,
                                             _ lens: UnsafePointer<Int>?, _ count: Int,
                                             _ structuredKey: UnsafePointer<CChar>?,
                                             _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?)
    -> mcp_status
{
    answerServerCall(call, outError) { (kind, _) throws(ABIError) in
        guard let parts, let lens else { throw .invalidArgument("parts and lens must not be NULL") }
        guard count > 0, count % 2 == 1 else {
            throw .invalidArgument("count must be odd: JSON text, a string, JSON text, ... (got \(count))")
        }
        var size = 0
        for i in 0..<count {
            guard lens[i] == 0 || parts[i] != nil else { throw .invalidArgument("parts[\(i)] must not be NULL") }
            let (sum, overflow) = size.addingReportingOverflow(lens[i] &+ 2)
            guard lens[i] >= 0, !overflow, sum >= 0 else { throw .invalidArgument("lens[\(i)] is too large") }
            size = sum
        }
        // The JSON text, the strings written as JSON strings by the serializer's own escaping
        // (bulk copies of the runs that need none), in one buffer of about its size.
        var text = JSONSerializer.emptyBuffer(capacity: size)
        for i in 0..<count {
            let part = UnsafeRawBufferPointer(start: parts[i], count: lens[i])
            if i % 2 == 0 {
                text.append(contentsOf: part)
            } else {
                JSONSerializer.writeString(part, to: &text)
            }
        }
        return try text.withUnsafeBufferPointer { (b) throws(ABIError) -> JSONValue in
            let start = b.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
            return try structuredResult(start, b.count, "the joined parts", structuredKey, kind)
        }
    }
}

@c @implementation
public func mcp_call_return_blob(_ call: OpaquePointer?, _ data: UnsafeRawPointer?, _ len: Int,
                                 _ mimeType: UnsafePointer<CChar>?,
                                 _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    answerServerCall(call, outError) { (kind, _) throws(ABIError) in
        guard len >= 0 else { throw .invalidArgument("data length must not be negative") }
        guard len == 0 || data != nil else { throw .invalidArgument("data must not be NULL") }
        let mime = try requiredString(mimeType, "mime_type")
        do throws(CallFailure) {
            return try ContentResult.blob(UnsafeRawBufferPointer(start: data, count: len), mimeType: mime, for: kind)
        } catch { throw ABIError(error) }
    }
}

@c @implementation
public func mcp_call_return(_ call: OpaquePointer?, _ resultJSON: UnsafePointer<CChar>?,
                            _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    var result = JSONValue.null
    return answer(call, outError, { () throws(ABIError) in
        guard resultJSON != nil else { throw .invalidArgument("result_json must not be NULL") }
        result = try optionalJSON(resultJSON, "result_json") ?? .null
    }, { (c) throws(CallFailure) in try c.respond(result) })
}

@c @implementation
public func mcp_call_error(_ call: OpaquePointer?, _ code: Int32, _ message: UnsafePointer<CChar>?,
                           _ dataJSON: UnsafePointer<CChar>?,
                           _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    var error = JSONRPCError(code: Int64(code), message: "")
    return answer(call, outError, { () throws(ABIError) in
        let text = message.map { String(cString: $0) } ?? ""
        error.message = text.isEmpty ? ErrorCode.defaultMessage(Int64(code)) : text
        error.data = try optionalJSON(dataJSON, "data_json")
    }, { (c) throws(CallFailure) in try c.fail(error) })
}

@c @implementation
public func mcp_call_is_cancelled(_ call: OpaquePointer?) -> Int32 {
    guard let c = CallTable.lookup(call) else { return 0 }
    return c.isCancelled ? 1 : 0
}

@c @implementation
public func mcp_call_progress(_ call: OpaquePointer?, _ progress: Double, _ total: Double,
                              _ message: UnsafePointer<CChar>?,
                              _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let c = try liveServerCall(call)
        let text = message.map { String(cString: $0) }
        do throws(ServerCall.Failure) {
            try c.progress(progress, total: total < 0 ? nil : total, message: text)
        } catch { throw ABIError(error) }
    }
}

@c @implementation
public func mcp_call_log(_ call: OpaquePointer?, _ level: UnsafePointer<CChar>?, _ logger: UnsafePointer<CChar>?,
                         _ dataJSON: UnsafePointer<CChar>?,
                         _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let c = try liveServerCall(call)
        let name = try requiredString(level, "level")
        guard let l = LoggingLevel(rawValue: name) else {
            throw .invalidArgument("level must be one of debug, info, notice, warning, error, critical, alert, emergency")
        }
        let data = try optionalJSON(dataJSON, "data_json") ?? .null
        do throws(ServerCall.Failure) {
            try c.log(level: l, logger: logger.map { String(cString: $0) }, data: data)
        } catch { throw ABIError(error) }
    }
}

/// A host pointer carried into engine closures.
/// @unchecked Sendable: libmcp never dereferences it; the header tells hosts
/// their callbacks receive it on engine threads.
struct HostPointer: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer?
}

@c @implementation
public func mcp_call_on_cancel(_ call: OpaquePointer?, _ fn: mcp_cancel_fn?, _ userData: UnsafeMutableRawPointer?,
                               _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let c = try liveCall(call)
        guard let fn else { throw .invalidArgument("fn must not be NULL") }
        if c.isAnswered { throw .state("The call was already answered") }
        let ud = HostPointer(raw: userData)
        c.onCancel { fn(ud.raw) }
    }
}

@c @implementation
public func mcp_call_request(_ call: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ paramsJSON: UnsafePointer<CChar>?,
                             _ timeoutMs: Int32, _ fn: mcp_response_fn?, _ userData: UnsafeMutableRawPointer?,
                             _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    callRequest(call, nil, method, paramsJSON, timeoutMs, fn, userData, outError)
}

@c @implementation
public func mcp_call_request_named(_ call: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ method: UnsafePointer<CChar>?,
                                   _ paramsJSON: UnsafePointer<CChar>?, _ timeoutMs: Int32, _ fn: mcp_response_fn?,
                                   _ userData: UnsafeMutableRawPointer?,
                                   _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    callRequest(call, key, method, paramsJSON, timeoutMs, fn, userData, outError)
}

private func callRequest(_ call: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ method: UnsafePointer<CChar>?,
                         _ paramsJSON: UnsafePointer<CChar>?, _ timeoutMs: Int32, _ fn: mcp_response_fn?,
                         _ userData: UnsafeMutableRawPointer?,
                         _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let c = try liveServerCall(call)
        let m = try requiredString(method, "method")
        guard let fn else { throw .invalidArgument("fn must not be NULL") }
        let k = key.map { String(cString: $0) }
        if let k, k.isEmpty { throw .invalidArgument("key must not be empty") }
        var params: JSONObject? = nil
        if let v = try optionalJSON(paramsJSON, "params_json") {
            guard case .object(let o) = v else { throw .invalidArgument("params_json must be a JSON object") }
            params = o
        }
        let timing = timeoutMs > 0 ? RequestTiming(timeoutMs: Int(timeoutMs), maxTotalMs: Int(timeoutMs) * 10) : RequestTiming()
        let ud = HostPointer(raw: userData)
        do throws(ServerCall.Failure) {
            try c.request(method: m, params: params, key: k, timing: timing) { outcome in
                deliverResponse(outcome, fn, ud)
            }
        } catch { throw ABIError(error) }
    }
}

@c @implementation
public func mcp_call_input_state(_ call: OpaquePointer?, _ outState: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                 _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outState?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        guard let outState else { throw .invalidArgument("out_state must not be NULL") }
        let c = try liveServerCall(call)
        outState.pointee = c.inputRound?.hostState.flatMap(hostString)
    }
}

@c @implementation
public func mcp_call_set_input_state(_ call: OpaquePointer?, _ state: UnsafePointer<CChar>?,
                                     _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let c = try liveServerCall(call)
        guard let round = c.inputRound else {
            throw ABIError(status: MCP_ERR_UNSUPPORTED,
                           message: "Only a 2026-07-28 tool call, prompt get or resource read carries input state")
        }
        round.setHostState(state.map { String(cString: $0) })
    }
}

/// Hands a request's outcome to a host response callback.
func deliverResponse(_ outcome: Result<JSONValue, RequestFailure>, _ fn: mcp_response_fn, _ ud: HostPointer) {
    switch outcome {
    case .success(let r):
        withJSONText(r) { fn(ud.raw, MCP_OK, $0, nil) }
    case .failure(.peer(let e)):
        withJSONText(e.json) { fn(ud.raw, MCP_ERR_PEER, nil, $0) }
    case .failure(.timeout): fn(ud.raw, MCP_ERR_TIMEOUT, nil, nil)
    case .failure(.cancelled): fn(ud.raw, MCP_ERR_CANCELLED, nil, nil)
    case .failure(.closed): fn(ud.raw, MCP_ERR_CLOSED, nil, nil)
    case .failure(.lost(let why)):
        // What the transport saw, in the shape MCP_ERR_LIMIT already uses.
        withJSONText(JSONRPCError.internalError("The connection closed before an answer: \(why)").json) {
            fn(ud.raw, MCP_ERR_CLOSED, nil, $0)
        }
    case .failure(.unsupported): fn(ud.raw, MCP_ERR_UNSUPPORTED, nil, nil)
    case .failure(.limit(let m)):
        withJSONText(JSONRPCError.internalError(m).json) { fn(ud.raw, MCP_ERR_LIMIT, nil, $0) }
    }
}

@c @implementation
public func mcp_call_session_id(_ call: OpaquePointer?, _ outID: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outID?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        guard let outID else { throw .invalidArgument("out_id must not be NULL") }
        let id = try liveServerCall(call).sessionID
        guard !id.isEmpty else { throw .state("A 2026-07-28 call over HTTP belongs to no session") }
        outID.pointee = hostString(id)
    }
}

@c @implementation
public func mcp_call_meta(_ call: OpaquePointer?, _ outJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                          _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outJSON?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        guard let outJSON else { throw .invalidArgument("out_json must not be NULL") }
        let meta = try liveCall(call).meta ?? JSONObject()
        outJSON.pointee = hostString(JSONSerializer.string(.object(meta)))
    }
}

/// Ends the connection carrying the call's answer; the client resumes the
/// stream (only the 2025-11-25 Streamable HTTP transport can).
@c @implementation
public func mcp_call_close_stream(_ call: OpaquePointer?,
                                  _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let c = try liveServerCall(call)
        guard !c.isAnswered else { throw .state("The call was already answered") }
        guard c.closeStream() else {
            throw ABIError(status: MCP_ERR_UNSUPPORTED,
                           message: "This call's transport cannot resume a stream (stdio, WebSocket, stateless, legacy SSE, or a client before 2025-11-25)")
        }
    }
}

/// The principal of the call's request (HTTP with "auth"); NULL without.
@c @implementation
public func mcp_call_principal_json(_ call: OpaquePointer?, _ outJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                    _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outJSON?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        guard let outJSON else { throw .invalidArgument("out_json must not be NULL") }
        guard let p = try liveServerCall(call).principal else { return }
        outJSON.pointee = hostString(JSONSerializer.string(p.json))
    }
}
