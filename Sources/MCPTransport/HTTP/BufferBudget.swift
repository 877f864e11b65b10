import Synchronization

/// The listener's budget of bytes held for requests not yet handed to the
/// engine: bodies being received or waiting behind a pipelined response,
/// WebSocket messages being assembled, and, while one is parsed, an estimate
/// of its parsed size. Per-request limits alone let many connections together
/// hold gigabytes; past this budget a request gets 503 with Retry-After.
final class BufferBudget: Sendable {
    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes `bytes` from the budget; false (and nothing taken) when they do not fit.
    func charge(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        var current = used.load(ordering: .relaxed)
        while true {
            guard current + bytes <= limit else { return false }
            let (exchanged, original) = used.compareExchange(expected: current, desired: current + bytes,
                                                             ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    func release(_ bytes: Int) {
        if bytes > 0 { used.subtract(bytes, ordering: .relaxed) }
    }

    var inUse: Int { used.load(ordering: .relaxed) }

    /// What parsing `json` costs beyond its own bytes, estimated from the
    /// bytes that start a value or member (`,` `:` `[` `{`): each becomes a
    /// tree node of some tens of bytes, so a body of small values grows about
    /// thirty-fold when parsed (16 MiB of `[0,0,…]` took 480-560 MB). Bytes
    /// inside strings count too: an overestimate, small for prose and nil for
    /// base64. Compared 32 bytes at a time: this runs on the I/O thread for
    /// every body. A small body is charged as if every byte were a node, an
    /// upper bound that costs nothing to compute: the charge lasts only while
    /// the body is parsed, so over-charging a few KiB never refuses anything,
    /// and counting took 1.7% of the server's CPU in the 16-session HTTP bench.
    static func parseEstimate(_ json: UnsafeRawBufferPointer) -> Int {
        let n = json.count
        if n <= smallBody { return n * bytesPerNode }
        var nodes = 0
        var i = 0
        if n >= 32 {
            let comma = SIMD32<UInt8>(repeating: UInt8(ascii: ","))
            let colon = SIMD32<UInt8>(repeating: UInt8(ascii: ":"))
            let bracket = SIMD32<UInt8>(repeating: UInt8(ascii: "["))
            let brace = SIMD32<UInt8>(repeating: UInt8(ascii: "{"))
            let one = SIMD32<UInt8>(repeating: 1)
            let zero = SIMD32<UInt8>(repeating: 0)
            // Per-lane counts stay below 256: flushed every 255 blocks.
            var lanes = SIMD32<UInt8>(repeating: 0)
            var blocks = 0
            while i + 32 <= n {
                let v = json.loadUnaligned(fromByteOffset: i, as: SIMD32<UInt8>.self)
                let hit = (v .== comma) .| (v .== colon) .| (v .== bracket) .| (v .== brace)
                lanes &+= zero.replacing(with: one, where: hit)
                i += 32
                blocks += 1
                if blocks == 255 {
                    nodes += Self.sum(lanes)
                    lanes = zero
                    blocks = 0
                }
            }
            nodes += Self.sum(lanes)
        }
        while i < n {
            switch json[i] {
            case UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "{"): nodes += 1
            default: break
            }
            i += 1
        }
        return nodes * bytesPerNode
    }

    static let bytesPerNode = 64
    /// Bodies up to this size are charged without counting (at most 256 KiB each).
    static let smallBody = 4096

    private static func sum(_ lanes: SIMD32<UInt8>) -> Int {
        var total = 0
        for k in 0..<32 { total += Int(lanes[k]) }
        return total
    }
}
