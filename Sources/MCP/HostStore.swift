import CMCP
import MCPCore
import MCPRuntime

/// The host's store (mcp_server_set_store) as a RecordStore: each operation
/// is one call of the host's table; what the host answers through
/// mcp_store_call_row / _error is gathered in HostStoreCalls under the
/// call's handle.
///
/// @unchecked Sendable: `methods` is an immutable copy of the host's table
/// (function pointers), `userData` an opaque host pointer libmcp never
/// dereferences, and mcp.h requires the callbacks to be thread-safe; the
/// mutable part (`life`) is behind its lock.
final class HostRecordStore: RecordStore, @unchecked Sendable {
    private let methods: mcp_store_methods_t
    private let userData: UnsafeMutableRawPointer?
    private let life = LockedState(Life())

    private struct Life {
        var inFlight = 0
        var destroyed = false
    }

    /// The smallest struct_size accepted: the table of ABI 1.7.
    static let minimumSize = MemoryLayout<mcp_store_methods_t>.size

    /// Checks and copies the host's table; the host keeps user_data on failure.
    init(_ table: UnsafePointer<mcp_store_methods_t>, userData: UnsafeMutableRawPointer?) throws(ABIError) {
        let size = UnsafeRawPointer(table).load(as: Int.self)
        guard size >= Self.minimumSize else {
            throw .invalidArgument("methods->struct_size is \(size); set it to sizeof(mcp_store_methods_t) "
                + "(\(Self.minimumSize) in mcp.h 1.7)")
        }
        let m = table.pointee
        var missing: [String] = []
        if m.get == nil { missing.append("get") }
        if m.put == nil { missing.append("put") }
        if m.remove == nil { missing.append("remove") }
        if m.list == nil { missing.append("list") }
        guard missing.isEmpty else {
            throw .invalidArgument("methods->\(missing.joined(separator: ", ")) must not be NULL (get, put, remove and list are required)")
        }
        methods = m
        self.userData = userData
    }

    deinit { destroy() }

    /// Registration failed: user_data stays the host's, so destroy must not run.
    func disarm() { life.withLock { $0.destroyed = true } }

    var kind: String { "host" }

    /// No further calls; waits for those in progress, then runs the host's
    /// destroy once.
    func destroy() {
        let first = life.withLock { l -> Bool in
            defer { l.destroyed = true }
            return !l.destroyed
        }
        guard first else { return }
        _ = life.wait(until: nil) { $0.inFlight == 0 }
        methods.destroy?(userData)
    }

    func get(_ key: [UInt8]) throws(StoreError) -> [UInt8]? {
        guard let fn = methods.get else { throw StoreError("host store: no get") }
        let rows = try invoke("get", .get) { call in
            Self.bytes(key) { k, kn in fn(userData, call, k, kn) }
        }
        return rows.first?.value
    }

    func put(_ key: [UInt8], _ value: [UInt8], expiresAtMs: Int64) throws(StoreError) {
        guard let fn = methods.put else { throw StoreError("host store: no put") }
        _ = try invoke("put", .other) { call in
            Self.bytes(key) { k, kn in Self.bytes(value) { v, vn in fn(userData, call, k, kn, v, vn, expiresAtMs) } }
        }
    }

    func remove(_ key: [UInt8]) throws(StoreError) {
        guard let fn = methods.remove else { throw StoreError("host store: no remove") }
        _ = try invoke("remove", .other) { call in
            Self.bytes(key) { k, kn in fn(userData, call, k, kn) }
        }
    }

    func list(prefix: [UInt8]) throws(StoreError) -> [(key: [UInt8], value: [UInt8])] {
        guard let fn = methods.list else { throw StoreError("host store: no list") }
        return try invoke("list", .list(prefix)) { call in
            Self.bytes(prefix) { p, pn in fn(userData, call, p, pn) }
        }
    }

    func check() throws(StoreError) {
        guard let fn = methods.check else { return }
        _ = try invoke("check", .other) { call in fn(userData, call) }
    }

    /// The bytes as (pointer, count) for C: never NULL, as mcp.h promises,
    /// even when empty (an empty array may have no storage).
    private static func bytes<R>(_ a: [UInt8], _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
        a.withUnsafeBufferPointer { b in
            if let p = b.baseAddress { return body(p, b.count) }
            var zero: UInt8 = 0
            return withUnsafePointer(to: &zero) { body($0, 0) }
        }
    }

    /// One callback: a live handle for it, the host's status and answer.
    private func invoke(_ name: String, _ op: HostStoreCalls.Op,
                        _ body: (OpaquePointer?) -> mcp_status) throws(StoreError) -> [(key: [UInt8], value: [UInt8])] {
        let entered = life.withLock { l -> Bool in
            guard !l.destroyed else { return false }
            l.inFlight += 1
            return true
        }
        guard entered else { throw StoreError("the host store was released (mcp_server_set_store, mcp_server_free)") }
        defer { life.withLockAndNotify { $0.inFlight -= 1 } }
        let id = HostStoreCalls.open(op)
        let status = body(OpaquePointer(bitPattern: id))
        let answer = HostStoreCalls.close(id)
        guard status == MCP_OK else {
            throw StoreError(answer.error ?? "host store: \(name) failed (status \(status))")
        }
        return answer.rows
    }
}

/// The callbacks of host stores in progress, by never-reused handle (as
/// CallTable: a handle used after its callback returned gives
/// MCP_ERR_STATE, not freed memory).
enum HostStoreCalls {
    enum Op {
        case get
        case list([UInt8])
        case other
    }

    struct Answer {
        var op: Op
        var rows: [(key: [UInt8], value: [UInt8])] = []
        var error: String?
    }

    private struct Table {
        var next: UInt = 0x3000
        var open: [UInt: Answer] = [:]
    }

    private static let table = LockedState(Table())

    static func open(_ op: Op) -> UInt {
        table.withLock { t -> UInt in
            t.next += 8
            t.open[t.next] = Answer(op: op)
            return t.next
        }
    }

    static func close(_ id: UInt) -> Answer {
        table.withLock { $0.open.removeValue(forKey: id) } ?? Answer(op: .other)
    }

    static func row(_ call: OpaquePointer?, key: [UInt8]?, value: [UInt8]) throws(ABIError) {
        let id = try handle(call)
        let outcome = table.withLock { t -> ABIError? in
            guard var a = t.open[id] else { return .state("This store call's callback has returned") }
            switch a.op {
            case .other: return .state("This store call (put, remove or check) takes no rows")
            case .get:
                guard a.rows.isEmpty else { return .state("A get answers one row at most") }
                a.rows.append((key: [], value: value))
            case .list(let prefix):
                guard let key else { return .invalidArgument("key must not be NULL in the rows of a list") }
                guard key.starts(with: prefix) else { return .invalidArgument("The key does not start with the prefix listed") }
                a.rows.append((key: key, value: value))
            }
            t.open[id] = a
            return nil
        }
        if let outcome { throw outcome }
    }

    static func fail(_ call: OpaquePointer?, _ message: String?) throws(ABIError) {
        let id = try handle(call)
        let known = table.withLock { t -> Bool in
            guard t.open[id] != nil else { return false }
            t.open[id]?.error = message
            return true
        }
        guard known else { throw .state("This store call's callback has returned") }
    }

    private static func handle(_ call: OpaquePointer?) throws(ABIError) -> UInt {
        guard let call else { throw .invalidArgument("call must not be NULL") }
        return UInt(bitPattern: Int(bitPattern: call))
    }
}

extension ServerHandle {
    /// Makes `store` the next listener's (nil: none); the old one is destroyed.
    func setHostStore(_ store: HostRecordStore?) throws(ABIError) {
        guard !isFreed else { throw .state("The server was freed") }
        let swapped = http.withLock { slot -> Result<HostRecordStore?, ABIError> in
            guard case .idle = slot else {
                return .failure(.state("The server's HTTP listener is running: stop it (mcp_server_stop_http) before changing its store"))
            }
            return .success(hostStore.withLock { s -> HostRecordStore? in
                defer { s = store }
                return s
            })
        }
        try swapped.get()?.destroy()
    }
}

@c @implementation
public func mcp_server_set_store(_ server: OpaquePointer?, _ methods: UnsafePointer<mcp_store_methods_t>?,
                                 _ userData: UnsafeMutableRawPointer?,
                                 _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        let handle = try ServerHandle.from(server)
        let store = try methods.map { m throws(ABIError) in try HostRecordStore(m, userData: userData) }
        do throws(ABIError) {
            try handle.setHostStore(store)
        } catch {
            // Refused: the host keeps user_data, so its destroy must not run.
            store?.disarm()
            throw error
        }
    }
}

@c @implementation
public func mcp_store_call_row(_ call: OpaquePointer?, _ key: UnsafePointer<UInt8>?, _ keyLen: Int,
                               _ value: UnsafePointer<UInt8>?, _ valueLen: Int,
                               _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        guard keyLen >= 0, valueLen >= 0 else { throw .invalidArgument("key_len and value_len must fit in a signed size") }
        guard value != nil || valueLen == 0 else { throw .invalidArgument("value must not be NULL when value_len > 0") }
        guard key != nil || keyLen == 0 else { throw .invalidArgument("key must not be NULL when key_len > 0") }
        let k = key.map { Array(UnsafeBufferPointer(start: $0, count: keyLen)) }
        let v = value.map { Array(UnsafeBufferPointer(start: $0, count: valueLen)) } ?? []
        try HostStoreCalls.row(call, key: k, value: v)
    }
}

@c @implementation
public func mcp_store_call_error(_ call: OpaquePointer?, _ message: UnsafePointer<CChar>?,
                                 _ outError: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> mcp_status
{
    withStatus(outError) { () throws(ABIError) in
        try HostStoreCalls.fail(call, message.map { String(cString: $0) })
    }
}
