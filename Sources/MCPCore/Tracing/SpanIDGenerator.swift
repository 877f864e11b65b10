import Synchronization

/// Random bits for trace and span ids without a system call per id: the
/// system generator (a getrandom call for every 8 bytes) cost three calls
/// per span. SplitMix64 over one shared counter, seeded once from the system
/// generator: unpredictable enough for ids that only need to be unique and
/// uniform (W3C Trace Context asks for randomness, not secrecy), and safe from
/// any thread (one atomic add per 8 bytes).
struct SpanIDGenerator: RandomNumberGenerator {
    private static let counter = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    mutating func next() -> UInt64 {
        var z = Self.counter.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
