import Testing
@testable import MCPCore

/// The address-keyed table behind the compiled subschemas: every key stored
/// is found after the table grew many times, keys that collide in their low
/// bits or hash to neighbouring slots stay apart, and absent keys miss.
@Suite struct AddressTableTests {
    @Test func findsEveryKeyAcrossGrowth() {
        var table = AddressTable<Int>()
        // Addresses 16 bytes apart, as allocations are, plus a far-away range.
        let keys = (1...5000).map { UInt($0) * 16 } + (1...500).map { 0x7F00_0000_0000 + UInt($0) * 4096 }
        for (i, k) in keys.enumerated() { table[k] = i }
        #expect(table.count == keys.count)
        for (i, k) in keys.enumerated() { #expect(table[k] == i) }
        #expect(table[8] == nil)  // between two keys
        #expect(table[UInt(5001) * 16] == nil)
        #expect(table[0x7F00_0000_0000] == nil)
    }

    @Test func replacingKeepsOneEntry() {
        var table = AddressTable<String>()
        table[64] = "a"
        table[64] = "b"
        #expect(table.count == 1)
        #expect(table[64] == "b")
        table[64] = nil  // entries are never removed
        #expect(table[64] == "b")
    }
}
