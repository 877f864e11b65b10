import CMCP
import MCPCore
import MCPRuntime
import MCPTransport

// mcp_server_set_token_verifier, mcp_token_check_accept / _refuse and
// mcp_call_principal_json: validate, convert, forward. The checks themselves
// live in MCPCore/Auth and MCPTransport/Auth.

/// Token checks waiting for the host's answer, by never-reused handle (as
/// CallTable: a handle used twice gives MCP_ERR_STATE, not freed memory).
enum TokenCheckTable {
    typealias Done = @Sendable (Result<Principal, AuthFailure>) -> Void
    private struct Table {
        var next: UInt = 0x2000
        var pending: [UInt: (done: Done, cancelTimer: (@Sendable () -> Void)?)] = [:]
    }

    private static let table = LockedState(Table())

    static func register(_ done: @escaping Done) -> UInt {
        table.withLock { t -> UInt in
            t.next += 8
            t.pending[t.next] = (done, nil)
            return t.next
        }
    }

    static func setTimer(_ id: UInt, cancel: @escaping @Sendable () -> Void) {
        table.withLock { t in
            if t.pending[id] != nil { t.pending[id]?.cancelTimer = cancel }
        }
    }

    static func take(_ id: UInt) -> (done: Done, cancelTimer: (@Sendable () -> Void)?)? {
        table.withLock { $0.pending.removeValue(forKey: id) }
    }

    static func id(_ handle: OpaquePointer?) -> UInt? {
        guard let handle else { return nil }
        return UInt(bitPattern: Int(bitPattern: handle))
    }
}

extension ServerHandle {
    var hasTokenVerifier: Bool { tokenVerifier.withLock { $0 != nil } }

    /// The transport's HostTokenVerifier over the host's C callback: runs it
    /// on a worker (never an I/O thread), and refuses the token if the host
    /// has not answered within `timeoutMs`.
    func tokenVerifierBridge(timeoutMs: Int) -> HostTokenVerifier {
        { [weak self] token, done in
            guard let self, let callback = self.tokenVerifier.withLock({ $0 }) else {
                return done(.failure(AuthFailure(.unavailable, "No token verifier is set")))
            }
            let id = TokenCheckTable.register(done)
            let timer = self.scheduler.schedule(after: timeoutMs) {
                TokenCheckTable.take(id)?.done(.failure(AuthFailure(.unavailable, "The token verifier did not answer within \(timeoutMs) ms")))
            }
            let scheduler = self.scheduler
            TokenCheckTable.setTimer(id) { _ = scheduler.cancel(timer) }
            self.pool.execute {
                token.withCString { callback.fn(callback.userData, $0, OpaquePointer(bitPattern: id)) }
            }
        }
    }
}

/// Answers a pending check: the table holds its continuation and the
/// cancellation of its timeout.
private func settleCheck(_ check: OpaquePointer?, _ outcome: Result<Principal, AuthFailure>) throws(ABIError) {
    guard let id = TokenCheckTable.id(check) else { throw .invalidArgument("check must not be NULL") }
    guard let entry = TokenCheckTable.take(id) else { throw .state("This token check was already answered, or timed out") }
    entry.cancelTimer?()
    entry.done(outcome)
}

@c @implementation
public func mcp_server_set_token_verifier(_ server: OpaquePointer?, _ fn: mcp_token_verify_fn?,
                                          _ userData: UnsafeMutableRawPointer?, _ freeUserData: mcp_free_fn?,
                                          _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let handle = try ServerHandle.from(server)
        let callback = fn.map { HostCallback(fn: $0, userData: userData, free: freeUserData) }
        // The old callback (if any) is released outside the lock: its free_fn may run.
        let old = handle.tokenVerifier.withLock { v -> HostCallback<mcp_token_verify_fn>? in
            defer { v = callback }
            return v
        }
        _ = old
    }
}

@c @implementation
public func mcp_token_check_accept(_ check: OpaquePointer?, _ principalJSON: UnsafePointer<CChar>?,
                                   _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        guard let value = try optionalJSON(principalJSON, "principal_json") else {
            throw .invalidArgument("principal_json must not be NULL")
        }
        guard let principal = Principal(hostJSON: value) else {
            throw .invalidArgument("principal_json must be an object with optional string \"subject\", \"client_id\", \"issuer\", "
                + "\"scopes\" (array of strings, or one space-separated string) and object \"claims\"")
        }
        try settleCheck(check, .success(principal))
    }
}

@c @implementation
public func mcp_token_check_refuse(_ check: OpaquePointer?, _ reason: UnsafePointer<CChar>?,
                                   _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let text = reason.map { String(cString: $0) } ?? ""
        try settleCheck(check, .failure(AuthFailure(.refused, text.isEmpty ? "The token verifier refused the token" : text)))
    }
}
