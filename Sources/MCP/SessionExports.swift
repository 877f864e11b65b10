import CMCP
import MCPCore
import MCPRuntime

// mcp_session_*: sessions whose bytes the host carries itself.

/// What an mcp_session_t points to. Outgoing messages pass through a
/// CombiningQueue, so host send callbacks for one session never overlap, keep
/// their order, and may re-enter mcp_session_receive without deadlock.
final class SessionHandle: Sendable, OpaqueHandle {
    let session: ServerSession
    private let outgoing: CombiningQueue<[UInt8]>

    init(server: ServerCore, send: HostCallback<mcp_send_fn>) {
        let queue = CombiningQueue<[UInt8]> { batch in
            for var m in batch {
                let length = m.count
                m.append(0)
                m.withUnsafeBufferPointer { buf in
                    buf.withMemoryRebound(to: CChar.self) { send.fn(send.userData, $0.baseAddress, length) }
                }
            }
        }
        outgoing = queue
        session = server.makeSession(defaultChannel: ClosureChannel { queue.push($0) })
    }

    static let parameterName = "session"
}

@c @implementation
public func mcp_server_session_new(_ server: OpaquePointer?, _ send: mcp_send_fn?,
                                   _ userData: UnsafeMutableRawPointer?, _ freeFn: mcp_free_fn?,
                                   _ outSession: UnsafeMutablePointer<OpaquePointer?>?,
                                   _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    outSession?.pointee = nil
    return withStatus(outError) { () throws(ABIError) in
        let handle = try ServerHandle.from(server)
        guard let send else { throw .invalidArgument("send must not be NULL") }
        guard let outSession else { throw .invalidArgument("out_session must not be NULL") }
        guard !handle.isFreed else { throw .state("The server was freed") }
        let callback = HostCallback(fn: send, userData: userData, free: freeFn)
        let s = SessionHandle(server: handle.core, send: callback)
        outSession.pointee = s.retainedPointer
    }
}

@c @implementation
public func mcp_session_receive(_ session: OpaquePointer?, _ message: UnsafePointer<CChar>?, _ length: Int,
                                _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let s = try SessionHandle.from(session)
        guard let message else { throw .invalidArgument("message must not be NULL") }
        guard length >= 0 else { throw .invalidArgument("length must not be negative") }
        guard !s.session.isClosed else { throw .state("The session is closed") }
        s.session.receive(UnsafeRawBufferPointer(start: message, count: length))
    }
}

@c @implementation
public func mcp_session_free(_ session: OpaquePointer?) {
    guard let session else { return }
    let u = Unmanaged<SessionHandle>.fromOpaque(UnsafeRawPointer(session))
    u.takeUnretainedValue().session.close()
    u.release()
}
