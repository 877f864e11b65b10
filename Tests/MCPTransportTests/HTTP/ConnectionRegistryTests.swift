import MCPRuntime
import NIOEmbedded
import Testing
@testable import MCPTransport

/// Phases are kept in a cell per connection (an atomic store per change):
/// shedding still reads them, oldest idle first, then the oldest still
/// receiving, never a busy one.
@Suite struct ConnectionRegistryTests {
    @Test func shedsByPhaseAsSetThroughTheKey() throws {
        let loop = EmbeddedEventLoop()
        let closed = LockedState<[Int]>([])
        let registry = ConnectionRegistry(maxConnections: 3)
        func add(_ n: Int) -> ConnectionRegistry.Key? {
            registry.add(eventLoop: loop, quiesce: {}, close: { closed.withLock { $0.append(n) } })
        }
        let a = try #require(add(1)), b = try #require(add(2)), c = try #require(add(3))
        registry.setPhase(a, .busy)
        registry.setPhase(b, .receiving)
        registry.setPhase(c, .idle)
        #expect(registry.shedOne())  // the idle one, though younger than the receiving one
        loop.run()
        #expect(closed.withLock { $0 } == [3])
        #expect(registry.shedOne())  // then the one still receiving
        loop.run()
        #expect(closed.withLock { $0 } == [3, 2])
        #expect(!registry.shedOne())  // never the busy one
        registry.setPhase(a, .idle)
        #expect(registry.shedOne())
        loop.run()
        #expect(closed.withLock { $0 } == [3, 2, 1])
        #expect(registry.count == 0)
        try loop.syncShutdownGracefully()
    }

    @Test func atTheLimitWithEveryConnectionBusyANewOneIsRefused() throws {
        let loop = EmbeddedEventLoop()
        let registry = ConnectionRegistry(maxConnections: 1)
        let added = registry.add(eventLoop: loop, quiesce: {}, close: {})
        let a = try #require(added)
        registry.setPhase(a, .busy)
        let refused = registry.add(eventLoop: loop, quiesce: {}, close: {})
        #expect(refused == nil)
        registry.setPhase(a, .idle)
        let replacing = registry.add(eventLoop: loop, quiesce: {}, close: {})
        #expect(replacing != nil)  // takes the idle one's place
        #expect(registry.count == 1)
        try loop.syncShutdownGracefully()
    }
}
