import Testing
@testable import MCPCore
import MCPRuntime

/// The JSON-RPC peer alone, with a hand-moved clock: timeouts, progress,
/// cancellation both ways, id reuse and the close path.
@Suite struct PeerTests {
    /// Records what the peer writes to one channel.
    final class Recorder: MessageChannel {
        let sent = LockedState<[JSONValue]>([])
        let finished = LockedState<[JSONValue?]>([])

        func send(_ message: [UInt8]) {
            let v = (try? JSONParser.parse(message)) ?? .string("<unparseable>")
            sent.withLock { $0.append(v) }
        }

        func finish(_ answer: [UInt8]?) {
            let v = answer.map { (try? JSONParser.parse($0)) ?? .string("<unparseable>") }
            finished.withLock { $0.append(v) }
        }

        var notifications: [JSONValue] { sent.withLock { $0.filter { $0["id"] == nil } } }
        func cancellations() -> [JSONValue] { notifications.filter { $0["method"] == "notifications/cancelled" } }
    }

    /// The layer above: keeps the requests it is handed, records notifications.
    final class Methods: PeerMethods {
        let requests = LockedState<[InboundRequest]>([])
        let notifications = LockedState<[String]>([])
        func handleRequest(_ request: InboundRequest, params: JSONObject) { requests.withLock { $0.append(request) } }
        func handleNotification(method: String, params: JSONObject) { notifications.withLock { $0.append(method) } }
    }

    /// Where a request's outcome lands.
    final class Outcome: Sendable {
        let value = LockedState<Result<JSONValue, RequestFailure>?>(nil)
        let calls = LockedState(0)
        var completion: JSONRPCPeer.Completion {
            { r in
                self.calls.withLock { $0 += 1 }
                self.value.withLock { $0 = r }
            }
        }
        var result: Result<JSONValue, RequestFailure>? { value.withLock { $0 } }
    }

    let timers = ManualTimers()
    let out = Recorder()
    let methods = Methods()
    let peer: JSONRPCPeer

    init() {
        peer = JSONRPCPeer(executor: InlineExecutor(), timers: timers, defaultChannel: out)
    }

    private func progress(_ id: RequestID, _ value: Double) {
        peer.receive(.notification(method: "notifications/progress",
                                   params: ["progressToken": id.json, "progress": .double(value)]),
                     channel: out, methods: methods)
    }

    private func request(_ id: Int64, _ method: String = "tools/call", on channel: MessageChannel? = nil,
                         meta: JSONObject? = nil) -> Int
    {
        var params = JSONObject()
        if let meta { params["_meta"] = .object(meta) }
        return peer.receive(.request(id: .int(id), method: method, params: .object(params)), channel: channel ?? out,
                            methods: methods)
    }

    // MARK: timeouts

    @Test func progressRestartsTheTimeout() throws {
        let outcome = Outcome()
        let seen = LockedState(0)
        let sent = peer.request(method: "tools/call", params: nil,
                                timing: RequestTiming(timeoutMs: 100, maxTotalMs: 10_000),
                                progress: { _ in seen.withLock { $0 += 1 } },
                                completion: outcome.completion)
        let id = try #require(sent)
        timers.advance(by: 90)
        progress(id, 1)
        timers.advance(by: 90)  // 180 ms in: past the first timeout, within the one progress started
        #expect(outcome.result == nil)
        progress(id, 2)
        timers.advance(by: 99)
        #expect(outcome.result == nil)
        timers.advance(by: 1)  // 100 ms without progress
        #expect(outcome.result == .failure(.timeout))
        #expect(seen.withLock { $0 } == 2)
        let cancels = out.cancellations()
        #expect(cancels.count == 1)
        #expect(cancels.first?["params"]?["requestId"] == id.json)
        #expect(timers.pending == 0)
    }

    @Test func progressNeverExtendsPastTheTotalCap() throws {
        let outcome = Outcome()
        let sent = peer.request(method: "tools/call", params: nil,
                                timing: RequestTiming(timeoutMs: 100, maxTotalMs: 250),
                                progress: { _ in }, completion: outcome.completion)
        let id = try #require(sent)
        for step in 1...2 {
            timers.advance(by: 90)
            progress(id, Double(step))
        }
        timers.advance(by: 60)
        progress(id, 3)  // at 240 ms: only 10 ms of the cap remain
        timers.advance(by: 9)
        #expect(outcome.result == nil)
        timers.advance(by: 1)
        #expect(outcome.result == .failure(.timeout))
        #expect(out.cancellations().count == 1)
    }

    @Test func progressDoesNotExtendWhenTheTimingSaysSo() throws {
        let outcome = Outcome()
        let sent = peer.request(method: "tools/call", params: nil,
                                timing: RequestTiming(timeoutMs: 100, resetOnProgress: false),
                                progress: { _ in }, completion: outcome.completion)
        let id = try #require(sent)
        timers.advance(by: 90)
        progress(id, 1)
        timers.advance(by: 10)
        #expect(outcome.result == .failure(.timeout))
    }

    @Test func aRequestThatMayNotBeCancelledTimesOutLocally() throws {
        let outcome = Outcome()
        let sent = peer.request(method: "initialize", params: nil, timing: RequestTiming(timeoutMs: 100),
                                cancellable: false, completion: outcome.completion)
        _ = try #require(sent)
        timers.advance(by: 100)
        #expect(outcome.result == .failure(.timeout))
        #expect(out.cancellations().isEmpty)
    }

    @Test func initializeIsNeverCancelledByItsTimeout() {
        let timers = ManualTimers()
        let written = LockedState<[JSONValue]>([])
        var options = ClientOptions(name: "c", version: "1")
        options.timing = RequestTiming(timeoutMs: 1000)
        let client = ClientSession(options: options, executor: InlineExecutor(), scheduler: timers) { bytes in
            written.withLock { $0.append((try? JSONParser.parse(bytes)) ?? .null) }
        }
        let outcome = LockedState<Result<JSONObject, RequestFailure>?>(nil)
        client.initialize { r in outcome.withLock { $0 = r } }
        timers.advance(by: 999)
        #expect(outcome.withLock { $0 } == nil)
        timers.advance(by: 1)
        #expect(outcome.withLock { $0 } == .failure(.timeout))
        let methods = written.withLock { $0.compactMap { $0["method"]?.stringValue } }
        #expect(methods == ["initialize"])
    }

    // MARK: cancellation

    @Test func cancellingOurRequestTellsThePeerAndDropsTheLateAnswer() throws {
        let outcome = Outcome()
        let sent = peer.request(method: "tools/call", params: nil, timing: RequestTiming(),
                                completion: outcome.completion)
        let id = try #require(sent)
        peer.cancel(id, reason: "no longer needed")
        #expect(outcome.result == .failure(.cancelled))
        let cancel = try #require(out.cancellations().first)
        #expect(cancel["params"]?["requestId"] == id.json)
        #expect(cancel["params"]?["reason"] == "no longer needed")
        peer.receive(.response(id: id, result: ["late": true]), channel: out, methods: methods)
        #expect(outcome.calls.withLock { $0 } == 1)
        #expect(!peer.isAwaiting(id))
        #expect(timers.pending == 0)
    }

    @Test func theirCancellationEndsTheRequestWithoutAnAnswer() throws {
        let channel = Recorder()
        #expect(request(5, on: channel) == 1)
        let inbound = try #require(methods.requests.withLock { $0.first })
        let handlerRan = LockedState(false)
        inbound.onCancel { handlerRan.withLock { $0 = true } }
        peer.receive(.notification(method: "notifications/cancelled", params: ["requestId": 5]), channel: out,
                     methods: methods)
        #expect(inbound.isCancelled)
        #expect(handlerRan.withLock { $0 })
        #expect(channel.finished.withLock { $0 } == [nil])
        #expect(peer.incomingCount == 0)
        // The late answer is dropped, but consumes the call.
        try inbound.answer(.success(["late": true]))
        #expect(channel.finished.withLock { $0 } == [nil])
        #expect(throws: CallFailure.alreadyAnswered) { try inbound.answer(.success([:])) }
        #expect(methods.notifications.withLock { $0 } == ["notifications/cancelled"])
    }

    @Test func cancellingAReceivedRequestCancelsTheRequestsMadeForIt() throws {
        #expect(request(9) == 1)
        let inbound = try #require(methods.requests.withLock { $0.first })
        let outcome = Outcome()
        let sent = peer.request(method: "sampling/createMessage", params: nil, timing: RequestTiming(),
                                relatedTo: inbound, completion: outcome.completion)
        let id = try #require(sent)
        peer.receive(.notification(method: "notifications/cancelled", params: ["requestId": 9]), channel: out,
                     methods: methods)
        #expect(outcome.result == .failure(.cancelled))
        #expect(out.cancellations().first?["params"]?["requestId"] == id.json)
    }

    // MARK: progress

    @Test func progressForNoRequestOfOursGoesToTheLayerAbove() {
        progress(.int(77), 1)
        #expect(methods.notifications.withLock { $0 } == ["notifications/progress"])
    }

    @Test func progressIsSentUnderTheSendersTokenAndMustIncrease() throws {
        let channel = Recorder()
        _ = request(3, on: channel, meta: ["progressToken": "tok"])
        let inbound = try #require(methods.requests.withLock { $0.first })
        try inbound.sendProgress(1, total: 4, message: "one")
        #expect(throws: CallFailure.self) { try inbound.sendProgress(1, total: 4, message: nil) }
        #expect(throws: CallFailure.self) { try inbound.sendProgress(.nan, total: nil, message: nil) }
        let sent = channel.sent.withLock { $0 }
        #expect(sent.count == 1)
        #expect(sent.first?["method"] == "notifications/progress")
        #expect(sent.first?["params"]?["progressToken"] == "tok")
        // A whole double may travel as an integer.
        #expect([.int(1), .double(1)].contains(sent.first?["params"]?["progress"]))
        #expect([.int(4), .double(4)].contains(sent.first?["params"]?["total"]))
        #expect(sent.first?["params"]?["message"] == "one")

        // Without a token nothing is sent.
        let quiet = Recorder()
        _ = request(4, on: quiet)
        let other = try #require(methods.requests.withLock { $0.last })
        try other.sendProgress(1, total: nil, message: nil)
        #expect(quiet.sent.withLock { $0 }.isEmpty)
    }

    // MARK: ids

    @Test func aReusedIdIsRefusedWhileTheFirstIsUnanswered() throws {
        let first = Recorder()
        let second = Recorder()
        _ = request(7, on: first)
        #expect(request(7, on: second) == 1)
        let refusal = try #require(second.finished.withLock { $0.first } ?? nil)
        #expect(refusal["error"]?["code"] == .int(ErrorCode.invalidRequest))
        #expect(refusal["id"] == 7)
        #expect(methods.requests.withLock { $0.count } == 1)

        try methods.requests.withLock { $0[0] }.answer(.success(["ok": true]))
        let answer = first.finished.withLock { $0.first } ?? nil
        #expect(answer?["result"]?["ok"] == true)
        _ = request(7, on: second)  // answered: the id is free again
        #expect(methods.requests.withLock { $0.count } == 2)
    }

    @Test func pingIsAnsweredByThePeer() {
        let channel = Recorder()
        #expect(request(1, "ping", on: channel) == 1)
        let answer = channel.finished.withLock { $0.first } ?? nil
        #expect(answer?["id"] == 1)
        #expect(answer?["result"] == .object(JSONObject()))
        #expect(methods.requests.withLock { $0 }.isEmpty)
    }

    // MARK: close

    @Test func closingFailsWaitersCancelsReceivedRequestsAndRunsHooksOnce() throws {
        let outcome = Outcome()
        let sent = peer.request(method: "tools/call", params: nil, timing: RequestTiming(),
                                completion: outcome.completion)
        _ = try #require(sent)
        let channel = Recorder()
        _ = request(2, on: channel)
        let inbound = try #require(methods.requests.withLock { $0.first })
        let hooks = LockedState(0)
        peer.onClose { hooks.withLock { $0 += 1 } }

        peer.close()
        peer.close()
        #expect(outcome.result == .failure(.closed))
        #expect(inbound.isCancelled)
        #expect(channel.finished.withLock { $0 } == [nil])
        #expect(hooks.withLock { $0 } == 1)
        #expect(timers.pending == 0)
        #expect(peer.waitUntilIdle(until: nil))

        // After close: hooks run at once, requests fail at once, nothing is sent.
        peer.onClose { hooks.withLock { $0 += 1 } }
        #expect(hooks.withLock { $0 } == 2)
        let late = Outcome()
        #expect(peer.request(method: "ping", params: nil, timing: RequestTiming(), completion: late.completion) == nil)
        #expect(late.result == .failure(.closed))
        let before = out.sent.withLock { $0.count }
        peer.send(.notification(method: "notifications/message", params: nil))
        #expect(out.sent.withLock { $0.count } == before)
        let refused = Recorder()
        _ = request(3, on: refused)
        #expect(refused.finished.withLock { $0 } == [nil])
    }
}
