import MCPCore

/// A 404 to a request that carried the session id means the server ended
/// that session; the spec says the client must then start a new one with a
/// fresh initialize, sent without a session id. This is done here, inside the
/// transport, so the host keeps its client: the initialize the session sent
/// first is sent again (its answer stays here; the session already holds the
/// negotiated result), then notifications/initialized, then the message that
/// met the 404 once more, and whatever waited meanwhile.
extension HTTPClientTransport {
    func sessionExpired(resend message: OutgoingMessage?, sentSessionID: String?) {
        enum Action {
            case nothing
            case resendNow(OutgoingMessage)
            case reopenStandalone
            case reinitialize(OutgoingMessage)
            case giveUp(OutgoingMessage)
        }
        var again = message
        again?.resent = true
        let action = state.withLockedValue { s -> Action in
            if s.closed { return .nothing }
            if let m = message, m.resent { return .giveUp(m) }
            if s.reinitializing {
                if let again { s.held.insert(again, at: 0) }
                return .nothing
            }
            // Sent under a session that was replaced since: send it under the new one.
            if s.sessionID != sentSessionID { return again.map { .resendNow($0) } ?? .reopenStandalone }
            guard let initialize = s.initialize, s.initialized != nil else {
                return message.map { .giveUp($0) } ?? .nothing
            }
            s.reinitializing = true
            s.reinitializeAnswered = false
            s.sessionID = nil
            if let again { s.held.insert(again, at: 0) }
            return .reinitialize(initialize)
        }
        switch action {
        case .nothing: break
        case .resendNow(let m): dispatch(m)
        case .reinitialize(let initialize): post(initialize, purpose: .reinitialize)
        case .giveUp(let m): lost(m, "The server answered 404 for the session again after a fresh initialize")
        case .reopenStandalone: openStandalone(lastEventID: nil, retryMs: nil, failuresInARow: 0, afterMs: 0)
        }
    }

    /// One message that arrived for the re-initialize (there may be notifications
    /// before the answer on an SSE stream; only the answer matters here).
    func reinitializeAnswer(_ bytes: [UInt8]) {
        guard let value = try? JSONParser.parse(bytes), let message = try? Message(json: value) else { return }
        switch message {
        case .response(_, let result):
            let chosen = result["protocolVersion"]?.stringValue
            let current = state.withLockedValue { $0.receiver }?.negotiatedVersion
            guard chosen == current else {
                return reinitializeFailed("the server chose protocol version \(chosen ?? "(none)") on re-initialize, not \(current ?? "(none)")")
            }
            let initialized = state.withLockedValue { s -> OutgoingMessage? in
                if s.reinitializeAnswered { return nil }
                s.reinitializeAnswered = true
                return s.initialized
            }
            if let initialized { post(initialized, purpose: .reinitialized) }
        case .errorResponse(_, let error):
            reinitializeFailed("the server refused the new initialize: \(error.message)")
        case .request, .notification:
            break
        }
    }

    /// The re-initialize answer stream or body ended: without the answer, give up.
    func reinitializeStreamEnded() {
        let answered = state.withLockedValue { $0.reinitializeAnswered || !$0.reinitializing }
        if !answered { reinitializeFailed("the new initialize got no answer") }
    }

    func reinitializeFailed(_ reason: String) {
        let wasRunning = state.withLockedValue { s -> Bool in
            defer { s.reinitializing = false }
            return s.reinitializing
        }
        if wasRunning { fatal("The server ended the session (404) and a new one could not be started: \(reason)") }
    }

    /// The new session is ready: what waited goes out, the standalone stream reopens.
    func reinitializedDone() {
        let reopen = state.withLockedValue { s -> Bool in
            s.reinitializing = false
            return s.standalone == .open && !s.closed
        }
        releaseHeld()
        if reopen { openStandalone(lastEventID: nil, retryMs: nil, failuresInARow: 0, afterMs: 0) }
    }
}
