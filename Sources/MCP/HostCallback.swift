import CMCP
import Synchronization

/// A host function pointer with its user_data and free function. free_fn runs
/// exactly once, when the last engine reference goes away (after removal and
/// after the last call that uses it), unless registration failed.
///
/// @unchecked Sendable: user_data is an opaque host pointer that libmcp never
/// dereferences; the header tells hosts that callbacks run on any thread.
final class HostCallback<Fn>: @unchecked Sendable {
    let fn: Fn
    let userData: UnsafeMutableRawPointer?
    private let freeFn: mcp_free_fn?
    private let armed = Atomic<Bool>(true)

    init(fn: Fn, userData: UnsafeMutableRawPointer?, free: mcp_free_fn?) {
        self.fn = fn
        self.userData = userData
        self.freeFn = free
    }

    /// Registration failed: the data stays the host's, so free_fn must not run.
    func disarm() { armed.store(false, ordering: .relaxed) }

    deinit {
        if armed.load(ordering: .relaxed) { freeFn?(userData) }
    }
}
