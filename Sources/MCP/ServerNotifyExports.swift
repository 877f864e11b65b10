import CMCP
import MCPCore

// Server-wide handlers and notifications: completion, resource updates, logs,
// URL-elicitation completion.

@c @implementation
public func mcp_server_set_completion(_ server: OpaquePointer?, _ fn: mcp_completion_fn?,
                                      _ userData: UnsafeMutableRawPointer?, _ freeFn: mcp_free_fn?,
                                      _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let handle = try ServerHandle.from(server)
        guard let fn else {
            handle.core.setCompletionHandler(nil)
            return
        }
        let cb = HostCallback(fn: fn, userData: userData, free: freeFn)
        handle.core.setCompletionHandler { call, ref, name, value, context in
            let h = CallTable.register(call, keepAlive: cb)
            withJSONText(.object(ref)) { r in
                withJSONText(.object(context)) { c in cb.fn(cb.userData, h, r, name, value, c) }
            }
        }
    }
}

@c @implementation
public func mcp_server_notify_resource_updated(_ server: OpaquePointer?, _ uri: UnsafePointer<CChar>?,
                                               _ outCount: UnsafeMutablePointer<Int32>?,
                                               _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?)
    -> mcp_status
{
    outCount?.pointee = 0
    return withStatus(outError) { () throws(ABIError) in
        let handle = try ServerHandle.from(server)
        let u = try requiredString(uri, "uri")
        let n = handle.core.notifyResourceUpdated(uri: u)
        outCount?.pointee = Int32(clamping: n)
    }
}

@c @implementation
public func mcp_server_log(_ server: OpaquePointer?, _ level: UnsafePointer<CChar>?, _ logger: UnsafePointer<CChar>?,
                           _ dataJSON: UnsafePointer<CChar>?,
                           _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let handle = try ServerHandle.from(server)
        let name = try requiredString(level, "level")
        guard let l = LoggingLevel(rawValue: name) else {
            throw .invalidArgument("level must be one of debug, info, notice, warning, error, critical, alert, emergency")
        }
        let data = try optionalJSON(dataJSON, "data_json") ?? .null
        handle.core.log(level: l, logger: logger.map { String(cString: $0) }, data: data)
    }
}

@c @implementation
public func mcp_server_notify_elicitation_complete(_ server: OpaquePointer?, _ sessionID: UnsafePointer<CChar>?,
                                                   _ elicitationID: UnsafePointer<CChar>?,
                                                   _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?)
    -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let handle = try ServerHandle.from(server)
        let s = try requiredString(sessionID, "session_id")
        let e = try requiredString(elicitationID, "elicitation_id")
        guard handle.core.notifyElicitationComplete(sessionID: s, elicitationID: e) else {
            throw ABIError(status: MCP_ERR_NOT_FOUND, message: "No live session with id \(s)")
        }
    }
}
