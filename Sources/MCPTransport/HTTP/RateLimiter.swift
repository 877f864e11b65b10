import Glibc
internal import NIOConcurrencyHelpers

/// Per-client rate limits of the HTTP listener: a token bucket per client
/// (its principal when authenticated, else its session, else its address),
/// refilled at `rate` per second up to `burst`. Over the limit a request is
/// answered 429 with Retry-After before any work is done for it.
///
/// The table of buckets is bounded: a full bucket is the same as none, so
/// idle clients' buckets are dropped when the table reaches `maxClients`;
/// if every bucket is in use (an attack from that many clients), the
/// oldest half is dropped, which only ever errs toward admitting.
public struct RateLimitPolicy: Sendable {
    /// Tokens per second, and the bucket's size.
    public var rate: Double
    public var burst: Double
    /// Clients tracked at once (the table's bound).
    public var maxClients = 65_536

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }
}

final class RateLimiter: Sendable {
    typealias Policy = RateLimitPolicy

    private struct Bucket {
        var tokens: Double
        var updated: Double  // seconds, CLOCK_MONOTONIC
    }

    let policy: Policy
    private let buckets = NIOLockedValueBox([String: Bucket]())

    init(policy: Policy) { self.policy = policy }

    /// nil: admitted (a token taken); else the seconds until the next token.
    func take(_ key: String) -> Double? {
        let now = Self.now()
        let p = policy
        return buckets.withLockedValue { table -> Double? in
            var b = table[key] ?? Bucket(tokens: p.burst, updated: now)
            b.tokens = min(p.burst, b.tokens + (now - b.updated) * p.rate)
            b.updated = now
            guard b.tokens >= 1 else {
                table[key] = b
                return (1 - b.tokens) / p.rate
            }
            b.tokens -= 1
            table[key] = b
            if table.count > p.maxClients { Self.trim(&table, now: now, policy: p) }
            return nil
        }
    }

    var clients: Int { buckets.withLockedValue { $0.count } }

    private static func trim(_ table: inout [String: Bucket], now: Double, policy p: Policy) {
        table = table.filter { $0.value.tokens + (now - $0.value.updated) * p.rate < p.burst }
        guard table.count > p.maxClients / 2 else { return }
        let keep = table.sorted { $0.value.updated > $1.value.updated }.prefix(p.maxClients / 2)
        table = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
