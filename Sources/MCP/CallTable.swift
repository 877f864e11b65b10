import MCPCore
import MCPRuntime

/// Maps mcp_call_t handles to calls. Handles are never-reused numbers rather
/// than pointers, so a handle used after its answer (a common host bug) gives
/// MCP_ERR_STATE instead of touching freed memory.
enum CallTable {
    private struct Entry {
        var call: any AnswerableCall
        /// The registration's host callback: its free_fn must not run while a
        /// call of it is still unanswered, even if the feature was removed.
        var keepAlive: AnyObject?
    }

    private struct Table {
        var next: UInt = 0x1000
        var calls: [UInt: Entry] = [:]
    }

    private static let table = LockedState(Table())

    static func register(_ call: any AnswerableCall, keepAlive: AnyObject? = nil) -> OpaquePointer? {
        let id = table.withLock { t -> UInt in
            t.next += 8
            t.calls[t.next] = Entry(call: call, keepAlive: keepAlive)
            return t.next
        }
        return OpaquePointer(bitPattern: id)
    }

    static func lookup(_ handle: OpaquePointer?) -> (any AnswerableCall)? {
        guard let handle else { return nil }
        let id = UInt(bitPattern: Int(bitPattern: handle))
        return table.withLock { $0.calls[id]?.call }
    }

    /// Removes the handle; the call is answered by the caller.
    static func take(_ handle: OpaquePointer?) -> (any AnswerableCall)? {
        guard let handle else { return nil }
        let id = UInt(bitPattern: Int(bitPattern: handle))
        // The keep-alive is released here, outside the lock (free_fn may run).
        let entry = table.withLock { $0.calls.removeValue(forKey: id) }
        return entry?.call
    }
}
