import Testing
@testable import MCPCore
import MCPRuntime

/// Records what a server tells its observer (the metrics' view of MCPCore).
final class RecordingObserver: ServerObserver {
    struct Finished: Equatable {
        let method: String
        let tool: String?
        let era: ProtocolEra
        let outcome: RequestOutcome
    }

    private let state = LockedState((started: 0, finished: [Finished]()))
    var started: Int { state.withLock { $0.started } }
    var finished: [Finished] { state.withLock { $0.finished } }

    func requestStarted() { state.withLock { $0.started += 1 } }
    func requestFinished(method: String, toolName: String?, era: ProtocolEra, outcome: RequestOutcome,
                         nanoseconds: UInt64)
    {
        state.withLock { $0.finished.append(Finished(method: method, tool: toolName, era: era, outcome: outcome)) }
    }
    func refused(cause: String, method: String?, asRequest: Bool) {}
    func bytesReceived(_ count: Int) {}
    func bytesSent(_ count: Int) {}
    func streamOpened(_ kind: StreamKind) {}
    func streamClosed(_ kind: StreamKind) {}
    func eventsStored(_ count: Int) {}
    func eventsReplayed(_ count: Int) {}
}

@Suite struct ServerObserverTests {
    @Test func everyRequestIsStartedAndFinishedWithItsOutcomeAndEra() throws {
        let observer = RecordingObserver()
        let executor = InlineExecutor()
        let server = ServerCore(options: ServerOptions(name: "t", version: "1"), executor: executor,
                                scheduler: Scheduler(executor: executor), observer: observer)
        try server.addTool(ToolEntry(definition: JSONObject(["name": "echo"])) { call, _ in
            try? call.respond(textResult("hi"))
        })
        try server.addTool(ToolEntry(definition: JSONObject(["name": "fails"])) { call, _ in
            try? call.respond(["content": [], "isError": true])
        })
        let h = SessionHarness(server: server)
        h.initialize("2025-06-18")
        _ = h.request(1, "tools/call", ["name": "echo", "arguments": [:]])
        _ = h.request(2, "tools/call", ["name": "fails", "arguments": [:]])
        _ = h.request(3, "ping")
        _ = h.request(4, "no/such/method")
        #expect(observer.started == 5)
        #expect(observer.finished == [
            .init(method: "initialize", tool: nil, era: .v2025, outcome: .ok),
            .init(method: "tools/call", tool: "echo", era: .v2025, outcome: .ok),
            .init(method: "tools/call", tool: "fails", era: .v2025, outcome: .toolError),
            .init(method: "ping", tool: nil, era: .v2025, outcome: .ok),
            .init(method: "no/such/method", tool: nil, era: .v2025, outcome: .error(ErrorCode.methodNotFound)),
        ])
    }

    @Test func eraFollowsTheRevision() {
        #expect(ProtocolEra(.v2024_11_05) == .v2025)
        #expect(ProtocolEra(.v2025_11_25) == .v2025)
    }
}
