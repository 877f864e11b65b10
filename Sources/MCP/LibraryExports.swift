import Glibc
import CMCP
import MCPCore
import MCPRuntime

// Library-wide functions of mcp.h: versions, status text, string release.

@c @implementation
public func mcp_abi_version() -> UInt32 {
    UInt32(MCP_ABI_VERSION_MAJOR) << 16 | UInt32(MCP_ABI_VERSION_MINOR)
}

/// The header's MCP_VERSION_STRING (the one place the release is written), copied
/// once: the C string stays valid and the same for the life of the process.
nonisolated(unsafe) private let versionText: UnsafePointer<CChar> = UnsafePointer(strdup(MCP_VERSION_STRING)!)

@c @implementation
public func mcp_version() -> UnsafePointer<CChar>? {
    versionText
}

private func staticText(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

@c @implementation
public func mcp_status_string(_ status: mcp_status) -> UnsafePointer<CChar>? {
    switch status {
    case MCP_OK: return staticText("ok")
    case MCP_ERR_INVALID_ARG: return staticText("invalid argument")
    case MCP_ERR_INVALID_JSON: return staticText("invalid JSON")
    case MCP_ERR_EXISTS: return staticText("already exists")
    case MCP_ERR_NOT_FOUND: return staticText("not found")
    case MCP_ERR_STATE: return staticText("not allowed in the current state")
    case MCP_ERR_IO: return staticText("I/O error")
    case MCP_ERR_NO_MEMORY: return staticText("out of memory")
    case MCP_ERR_LIMIT: return staticText("limit reached")
    case MCP_ERR_UNSUPPORTED: return staticText("not supported")
    case MCP_ERR_TIMEOUT: return staticText("timed out")
    case MCP_ERR_CANCELLED: return staticText("cancelled")
    case MCP_ERR_INTERNAL: return staticText("internal error")
    case MCP_ERR_PEER: return staticText("the peer answered with an error")
    case MCP_ERR_CLOSED: return staticText("the session is closed")
    case MCP_ERR_INPUT_REQUIRED: return staticText("the client's input is required")
    default: return staticText("unknown status")
    }
}

@c @implementation
public func mcp_string_free(_ s: UnsafeMutablePointer<CChar>?) {
    free(s)
}

/// C function pointers and a raw pointer: plain values, safe to share.
private struct ThreadHook: @unchecked Sendable {
    let fn: mcp_thread_fn
    let userData: UnsafeMutableRawPointer?
    func call() { fn(userData) }
}

@c @implementation
public func mcp_set_thread_hooks(_ onStart: mcp_thread_fn?, _ onExit: mcp_thread_fn?,
                                 _ userData: UnsafeMutableRawPointer?,
                                 _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outError?.pointee = nil
    var start: ThreadHooks.Hook?
    var exit: ThreadHooks.Hook?
    if let onStart {
        let h = ThreadHook(fn: onStart, userData: userData)
        start = { h.call() }
    }
    if let onExit {
        let h = ThreadHook(fn: onExit, userData: userData)
        exit = { h.call() }
    }
    ThreadHooks.set(start: start, exit: exit)
    return MCP_OK
}
