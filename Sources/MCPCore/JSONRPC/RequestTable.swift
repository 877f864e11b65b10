/// Requests in flight by id: a few in an array searched in order, more in a
/// dictionary. Most tables hold one or two at a time (a 2026-07-28 POST's
/// session holds exactly one), and a Dictionary's first insert allocated its
/// storage and every access hashed the id (~2.9K instructions of such a
/// call, callgrind); a busy session with many in flight still gets hashing.
struct RequestTable<Value> {
    private var few: [(id: RequestID, value: Value)] = []
    private var many: [RequestID: Value]?
    /// Beyond this many in flight, the dictionary.
    private static var arrayLimit: Int { 16 }

    var count: Int { many?.count ?? few.count }
    var isEmpty: Bool { count == 0 }

    subscript(id: RequestID) -> Value? {
        get {
            if let many { return many[id] }
            for entry in few where entry.id == id { return entry.value }
            return nil
        }
        set {
            if many != nil {
                many?[id] = newValue
                return
            }
            if let i = few.firstIndex(where: { $0.id == id }) {
                if let newValue { few[i].value = newValue } else { few.remove(at: i) }
                return
            }
            guard let newValue else { return }
            if few.count < Self.arrayLimit {
                if few.capacity == 0 { few.reserveCapacity(4) }
                few.append((id, newValue))
                return
            }
            var all = [RequestID: Value](minimumCapacity: few.count * 2)
            for entry in few { all[entry.id] = entry.value }
            all[id] = newValue
            few = []
            many = all
        }
    }

    @discardableResult
    mutating func removeValue(forKey id: RequestID) -> Value? {
        guard let v = self[id] else { return nil }
        self[id] = nil
        return v
    }

    var values: [Value] { many.map { Array($0.values) } ?? few.map(\.value) }

    mutating func removeAll() {
        few = []
        many = nil
    }
}
