import CMCP
import MCPRuntime

// mcp_set_log_hook: the engine's log records to one process-wide host hook.

/// A C function pointer and the host's pointer: plain values, safe to share
/// across threads (the host promised the hook may run on the log thread).
private struct LogHook: @unchecked Sendable {
    let fn: mcp_log_fn
    let userData: UnsafeMutableRawPointer?
}

@c @implementation
public func mcp_set_log_hook(_ fn: mcp_log_fn?, _ userData: UnsafeMutableRawPointer?, _ minLevel: Int32,
                             _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let level: EngineLog.Level
        switch minLevel {
        case ...Int32(MCP_LOG_DEBUG): level = .debug
        case ...Int32(MCP_LOG_INFO): level = .info
        case ...Int32(MCP_LOG_WARNING): level = .warning
        case ...Int32(MCP_LOG_ERROR): level = .error
        default: throw .invalidArgument("min_level \(minLevel) is above MCP_LOG_ERROR (\(MCP_LOG_ERROR))")
        }
        guard let fn else { return EngineLog.setHook(nil, minimum: level) }
        let hook = LogHook(fn: fn, userData: userData)
        EngineLog.setHook({ level, record in
            record.withCString { hook.fn(hook.userData, level.rawValue, $0) }
        }, minimum: level)
    }
}
