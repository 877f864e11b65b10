internal import NIOHTTP1
import MCPCore

/// The 2024-11-05 HTTP+SSE transport: GET the URL for an SSE stream whose
/// first event, `endpoint`, names where to POST; every server message then
/// arrives on that stream as a `message` event. Used when asked for, or when
/// the initialize POST met 400, 404 or 405 (spec 2025-11-25, "Backwards
/// Compatibility": the client then retries this way).
extension HTTPClientTransport {
    func fallBackToLegacy(probeStatus: HTTPResponseStatus) {
        let start = state.withLockedValue { s -> Bool in
            guard !s.closed, !s.legacyStarted, let initialize = s.initialize else { return false }
            s.mode = .legacy
            s.legacyStarted = true
            s.probeStatus = Int(probeStatus.code)
            s.held.insert(initialize, at: 0)
            return true
        }
        if start { startLegacy() }
    }

    func startLegacy() {
        let h = headers(for: url, accept: "text/event-stream", sessionID: nil, version: nil)
        let reader = SSEStreamReader(transport: self, kind: .legacy, exchange: nil, carriedEventID: nil,
                                     carriedRetryMs: nil, failuresInARow: 0)
        reader.start(HTTPClientRequest(method: .GET, url: url, headers: h, body: nil))
    }

    /// A failure sentence, after what the initialize POST got when the
    /// legacy transport was a fallback.
    private func legacyMessage(_ rest: String) -> String {
        guard let status = state.withLockedValue({ $0.probeStatus }) else {
            return rest.prefix(1).uppercased() + rest.dropFirst()
        }
        return "The server answered the initialize POST with HTTP \(status), and " + rest
    }

    func legacyRefused(status: HTTPResponseStatus) {
        fatal(legacyMessage("the legacy SSE GET of \(url) answered HTTP \(status.code) \(status.reasonPhrase), "
                            + "not an event stream"))
    }

    func legacyEvent(_ event: SSEEvent) {
        switch event.type {
        case "endpoint":
            let known = state.withLockedValue { $0.legacyEndpoint != nil }
            if known { return }
            let text = String(decoding: event.data, as: UTF8.self).trimmedWhitespace()
            let endpoint: HTTPURL
            do {
                endpoint = try url.resolving(text)
            } catch {
                return fatal("The legacy SSE stream named an endpoint that is not a usable URL: \(text)")
            }
            // Our headers (a bearer token, say) must not go to another origin.
            guard endpoint.origin == url.origin else {
                return fatal("The legacy SSE stream named an endpoint on another origin (\(endpoint)); refused")
            }
            state.withLockedValue { $0.legacyEndpoint = endpoint }
            releaseHeld()
        case "message":
            guard !event.data.isEmpty else { return }
            if state.withLockedValue({ $0.legacyEndpoint == nil }) {
                return fatal(legacyMessage("the legacy SSE stream sent a message before its endpoint event"))
            }
            deliver(event.data)
        default:
            break
        }
    }

    func legacyStreamEnded() {
        let hadEndpoint = state.withLockedValue { $0.legacyEndpoint != nil }
        fatal(hadEndpoint ? "The server closed the legacy SSE stream"
                          : legacyMessage("the legacy SSE stream ended without an endpoint event"))
    }
}

extension String {
    fileprivate func trimmedWhitespace() -> String {
        let space: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        var s = Substring(self)
        while let f = s.first, space(f) { s = s.dropFirst() }
        while let l = s.last, space(l) { s = s.dropLast() }
        return String(s)
    }
}
