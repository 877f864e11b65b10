import Testing
@testable import MCPTransport

@Suite struct HTTPClientPolicyTests {
    private func post(_ status: Int, _ type: String? = nil, answer: Bool = true, initialize: Bool = false,
                      session: Bool = true, mode: HTTPClientMode = .streamable) -> HTTPClientPolicy.PostOutcome
    {
        HTTPClientPolicy.classifyPost(status: status, contentType: type, expectsAnswer: answer,
                                      isInitialize: initialize, sentSessionID: session, mode: mode)
    }

    @Test func answersByContentType() {
        #expect(post(200, "application/json") == .json)
        #expect(post(200, "Application/JSON; charset=utf-8") == .json)
        #expect(post(200, "text/event-stream") == .eventStream)
        #expect(post(200, " text/event-stream ;charset=utf-8") == .eventStream)
        // A request needs an answer: no usable body is a failure, not silence.
        #expect(post(200, "text/plain") == .failed(status: 200))
        #expect(post(202) == .failed(status: 202))
    }

    @Test func notificationsAndResponsesAreAccepted() {
        #expect(post(202, answer: false) == .accepted)
        #expect(post(200, "application/json", answer: false) == .accepted)
        #expect(post(204, answer: false) == .accepted)
        // A stream may still carry the server's own messages.
        #expect(post(200, "text/event-stream", answer: false) == .eventStream)
    }

    @Test func fallbackOnlyForInitializeInAutoMode() {
        for status in [400, 404, 405] {
            #expect(post(status, initialize: true, session: false, mode: .auto) == .fallBackToLegacy)
            #expect(post(status, initialize: true, session: false, mode: .streamable) == .failed(status: status))
        }
        #expect(post(401, initialize: true, session: false, mode: .auto) == .failed(status: 401))
        #expect(post(500, initialize: true, session: false, mode: .auto) == .failed(status: 500))
        #expect(post(405, session: true, mode: .auto) == .failed(status: 405))
    }

    @Test func notFoundWithOurSessionMeansExpired() {
        #expect(post(404) == .sessionExpired)
        #expect(post(404, answer: false) == .sessionExpired)
        #expect(post(404, session: false) == .failed(status: 404))
    }

    @Test func getAnswers() {
        #expect(HTTPClientPolicy.classifyGet(status: 200, contentType: "text/event-stream", sentSessionID: true) == .stream)
        #expect(HTTPClientPolicy.classifyGet(status: 405, contentType: nil, sentSessionID: true) == .notOffered)
        #expect(HTTPClientPolicy.classifyGet(status: 404, contentType: nil, sentSessionID: true) == .sessionExpired)
        #expect(HTTPClientPolicy.classifyGet(status: 404, contentType: nil, sentSessionID: false) == .failed(status: 404))
        #expect(HTTPClientPolicy.classifyGet(status: 200, contentType: "application/json", sentSessionID: true)
            == .failed(status: 200))
    }

    private func after(_ kind: HTTPClientPolicy.StreamKind, answered: Bool = false, id: String? = "e1",
                       retry: Int? = 500, failures: Int = 0) -> HTTPClientPolicy.FollowUp
    {
        HTTPClientPolicy.afterStreamEnd(kind: kind, answered: answered, lastEventID: id, retryMs: retry,
                                        defaultRetryMs: 1000, failuresInARow: failures, maxAttempts: 5)
    }

    @Test func answerStreamResumesAfterExactlyTheServersRetry() {
        #expect(after(.answer) == .reconnect(afterMs: 500, lastEventID: "e1"))
        #expect(after(.answer, retry: nil) == .reconnect(afterMs: 1000, lastEventID: "e1"))
        #expect(after(.answer, answered: true) == .done)
        // Without an event id there is nothing to resume from.
        #expect(after(.answer, id: nil) == .giveUp)
    }

    @Test func failuresInARowBackOffAndThenGiveUp() {
        #expect(after(.answer, failures: 1) == .reconnect(afterMs: 1000, lastEventID: "e1"))
        #expect(after(.answer, failures: 2) == .reconnect(afterMs: 2000, lastEventID: "e1"))
        #expect(after(.answer, retry: 20_000, failures: 4) == .reconnect(afterMs: 30_000, lastEventID: "e1"))
        #expect(after(.answer, failures: 5) == .giveUp)
        #expect(after(.standalone, failures: 5) == .giveUp)
    }

    @Test func standaloneStreamReconnectsWithOrWithoutAnId() {
        #expect(after(.standalone, id: nil) == .reconnect(afterMs: 500, lastEventID: nil))
        #expect(after(.standalone, answered: true) == .reconnect(afterMs: 500, lastEventID: "e1"))
    }

    @Test func sessionIDsAreVisibleASCII() {
        #expect(HTTPClientPolicy.isValidSessionID("a1-B2_c3.~!"))
        #expect(!HTTPClientPolicy.isValidSessionID(""))
        #expect(!HTTPClientPolicy.isValidSessionID("with space"))
        #expect(!HTTPClientPolicy.isValidSessionID("caf\u{E9}"))
    }
}
