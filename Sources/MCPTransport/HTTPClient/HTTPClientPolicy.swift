/// The decisions of the HTTP client transport, as pure functions of what was
/// sent and what came back (spec 2025-11-25, basic/transports: Streamable HTTP
/// and Backwards Compatibility), so they can be tested without sockets.
enum HTTPClientPolicy {
    /// What a POST's response means.
    enum PostOutcome: Equatable {
        /// 202 (or any 2xx but an SSE stream for a notification or response):
        /// nothing to read.
        case accepted
        /// A JSON body holds the answer.
        case json
        /// An SSE stream carries the answer and messages related to it (a
        /// notification's stream may carry server messages too).
        case eventStream
        /// 404 to a request that carried our session id: the server ended the
        /// session; initialize again without the id.
        case sessionExpired
        /// The initialize POST was refused as an old server would (400, 404,
        /// 405): try the 2024-11-05 HTTP+SSE transport.
        case fallBackToLegacy
        case failed(status: Int)
    }

    static func classifyPost(status: Int, contentType: String?, expectsAnswer: Bool, isInitialize: Bool,
                             sentSessionID: Bool, mode: HTTPClientMode) -> PostOutcome
    {
        if isInitialize, mode == .auto, status == 400 || status == 404 || status == 405 {
            return .fallBackToLegacy
        }
        if status == 404, sentSessionID { return .sessionExpired }
        guard (200..<300).contains(status) else { return .failed(status: status) }
        switch mediaType(contentType) {
        case "text/event-stream": return .eventStream
        case "application/json" where expectsAnswer: return .json
        default: return expectsAnswer ? .failed(status: status) : .accepted
        }
    }

    /// A session id is visible ASCII only (0x21 to 0x7E), per the spec; anything
    /// else could not be sent back in a header as it came.
    static func isValidSessionID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }

    /// What the answer to a GET (the standalone stream, or a resumption) means.
    enum GetOutcome: Equatable {
        case stream
        /// 405: the server offers no standalone stream; do not ask again.
        case notOffered
        case sessionExpired
        case failed(status: Int)
    }

    static func classifyGet(status: Int, contentType: String?, sentSessionID: Bool) -> GetOutcome {
        if status == 405 { return .notOffered }
        if status == 404, sentSessionID { return .sessionExpired }
        guard status == 200, mediaType(contentType) == "text/event-stream" else { return .failed(status: status) }
        return .stream
    }

    /// The type and subtype of a Content-Type value, lowercased, without parameters.
    static func mediaType(_ contentType: String?) -> String? {
        guard let contentType else { return nil }
        let base = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return base.trimmingSpaces().lowercased()
    }

    /// Which stream ended.
    enum StreamKind: Equatable {
        /// The SSE answer to a POSTed request, or its resumption by GET: done
        /// once the answer came.
        case answer
        /// The standalone GET stream: kept open for as long as the session.
        case standalone
    }

    enum FollowUp: Equatable {
        case done
        /// GET again after the wait, with Last-Event-ID when there is one.
        case reconnect(afterMs: Int, lastEventID: String?)
        /// The stream cannot be resumed: an answer stream without an event id,
        /// or too many reconnections in a row that brought nothing.
        case giveUp
    }

    /// What to do when an SSE stream ends, cleanly or not. The client waits the
    /// server's `retry` (or the default) before the first reconnection, as the
    /// spec requires; failures in a row double the wait, up to 30 s.
    static func afterStreamEnd(kind: StreamKind, answered: Bool, lastEventID: String?, retryMs: Int?,
                               defaultRetryMs: Int, failuresInARow: Int, maxAttempts: Int) -> FollowUp
    {
        if kind == .answer {
            if answered { return .done }
            guard lastEventID != nil else { return .giveUp }
        }
        guard failuresInARow < maxAttempts else { return .giveUp }
        let base = max(0, retryMs ?? defaultRetryMs)
        let wait = failuresInARow == 0 ? base : min(max(base, 100) << min(failuresInARow, 8), 30_000)
        return .reconnect(afterMs: wait, lastEventID: lastEventID)
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
