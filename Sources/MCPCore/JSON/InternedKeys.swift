import Glibc

/// Member names the protocol uses in every message, which the parser returns
/// as these literals instead of making a string from the bytes each time.
/// A literal costs nothing to hand out (small ones are values, long ones
/// immortal), and a lookup of a name the engine spells the same way compares
/// equal by identity. Long names (over 15 UTF-8 bytes, such as the three of a
/// 2026-07-28 request's `_meta`) were each an allocation; short ones ~160
/// instructions of UTF-8 checks (callgrind, bench/instr_bench.py).
enum InternedKeys {
    private static let keys: [String] = [
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

    /// `keys` by UTF-8 length, with the bytes of each for the comparison.
    private static let byLength: [[(bytes: [UInt8], key: String)]] = {
        var table = [[(bytes: [UInt8], key: String)]](repeating: [], count: keys.map(\.utf8.count).max().map { $0 + 1 } ?? 1)
        for k in keys { table[k.utf8.count].append((Array(k.utf8), k)) }
        return table
    }()

    /// The literal spelled by `bytes`, if it is one of `keys`.
    static func match(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let n = bytes.count
        let table = byLength
        guard n < table.count, let base = bytes.baseAddress else { return nil }
        for candidate in table[n]
            where candidate.bytes.withUnsafeBufferPointer({ $0.baseAddress.map { memcmp($0, base, n) == 0 } ?? false })
        {
            return candidate.key
        }
        return nil
    }
}
