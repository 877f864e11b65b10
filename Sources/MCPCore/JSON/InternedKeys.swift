import Glibc

/// Member names the protocol uses in every message, which the parser returns
/// as these literals instead of making a string from the bytes each time.
/// A literal costs nothing to hand out (small ones are values, long ones
/// immortal), and a lookup of a name the engine spells the same way compares
/// equal by identity. Long names (over 15 UTF-8 bytes, such as the three of a
/// 2026-07-28 request's `_meta`) were each an allocation; short ones ~160
/// instructions of UTF-8 checks (callgrind, bench/instr_bench.py).
enum InternedKeys {
    static let keys: [String] = [
        // JSON-RPC
        "jsonrpc", "id", "method", "params", "result", "error", "code", "message", "data",
        // requests and results
        "name", "arguments", "_meta", "content", "type", "text", "structuredContent", "isError", "uri",
        "cursor", "nextCursor", "progressToken", "progress", "total", "task", "taskId", "mimeType",
        "resultType", "requestState", "inputResponses", "inputRequests", "ttlMs", "cacheScope",
        "protocolVersion", "capabilities", "clientInfo", "serverInfo", "version", "title", "description",
        "tools", "inputSchema", "outputSchema", "annotations", "resources", "resourceTemplates", "prompts",
        "clientCapabilities", "level", "logger",
        // 2026-07-28 _meta
        ModernContext.protocolVersionKey, ModernContext.clientCapabilitiesKey, ModernContext.clientInfoKey,
        ModernContext.logLevelKey, ModernContext.serverInfoKey, SubscriptionFilter.subscriptionIDKey,
        ServerSession.relatedTaskKey,
    ]

    /// The literal spelled by `bytes`, if it is one of `keys`.
    static func match(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard let base = bytes.baseAddress, let i = Table.shared.find(base, bytes.count) else { return nil }
        return keys[i]
    }

    /// An open-addressing table over the keys' bytes, by length and first
    /// and last byte: one probe and one memcmp for most names, and no
    /// reference counting on the way (a search of an array of strings cost
    /// more than it saved).
    ///
    /// @unchecked Sendable: built once, never written after `init`.
    final class Table: @unchecked Sendable {
        static let shared = Table(keys)
        private static let slotCount = 256
        private let bytes: UnsafeMutablePointer<UInt8>
        private let starts: UnsafeMutablePointer<Int>
        private let lengths: UnsafeMutablePointer<Int>
        private let slots: UnsafeMutablePointer<Int>

        init(_ keys: [String]) {
            let total = keys.reduce(0) { $0 + $1.utf8.count }
            bytes = .allocate(capacity: max(total, 1))
            starts = .allocate(capacity: keys.count)
            lengths = .allocate(capacity: keys.count)
            slots = .allocate(capacity: Self.slotCount)
            slots.initialize(repeating: -1, count: Self.slotCount)
            var at = 0
            for (i, k) in keys.enumerated() {
                let utf8 = Array(k.utf8)
                (bytes + at).initialize(from: utf8, count: utf8.count)
                starts[i] = at
                lengths[i] = utf8.count
                at += utf8.count
                var h = Self.hash(utf8.count, utf8[0], utf8[utf8.count - 1])
                while slots[h] >= 0 { h = (h + 1) & (Self.slotCount - 1) }
                slots[h] = i
            }
        }

        private static func hash(_ n: Int, _ first: UInt8, _ last: UInt8) -> Int {
            (n &* 31 &+ Int(first) &* 7 &+ Int(last)) & (slotCount - 1)
        }

        func find(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
            guard n > 0 else { return nil }
            var h = Self.hash(n, p[0], p[n - 1])
            while true {
                let i = slots[h]
                if i < 0 { return nil }
                if lengths[i] == n && memcmp(bytes + starts[i], p, n) == 0 { return i }
                h = (h + 1) & (Self.slotCount - 1)
            }
        }
    }
}
