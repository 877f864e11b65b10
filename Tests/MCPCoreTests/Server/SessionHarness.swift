@testable import MCPCore
import MCPRuntime

/// An in-memory client for a ServerSession: collects what the server sends.
final class SessionHarness: Sendable {
    let server: ServerCore
    let session: ServerSession
    private let sent = LockedState<[JSONValue]>([])

    init(server: ServerCore) {
        self.server = server
        let sent = self.sent
        session = server.makeSession(defaultChannel: ClosureChannel { bytes in
            let v = (try? JSONParser.parse(bytes)) ?? .string("<unparseable>")
            sent.withLockAndNotify { $0.append(v) }
        })
    }

    convenience init(pageSize: Int = 100, executor: HandlerExecutor = InlineExecutor()) {
        var options = ServerOptions(name: "test", version: "1.0")
        options.pageSize = pageSize
        options.instructions = "Be nice"
        self.init(server: ServerCore(options: options, executor: executor, scheduler: Scheduler(executor: executor)))
    }

    func send(_ v: JSONValue) { session.receive(v) }

    func request(_ id: Int64, _ method: String, _ params: JSONValue? = nil) -> JSONValue? {
        var o: JSONObject = JSONObject(["jsonrpc": "2.0", "id": .int(id), "method": .string(method)])
        if let params { o["params"] = params }
        send(.object(o))
        return response(id)
    }

    /// The response with this id, waiting up to 2 s for asynchronous answers.
    func response(_ id: Int64, timeoutMs: Int = 2000) -> JSONValue? {
        var found: JSONValue?
        _ = sent.wait(until: MonotonicInstant.now().adding(milliseconds: timeoutMs)) { msgs in
            found = msgs.first { $0["id"] == .int(id) && $0["method"] == nil }
            return found != nil
        }
        return found
    }

    var messages: [JSONValue] { sent.withLock { $0 } }

    func initialize(_ version: String = "2025-11-25") {
        _ = request(0, "initialize", [
            "protocolVersion": .string(version), "capabilities": [:], "clientInfo": ["name": "t", "version": "1"],
        ])
        send(["jsonrpc": "2.0", "method": "notifications/initialized"])
    }
}

func textResult(_ text: String) -> JSONValue {
    ["content": [["type": "text", "text": .string(text)]]]
}
