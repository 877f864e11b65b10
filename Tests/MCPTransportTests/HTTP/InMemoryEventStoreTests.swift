import Testing
@testable import MCPTransport
import MCPCore

@Suite struct InMemoryEventStoreTests {
    private func event(_ stream: UInt64, _ seq: UInt64, _ text: String = "x") -> StoredEvent {
        StoredEvent(id: EventID(stream: stream, seq: seq), data: Array(text.utf8))
    }

    @Test func replaysOnlyTheStreamAfterTheGivenEvent() {
        let store = InMemoryEventStore(maxEventsPerSession: 100)
        for seq in 0..<4 { store.append(session: "s", event: event(1, UInt64(seq), "a\(seq)")) }
        for seq in 0..<3 { store.append(session: "s", event: event(2, UInt64(seq), "b\(seq)")) }
        #expect(store.events(session: "s", stream: 1, after: 1)?.map(\.id.seq) == [2, 3])
        #expect(store.events(session: "s", stream: 2, after: 0)?.map { String(decoding: $0.data, as: UTF8.self) } == ["b1", "b2"])
        #expect(store.events(session: "s", stream: 1, after: 3) == [])
        #expect(store.events(session: "other", stream: 1, after: 0) == nil)
        #expect(store.events(session: "s", stream: 9, after: 0) == nil)
        #expect(store.events(session: "s", stream: 1, after: 7) == nil)  // never sent: not ours
    }

    @Test func aReplayWithAHoleIsRefused() {
        let store = InMemoryEventStore(maxEventsPerSession: 3)
        for seq in 0..<5 { store.append(session: "s", event: event(1, UInt64(seq))) }
        #expect(store.count(session: "s") == 3)
        #expect(store.events(session: "s", stream: 1, after: 0) == nil)  // 1 was dropped
        #expect(store.events(session: "s", stream: 1, after: 1)?.map(\.id.seq) == [2, 3, 4])
    }

    @Test func forgetsAStreamWhoseEventsAreAllDropped() {
        let store = InMemoryEventStore(maxEventsPerSession: 2)
        store.append(session: "s", event: event(1, 0))
        store.append(session: "s", event: event(2, 0))
        store.append(session: "s", event: event(2, 1))
        #expect(store.events(session: "s", stream: 1, after: 0) == nil)
        #expect(store.events(session: "s", stream: 2, after: 0)?.count == 1)
    }

    @Test func removeSessionDropsEverything() {
        let store = InMemoryEventStore(maxEventsPerSession: 10)
        store.append(session: "s", event: event(0, 1))
        store.removeSession("s")
        #expect(store.count(session: "s") == 0)
        #expect(store.events(session: "s", stream: 0, after: 0) == nil)
    }

    @Test func eventIDsRoundTripAndRejectForeignText() {
        #expect(EventID("3-17") == EventID(stream: 3, seq: 17))
        #expect(EventID(stream: 0, seq: 2).description == "0-2")
        for bad in ["", "3", "3-", "-3", "a-1", "1-2-3", " 1-2", "1-+2", "99999999999999999999-1"] {
            #expect(EventID(bad) == nil, "\(bad)")
        }
    }
}

@Suite struct InMemoryEventStoreByteBoundTests {
    @Test func evictsByBytesButKeepsTheNewestEvent() {
        let store = InMemoryEventStore(maxEventsPerSession: 100, maxBytesPerSession: 10)
        for seq in 0..<4 {
            store.append(session: "s", event: StoredEvent(id: EventID(stream: 1, seq: UInt64(seq)), data: Array(repeating: 0x61, count: 4)))
        }
        #expect(store.count(session: "s") == 2)  // 8 bytes fit, 12 would not
        store.append(session: "s", event: StoredEvent(id: EventID(stream: 1, seq: 4), data: Array(repeating: 0x61, count: 50)))
        #expect(store.count(session: "s") == 1)
        #expect(store.events(session: "s", stream: 1, after: 3)?.map(\.id.seq) == [4])
    }
}

@Suite struct InMemoryEventStoreCostTests {
    /// A long call writing to a full store: each append evicts one event of
    /// the same stream. Eviction once copied the whole stream per event (the
    /// stream's deque shared with the table): 200,000 appends against a bound
    /// of 4096 took many seconds; in place it is milliseconds. The bound is
    /// forty times the cost now, so only the old behaviour trips it.
    @Test func evictingFromALongStreamDoesNotCopyIt() {
        let store = InMemoryEventStore(maxEventsPerSession: 4096)
        let data = Array(repeating: UInt8(0x61), count: 16)
        let took = ContinuousClock().measure {
            for seq in 0..<200_000 {
                store.append(session: "s", event: StoredEvent(id: EventID(stream: 1, seq: UInt64(seq)), data: data))
            }
        }
        #expect(store.count(session: "s") == 4096)
        #expect(store.events(session: "s", stream: 1, after: 195_903)?.first?.id.seq == 195_904)
        #expect(took < .seconds(2), "200,000 appends with eviction took \(took)")
    }
}
