import MCPCore
import MCPRuntime

/// Maps mcp_call_t handles to calls. Handles are never-reused numbers rather
/// than pointers, so a handle used after its answer (a common host bug) gives
/// MCP_ERR_STATE instead of touching freed memory.
enum CallTable {
    struct Entry {
        var call: any AnswerableCall
        /// The registration's host callback: its free_fn must not run while a
        /// call of it is still unanswered, even if the feature was removed.
        var keepAlive: AnyObject?
        /// A tool call's arguments, for mcp_call_arg_string.
        var arguments: JSONObject?
        /// Argument texts lent to the host; freed when the entry is dropped,
        /// after the answer (which may pass one of them back).
        var lent: LentStrings?
    }

    private struct Table {
        var next: UInt = 0x1000
        var calls: [UInt: Entry] = [:]
    }

    private static let table = LockedState(Table())

    static func register(_ call: any AnswerableCall, keepAlive: AnyObject? = nil,
                         arguments: JSONObject? = nil) -> OpaquePointer? {
        let lent = arguments.map { LentStrings($0) }
        let id = table.withLock { t -> UInt in
            t.next += 8
            t.calls[t.next] = Entry(call: call, keepAlive: keepAlive, arguments: arguments, lent: lent)
            return t.next
        }
        return OpaquePointer(bitPattern: id)
    }

    static func lookup(_ handle: OpaquePointer?) -> (any AnswerableCall)? {
        guard let handle else { return nil }
        let id = UInt(bitPattern: Int(bitPattern: handle))
        return table.withLock { $0.calls[id]?.call }
    }

    /// The live entry of a handle (its call and what it lends).
    static func entry(_ handle: OpaquePointer?) -> Entry? {
        guard let handle else { return nil }
        let id = UInt(bitPattern: Int(bitPattern: handle))
        return table.withLock { $0.calls[id] }
    }

    /// Removes the handle; the call is answered by the caller, who keeps the
    /// entry until then (lent strings stay valid while answering).
    static func take(_ handle: OpaquePointer?) -> Entry? {
        guard let handle else { return nil }
        let id = UInt(bitPattern: Int(bitPattern: handle))
        // The keep-alive is released by the caller, outside the lock (free_fn may run).
        return table.withLock { $0.calls.removeValue(forKey: id) }
    }
}

/// A call's string arguments as NUL-terminated bytes that stay put until the
/// call's entry is dropped. A string of more than 15 bytes is lent in place:
/// its UTF-8 lives in one heap object of its own, which `arguments` keeps
/// alive and never mutates. A small one lives inside the value (no lasting
/// address) and is lent as a copy, made on first request and freed with the
/// entry. For megabytes of text, lending in place saves a copy and the page
/// faults of a fresh buffer per call.
/// @unchecked Sendable: the copies are only touched under `state`'s lock, and
/// freed in deinit, when no other reference exists.
final class LentStrings: @unchecked Sendable {
    private let arguments: JSONObject
    /// Copies lent so far, by argument name: a call lends one or two, so an
    /// array searched in order (a Dictionary hashed the name and allocated
    /// its storage on each call's first lend, ~1.1K instructions).
    private let state = LockedState([(name: String, copy: UnsafeMutableBufferPointer<UInt8>)]())

    init(_ arguments: JSONObject) { self.arguments = arguments }

    enum Lookup {
        case text(UnsafeBufferPointer<UInt8>)
        case missing
        case notString(String)
    }

    func lend(_ name: String) -> Lookup {
        guard let value = arguments[name] else { return .missing }
        guard case .string(var s) = value else { return .notString(value.kindName) }
        if let inPlace = Self.storage(of: s) { return .text(inPlace) }
        return state.withLock { (lent) -> Lookup in
            if let b = lent.first(where: { $0.name == name })?.copy {
                return .text(UnsafeBufferPointer(rebasing: b[0..<(b.count - 1)]))
            }
            let copy = s.withUTF8 { utf8 in
                let b = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: utf8.count + 1)
                _ = b.initialize(fromContentsOf: utf8)
                b[utf8.count] = 0
                return b
            }
            lent.append((name, copy))
            return .text(UnsafeBufferPointer(rebasing: copy[0..<(copy.count - 1)]))
        }
    }

    /// The UTF-8 of a string in its own heap storage, followed by its NUL;
    /// nil for a small string (its bytes live inside the value) or one whose
    /// storage is not native contiguous UTF-8. The pointer outlives the
    /// closure by design: a large native string's storage is one heap object
    /// that never moves (String's layout is part of Swift's stable ABI), and
    /// the caller's `arguments` holds it, unmutated, as long as it is lent.
    private static func storage(of s: String) -> UnsafeBufferPointer<UInt8>? {
        guard s.utf8.count > 15 else { return nil }
        guard let b = s.utf8.withContiguousStorageIfAvailable({ $0 }), let base = b.baseAddress else { return nil }
        // Native storage keeps a NUL after the bytes (as withCString relies on).
        guard base[b.count] == 0 else { return nil }
        return b
    }

    /// The argument lent as exactly these bytes, for an answer that passes a
    /// lent text back: the string is reused, neither copied nor validated again
    /// (for megabytes, a copy and a fresh buffer's page faults saved).
    func original(of text: UnsafeRawPointer, count: Int) -> String? {
        for m in arguments.members {
            guard case .string(let s) = m.value, s.utf8.count == count, let b = Self.storage(of: s) else { continue }
            if UnsafeRawPointer(b.baseAddress) == text { return s }
        }
        return state.withLock { lent -> String? in
            for (name, b) in lent where b.baseAddress.map({ UnsafeRawPointer($0) }) == text && b.count - 1 == count {
                if case .string(let s) = arguments[name] { return s }
            }
            return nil
        }
    }

    deinit {
        state.withLock { lent in
            for entry in lent { entry.copy.deallocate() }
        }
    }
}
