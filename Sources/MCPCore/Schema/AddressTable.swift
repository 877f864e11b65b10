/// The compiled subschemas of a document, found by the address of their
/// members' storage (SchemaDocument.compiled). Written here rather than a
/// Dictionary because a Dictionary hashes each UInt key with SipHash: seven
/// lookups per typical tool call were 7% of checking its arguments
/// (bench/schema_bench.py, callgrind). Built once, read-only afterwards:
/// open addressing, linear probing, at most half full.
struct AddressTable<Value> {
    private var keys: [UInt]
    private var values: [Value?]
    private var mask: Int
    private(set) var count = 0

    init() {
        keys = [0, 0]
        values = [nil, nil]
        mask = 1
    }

    /// Addresses are 8-byte aligned at least: the low bits carry nothing,
    /// and Fibonacci hashing spreads the rest.
    private func slot(_ key: UInt) -> Int {
        Int(truncatingIfNeeded: (key >> 3) &* 0x9E37_79B9_7F4A_7C15 >> 20) & mask
    }

    subscript(key: UInt) -> Value? {
        get {
            var i = slot(key)
            while keys[i] != 0 {
                if keys[i] == key { return values[i] }
                i = (i + 1) & mask
            }
            return nil
        }
        set {
            // 0 marks an empty slot: no storage lives at address 0.
            precondition(key != 0, "AddressTable keys are addresses")
            guard let newValue else { return }  // entries are never removed
            if (count + 1) * 2 > keys.count { grow() }
            var i = slot(key)
            while keys[i] != 0 && keys[i] != key { i = (i + 1) & mask }
            if keys[i] == 0 { count += 1 }
            keys[i] = key
            values[i] = newValue
        }
    }

    private mutating func grow() {
        let old = zip(keys, values).filter { $0.0 != 0 }
        keys = Array(repeating: 0, count: keys.count * 2)
        values = Array(repeating: nil, count: keys.count)
        mask = keys.count - 1
        count = 0
        for (k, v) in old { self[k] = v }
    }
}

extension AddressTable: Sendable where Value: Sendable {}
