import Testing
@testable import MCPTransport

@Suite struct BufferBudgetTests {
    private func estimate(_ text: String) -> Int {
        Array(text.utf8).withUnsafeBytes { BufferBudget.parseEstimate($0) }
    }

    @Test func aSmallBodyIsChargedAtItsUpperBoundWithoutCounting() {
        let body = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#
        #expect(estimate(body) == body.utf8.count * BufferBudget.bytesPerNode)
    }

    @Test func aLargeBodyIsChargedByItsValueCount() {
        // 8,000 small values: the count, not the byte length, decides.
        let values = "[" + Array(repeating: "0", count: 8000).joined(separator: ",") + "]"
        #expect(estimate(values) == 8000 * BufferBudget.bytesPerNode)
        // A long string holds no values: only its envelope counts.
        let prose = #"{"text":""# + String(repeating: "a", count: 10_000) + #""}"#
        #expect(estimate(prose) == 2 * BufferBudget.bytesPerNode)
    }

    @Test func chargesNeverExceedTheLimit() {
        let budget = BufferBudget(limit: 100)
        #expect(budget.charge(60))
        #expect(!budget.charge(41))
        #expect(budget.charge(40))
        budget.release(100)
        #expect(budget.inUse == 0)
    }
}
