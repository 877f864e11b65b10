import Testing
@testable import MCPCore
import MCPRuntime

/// ClientSession.subscribe in both eras against scripted servers in memory:
/// the acknowledgment (even when it overtakes the request's return), order,
/// demultiplexing by subscriptionId, the end, and the 2025-era mapping.
@Suite struct ClientSubscriptionTests {
    /// A modern server: discover, then per subscriptions/listen an ack naming
    /// what it honours and `updates` resources/updated for the first URI.
    final class Listener: Sendable {
        let client: ClientSession
        let received = LockedState<[JSONObject]>([])

        init(updates: Int, honorTools: Bool = true) {
            let pool = WorkerPool(maxThreads: 4)
            var options = ClientOptions(name: "cli", version: "1")
            options.era = .revision("2026-07-28")
            let box = LockedState<ClientSession?>(nil)
            let received = self.received
            client = ClientSession(options: options, executor: pool, scheduler: Scheduler(executor: pool)) { bytes in
                guard case .object(let m)? = try? JSONParser.parse(bytes) else { return }
                received.withLock { $0.append(m) }
                guard let id = m["id"], let method = m["method"]?.stringValue else { return }
                var out: [JSONValue] = []
                switch method {
                case "server/discover":
                    out.append(["jsonrpc": "2.0", "id": id, "result": ClientEraTests.discovered])
                case "subscriptions/listen":
                    let asked = m["params"]?["notifications"]?.objectValue ?? [:]
                    var honored = asked
                    if !honorTools { honored["toolsListChanged"] = nil }
                    let meta: JSONValue = ["io.modelcontextprotocol/subscriptionId": id]
                    out.append(["jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
                                "params": ["_meta": meta, "notifications": .object(honored)]])
                    let uri = asked["resourceSubscriptions"]?.arrayValue?.first ?? "none"
                    for n in 0..<updates {
                        out.append(["jsonrpc": "2.0", "method": "notifications/resources/updated",
                                    "params": ["_meta": meta, "uri": uri, "n": .int(Int64(n))]])
                    }
                default:
                    out.append(["jsonrpc": "2.0", "id": id, "result": ["resultType": "complete", "content": []]])
                }
                // Answered on another thread, maybe before request() returns:
                // the acknowledgment may overtake the id.
                let replies = out
                pool.execute {
                    for msg in replies {
                        let bytes = Array(JSONSerializer.string(msg).utf8)
                        bytes.withUnsafeBytes { b in box.withLock { $0 }?.receive(b) }
                    }
                }
            }
            box.withLock { $0 = client }
            _ = wait { done in self.client.connect { done($0) } }
        }

        func wait<T: Sendable>(_ start: (@escaping @Sendable (T) -> Void) -> Void) -> T {
            let box = LockedState<(Bool, T?)>((false, nil))
            start { v in box.withLockAndNotify { $0 = (true, v) } }
            _ = box.wait(until: MonotonicInstant.now().adding(milliseconds: 10_000)) { $0.0 }
            return box.withLock { $0.1 }!
        }
    }

    /// A short timed wait (no Foundation here).
    private func pause() {
        _ = LockedState(false).wait(until: MonotonicInstant.now().adding(milliseconds: 5)) { $0 }
    }

    struct Seen: Sendable {
        var events: [Int64] = []
        var general: [String] = []
        var ended: String?
    }

    private func filter(tools: Bool = false, uris: [String] = []) -> SubscriptionFilter {
        var f = SubscriptionFilter()
        f.toolsListChanged = tools
        f.resourceSubscriptions = uris
        return f
    }

    @Test func modernAcknowledgesDeliversInOrderAndEnds() throws {
        let s = Listener(updates: 50, honorTools: false)
        let seen = LockedState(Seen())
        s.client.setNotificationHandler { m, _ in seen.withLock { $0.general.append(m) } }
        let ack = s.wait { (done: @escaping @Sendable (Result<(RequestID, SubscriptionFilter), RequestFailure>) -> Void) in
            _ = try? s.client.subscribe(filter(tools: true, uris: ["file:///a"]), handler: { _, p in
                seen.withLock { $0.events.append(p["n"]?.intValue ?? -1) }
            }, acknowledged: done, ended: { r in seen.withLock { $0.ended = r } })
        }
        let (id, honored) = try ack.get()
        #expect(honored.resourceSubscriptions == ["file:///a"] && !honored.toolsListChanged, "what the server honoured")
        let deadline = MonotonicInstant.now().adding(milliseconds: 5000)
        while seen.withLock({ $0.events.count }) < 50, MonotonicInstant.now() < deadline { pause() }
        #expect(seen.withLock { $0.events } == (0..<50).map { Int64($0) }, "in the order sent")
        #expect(seen.withLock { $0.general }.isEmpty, "a subscription's notifications are its own")
        #expect(s.received.withLock { $0.first { $0["method"] == "subscriptions/listen" }?["params"]?["notifications"] }
            == ["toolsListChanged": true, "resourceSubscriptions": ["file:///a"]])
        s.client.unsubscribe(id)
        let end = MonotonicInstant.now().adding(milliseconds: 5000)
        while seen.withLock({ $0.ended }) == nil, MonotonicInstant.now() < end { pause() }
        #expect(seen.withLock { $0.ended } == "unsubscribed")
        let cancelled = s.received.withLock { $0.first { $0["method"] == "notifications/cancelled" } }
        #expect(cancelled?["params"]?["requestId"] == id.json, "the listen request is cancelled")
    }

    @Test func filterIsChecked() {
        #expect(throws: SubscriptionFilter.Invalid.self) { try SubscriptionFilter(json: [:]) }
        #expect(throws: SubscriptionFilter.Invalid.self) { try SubscriptionFilter(json: ["toolsListChanged": "yes"]) }
        #expect(throws: SubscriptionFilter.Invalid.self) { try SubscriptionFilter(json: ["resourceSubscription": ["a"]]) }
        #expect(throws: SubscriptionFilter.Invalid.self) { try SubscriptionFilter(json: ["resourceSubscriptions": [1]]) }
        let f = try? SubscriptionFilter(json: ["promptsListChanged": true, "resourceSubscriptions": ["a", "a", "b"]])
        #expect(f?.json == ["promptsListChanged": true, "resourceSubscriptions": ["a", "b"]])
        #expect(f?.admits("notifications/resources/updated", ["uri": "b"]) == true)
        #expect(f?.admits("notifications/resources/updated", ["uri": "c"]) == false)
        #expect(f?.admits("notifications/tools/list_changed", [:]) == false)
    }

    @Test func legacyEraUsesResourcesSubscribe() throws {
        let initialized: JSONValue = [
            "protocolVersion": "2025-11-25",
            "capabilities": ["resources": ["subscribe": true], "tools": ["listChanged": true]],
            "serverInfo": ["name": "old", "version": "1"],
        ]
        let s = ClientEraTests.Scripted(era: .legacy) { method, _, _ in
            switch method {
            case "initialize": return .result(initialized)
            default: return .result([:])
            }
        }
        _ = try s.connect().get()
        let seen = LockedState(Seen())
        var f = filter(tools: true, uris: ["file:///a"])
        f.promptsListChanged = true  // not declared by the server: not honoured
        let ack = s.wait { (done: @escaping @Sendable (Result<(RequestID, SubscriptionFilter), RequestFailure>) -> Void) in
            _ = try? s.client.subscribe(f, handler: { m, p in
                seen.withLock { $0.general.append(m + " " + (p["uri"]?.stringValue ?? "")) }
            }, acknowledged: done, ended: { r in seen.withLock { $0.ended = r } })
        }
        let (id, honored) = try ack.get()
        guard case .int(let n) = id else { Issue.record("id \(id)"); return }
        #expect(n < 0)
        #expect(honored.toolsListChanged && !honored.promptsListChanged && honored.resourceSubscriptions == ["file:///a"])
        #expect(s.sent("resources/subscribe").first?["params"]?["uri"] == "file:///a")
        for (m, uri) in [("notifications/resources/updated", "file:///b"), ("notifications/resources/updated", "file:///a"),
                         ("notifications/prompts/list_changed", ""), ("notifications/tools/list_changed", "")] {
            s.client.handleNotification(method: m, params: uri.isEmpty ? [:] : ["uri": .string(uri)])
        }
        let deadline = MonotonicInstant.now().adding(milliseconds: 5000)
        while seen.withLock({ $0.general.count }) < 2, MonotonicInstant.now() < deadline { pause() }
        #expect(seen.withLock { $0.general } == ["notifications/resources/updated file:///a", "notifications/tools/list_changed "])
        s.client.unsubscribe(id)
        #expect(s.sent("resources/unsubscribe").first?["params"]?["uri"] == "file:///a")
        let end = MonotonicInstant.now().adding(milliseconds: 5000)
        while seen.withLock({ $0.ended }) == nil, MonotonicInstant.now() < end { pause() }
        #expect(seen.withLock { $0.ended } == "unsubscribed")
    }

    @Test func legacyEraRefusesUrisWithoutSubscribeCapability() throws {
        let s = ClientEraTests.Scripted(era: .legacy) { _, _, _ in .result(ClientEraTests.initialized) }
        _ = try s.connect().get()
        #expect(throws: CallFailure.self) {
            _ = try s.client.subscribe(filter(uris: ["file:///a"]), handler: { _, _ in }, acknowledged: { _ in }, ended: { _ in })
        }
    }
}
