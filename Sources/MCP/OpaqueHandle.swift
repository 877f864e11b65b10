/// An object that a C handle points to (mcp_server_t *, mcp_client_t *,
/// mcp_session_t *, mcp_http_handler_t *, mcp_http_exchange_t *): handed
/// out retained by its constructor, read back without taking ownership by
/// every other call, released by its _free.
protocol OpaqueHandle: AnyObject {
    /// The C parameter's name, for the NULL error ("server must not be NULL").
    static var parameterName: String { get }
}

extension OpaqueHandle {
    static func from(_ p: OpaquePointer?) throws(ABIError) -> Self {
        guard let p else { throw .invalidArgument("\(parameterName) must not be NULL") }
        return Unmanaged<Self>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }

    /// The handle for C: one reference, owned by the host until its _free.
    var retainedPointer: OpaquePointer { OpaquePointer(Unmanaged.passRetained(self).toOpaque()) }
}
