internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOHTTP1
import MCPCore

/// The SSE streams of one Streamable HTTP session: stream 0 is the standalone
/// GET stream, each POST answered with SSE opens the next number. Every event
/// gets the id "<stream>-<seq>", is kept in the event store, and is written to
/// the connection attached to its stream, if any. A client that lost a
/// connection resumes with GET + Last-Event-ID and gets exactly the events of
/// that stream it missed, then the rest live.
///
/// Lock order: a PostChannel's lock, then this one, then a ResponseSink's.
final class SessionStreams: Sendable {
    let sessionID: String
    private let store: any EventStore
    private let retryMs: Int
    private let state = NIOLockedValueBox(State())

    private struct Live {
        var nextSeq: UInt64 = 1
        var sink: ResponseSink?
    }

    private struct State {
        var nextStream: UInt64 = 1
        var live: [UInt64: Live] = [0: Live()]
        /// The last standalone event written to a connection; a new GET stream
        /// starts with the ones after it (messages sent while no GET was open).
        var standaloneDelivered: UInt64 = 0
        var closed = false
    }

    init(sessionID: String, store: any EventStore, retryMs: Int) {
        self.sessionID = sessionID
        self.store = store
        self.retryMs = retryMs
    }

    /// The streams of a session restored from the store: `heads` is the last
    /// stored seq of each stream. New POST streams are numbered after every
    /// stored one, and the standalone stream goes on after its last event
    /// (counted as delivered: a client resumes it with Last-Event-ID).
    init(sessionID: String, store: any EventStore, retryMs: Int, restoring heads: [UInt64: UInt64]) {
        self.sessionID = sessionID
        self.store = store
        self.retryMs = retryMs
        state.withLockedValue { s in
            s.nextStream = (heads.keys.max() ?? 0) + 1
            let last = heads[0] ?? 0
            s.live[0] = Live(nextSeq: heads[0].map { $0 + 1 } ?? 1, sink: nil)
            s.standaloneDelivered = last
        }
    }

    /// Opens a POST's stream: writes `head`, then (when `prime`) an event with
    /// an id, the retry interval and empty data, so the client can resume even
    /// before the first real event. Returns the stream's number.
    func open(sink: ResponseSink, head: HTTPResponseHead, prime: Bool) -> UInt64 {
        let n = state.withLockedValue { s -> UInt64 in
            let n = s.nextStream
            s.nextStream += 1
            if s.closed {
                sink.push(.head(head), .end)
                return n
            }
            // The priming event makes the stream known to the store; a store
            // that cannot keep it gets the response ended (nothing else is
            // promised resumable): the client sees a broken stream at once.
            do throws(StoreError) {
                try store.append(session: sessionID, event: StoredEvent(id: EventID(stream: n, seq: 0), data: []))
            } catch {
                sink.push(.head(head), .end)
                return n
            }
            s.live[n] = Live(nextSeq: 1, sink: sink)
            if prime {
                sink.push(.head(head), .body(ByteBuffer(bytes: primingEvent(EventID(stream: n, seq: 0)))))
            } else {
                sink.push(.head(head))
            }
            return n
        }
        sink.onDone { [weak self] in self?.detach(n, sink) }
        return n
    }

    /// Adds an event to a stream; `final` ends the stream after it.
    func emit(_ stream: UInt64, _ data: [UInt8], final: Bool = false) {
        state.withLockedValue { s in
            guard var l = s.live[stream] else { return }
            let id = EventID(stream: stream, seq: l.nextSeq)
            l.nextSeq += 1
            // Stored first: the client sees only what a restart cannot lose.
            // An event the store refused is not sent; its connection ends, so
            // the client resumes (and gets 503 until the store is back).
            do throws(StoreError) {
                try store.append(session: sessionID, event: StoredEvent(id: id, data: data))
            } catch {
                l.sink?.push(.end)
                l.sink = nil
                if final, stream != 0 { s.live[stream] = nil } else { s.live[stream] = l }
                return
            }
            if let sink = l.sink, sink.isOpen {
                let bytes = ByteBuffer(bytes: SSEEncoder.event(id: id.description, data: data))
                if final { sink.push(.body(bytes), .end) } else { sink.push(.body(bytes)) }
                if stream == 0 { s.standaloneDelivered = id.seq }
            }
            if final, stream != 0 {
                s.live[stream] = nil
            } else {
                s.live[stream] = l
            }
        }
    }

    /// Ends a POST stream without a further event (its request was cancelled).
    func end(_ stream: UInt64) {
        state.withLockedValue { s in
            guard stream != 0, let l = s.live.removeValue(forKey: stream) else { return }
            l.sink?.push(.end)
        }
    }

    /// Ends the response now carrying a live POST stream, keeping the stream:
    /// what follows is stored until the client resumes it.
    func dropConnection(_ stream: UInt64) -> Bool {
        state.withLockedValue { s -> Bool in
            guard stream != 0, var l = s.live[stream] else { return false }
            l.sink?.push(.end)
            l.sink = nil
            s.live[stream] = l
            return true
        }
    }

    enum ResumeOutcome { case resumed, unknown, storeFailed(StoreError) }

    /// GET with Last-Event-ID: replays what followed `after` on its stream,
    /// then stays attached if the stream is still live, else ends.
    func resume(after: EventID, sink: ResponseSink, head: HTTPResponseHead) -> ResumeOutcome {
        let outcome = state.withLockedValue { s -> ResumeOutcome in
            guard !s.closed else { return .unknown }
            let found: [StoredEvent]?
            do throws(StoreError) {
                found = try store.events(session: sessionID, stream: after.stream, after: after.seq)
            } catch {
                return .storeFailed(error)
            }
            guard let missed = found else { return .unknown }
            var parts: [ResponseSink.Part] = [.head(head)]
            for e in missed where !e.data.isEmpty {
                parts.append(.body(ByteBuffer(bytes: SSEEncoder.event(id: e.id.description, data: e.data))))
            }
            guard var l = s.live[after.stream] else {
                parts.append(.end)
                sink.push(parts)
                return .resumed
            }
            if let old = l.sink, old !== sink { old.push(.end) }
            l.sink = sink
            s.live[after.stream] = l
            if after.stream == 0 { s.standaloneDelivered = l.nextSeq - 1 }
            sink.push(parts)
            return .resumed
        }
        if case .resumed = outcome {
            let stream = after.stream
            sink.onDone { [weak self] in self?.detach(stream, sink) }
        }
        return outcome
    }

    /// A fresh standalone GET stream. False when one is already open (409).
    func attachStandalone(sink: ResponseSink, head: HTTPResponseHead, prime: Bool) -> Bool {
        let attached = state.withLockedValue { s -> Bool in
            guard !s.closed, var l = s.live[0] else { return false }
            if let old = l.sink, old.isOpen { return false }
            var parts: [ResponseSink.Part] = [.head(head)]
            let pending = ((try? store.events(session: sessionID, stream: 0, after: s.standaloneDelivered)) ?? [])
                .filter { !$0.data.isEmpty }
            if pending.isEmpty {
                let id = EventID(stream: 0, seq: l.nextSeq)
                // Primed only when the store kept the priming event (else the
                // stream simply starts unprimed: nothing to resume from yet).
                if prime, (try? store.append(session: sessionID, event: StoredEvent(id: id, data: []))) != nil {
                    l.nextSeq += 1
                    parts.append(.body(ByteBuffer(bytes: primingEvent(id))))
                }
            } else {
                for (i, e) in pending.enumerated() {
                    parts.append(.body(ByteBuffer(bytes: SSEEncoder.event(
                        id: e.id.description, retryMs: i == 0 ? retryMs : nil, data: e.data))))
                }
            }
            s.standaloneDelivered = l.nextSeq - 1
            l.sink = sink
            s.live[0] = l
            sink.push(parts)
            return true
        }
        if attached { sink.onDone { [weak self] in self?.detach(0, sink) } }
        return attached
    }

    private func detach(_ stream: UInt64, _ sink: ResponseSink) {
        state.withLockedValue { s in
            if s.live[stream]?.sink === sink { s.live[stream]?.sink = nil }
        }
    }

    /// The session ended: every open stream ends, the stored events go
    /// (`forget` false: they stay, as when a listener stops with a durable store).
    func closeAll(forget: Bool = true) {
        let sinks = state.withLockedValue { s -> [ResponseSink] in
            s.closed = true
            let sinks = s.live.values.compactMap(\.sink)
            s.live = [:]
            return sinks
        }
        for sink in sinks { sink.push(.end) }
        if forget { store.removeSession(sessionID) }
    }

    private func primingEvent(_ id: EventID) -> [UInt8] {
        SSEEncoder.event(id: id.description, retryMs: retryMs, data: [])
    }
}
