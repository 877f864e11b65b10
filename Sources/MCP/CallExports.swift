#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMCP
import MCPCore

// mcp_call_* functions: answers, progress, logs and cancellation of one call.

private func liveCall(_ call: OpaquePointer?) throws(ABIError) -> ServerCall {
    guard call != nil else { throw .invalidArgument("call must not be NULL") }
    guard let c = CallTable.lookup(call) else { throw .state("The call handle is not live (already answered?)") }
    return c
}

/// Consumes the handle and answers through `answer`.
private func answer(_ call: OpaquePointer?, _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                    _ prepare: () throws(ABIError) -> Void,
                    _ answer: (ServerCall) throws(ServerCall.Failure) -> Void) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        guard call != nil else { throw .invalidArgument("call must not be NULL") }
        guard let c = CallTable.take(call) else { throw .state("The call handle is not live (already answered?)") }
        do throws(ABIError) {
            try prepare()
        } catch {
            // An unusable answer still ends the call, so the client never hangs.
            try? c.fail(.internalError("The server produced an invalid result"))
            throw error
        }
        do throws(ServerCall.Failure) { try answer(c) } catch { throw ABIError(error) }
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
    }, { (c) throws(ServerCall.Failure) in try c.respond(result) })
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
    }, { (c) throws(ServerCall.Failure) in try c.fail(error) })
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
        let c = try liveCall(call)
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
        let c = try liveCall(call)
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
