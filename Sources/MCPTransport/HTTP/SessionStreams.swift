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
/// With a fleet store (FleetStore: several processes serve the session)
/// stream numbers and standalone event numbers come from the store, so no
/// two processes give the same id; a GET resuming a stream another process
/// is still writing stays open and relays that stream's events as they are
/// stored (`relay`), and the standalone stream is written in number order
/// whichever process stored each event (`catchUp`).
///
/// Lock order: a PostChannel's lock, then this one, then a ResponseSink's.
final class SessionStreams: Sendable {
    let sessionID: String
    private let store: any EventStore
    private let fleet: FleetLink?
    private let retryMs: Int
    private let state = NIOLockedValueBox(State())

    private struct Live {
        var nextSeq: UInt64 = 1
        var sink: ResponseSink?
    }

    /// A GET relaying a stream written by another process: the last seq written to it.
    private struct Relay {
        var sink: ResponseSink
        var delivered: UInt64
    }

    private struct State {
        var nextStream: UInt64 = 1
        var live: [UInt64: Live] = [0: Live()]
        var relays: [UInt64: Relay] = [:]
        /// The last standalone event written to a connection; a new GET stream
        /// starts with the ones after it (messages sent while no GET was open).
        var standaloneDelivered: UInt64 = 0
        var closed = false
    }

    init(sessionID: String, store: any EventStore, retryMs: Int, fleet: FleetLink? = nil) {
        self.sessionID = sessionID
        self.store = store
        self.retryMs = retryMs
        self.fleet = fleet
    }

    /// The streams of a session restored from the store: `heads` is the last
    /// stored seq of each stream. New POST streams are numbered after every
    /// stored one, and the standalone stream goes on after its last event
    /// (counted as delivered: a client resumes it with Last-Event-ID).
    init(sessionID: String, store: any EventStore, retryMs: Int, restoring heads: [UInt64: UInt64],
         fleet: FleetLink? = nil)
    {
        self.sessionID = sessionID
        self.store = store
        self.retryMs = retryMs
        self.fleet = fleet
        state.withLockedValue { s in
            s.nextStream = (heads.keys.max() ?? 0) + 1
            let last = heads[0] ?? 0
            s.live[0] = Live(nextSeq: heads[0].map { $0 + 1 } ?? 1, sink: nil)
            s.standaloneDelivered = last
        }
    }

    /// Opens a POST's stream: writes `head`, then (when `prime`) an event with
    /// an id, the retry interval and empty data, so the client can resume even
    /// before the first real event. Returns the stream's number. `requests`:
    /// the ids of the requests it answers (a fleet answers them with an error
    /// if this process dies).
    func open(sink: ResponseSink, head: HTTPResponseHead, prime: Bool, requests: [JSONValue] = []) -> UInt64 {
        let n = state.withLockedValue { s -> UInt64 in
            if s.closed {
                sink.push(.head(head), .end)
                // A number no stream has: what is emitted to it goes nowhere.
                return UInt64.max
            }
            // The priming event makes the stream known to the store; a store
            // that cannot keep it gets the response ended (nothing else is
            // promised resumable): the client sees a broken stream at once.
            let n: UInt64
            do throws(StoreError) {
                if let fleet {
                    n = try fleet.store.openStream(session: sessionID, requests: requests)
                    fleet.stored(1)
                } else {
                    n = s.nextStream
                    s.nextStream += 1
                    try store.append(session: sessionID, event: StoredEvent(id: EventID(stream: n, seq: 0), data: []))
                }
            } catch {
                sink.push(.head(head), .end)
                return UInt64.max
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
        if stream == 0, let fleet { return emitStandalone(data, fleet, once: nil) }
        state.withLockedValue { s in
            guard var l = s.live[stream] else { return }
            let id = EventID(stream: stream, seq: l.nextSeq)
            l.nextSeq += 1
            // Stored first: the client sees only what a restart cannot lose.
            // An event the store refused is not sent; its connection ends, so
            // the client resumes (and gets 503 until the store is back).
            do throws(StoreError) {
                if let fleet {
                    try fleet.store.append(session: sessionID, event: StoredEvent(id: id, data: data), final: final)
                    fleet.stored(1)
                } else {
                    try store.append(session: sessionID, event: StoredEvent(id: id, data: data))
                }
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

    /// A standalone event in a fleet: numbered by the store (another process
    /// may add to the same stream), written now when it is the next one the
    /// GET stream expects, else left to `catchUp`, which writes in order.
    /// `once`: several processes may pass on the same broadcast; the store
    /// keeps it (and this writes it) only for the first.
    private func emitStandalone(_ data: [UInt8], _ fleet: FleetLink, once: String?) {
        state.withLockedValue { s in
            guard !s.closed else { return }
            let seq: UInt64
            do throws(StoreError) {
                guard let kept = try fleet.store.appendStandalone(session: sessionID, data: data, once: once) else { return }
                seq = kept
                fleet.stored(1)
            } catch {
                // Not kept, not sent; the GET stream ends so its client resumes.
                s.live[0]?.sink?.push(.end)
                s.live[0]?.sink = nil
                return
            }
            if let sink = s.live[0]?.sink, sink.isOpen, seq == s.standaloneDelivered + 1 {
                sink.push(.body(ByteBuffer(bytes: SSEEncoder.event(id: EventID(stream: 0, seq: seq).description, data: data))))
                s.standaloneDelivered = seq
            }
        }
    }

    /// A message of a broadcast every process of a fleet passes on (a
    /// resource change): kept and sent once, whichever process is first.
    func emitBroadcast(_ data: [UInt8], key: String) {
        if let fleet { emitStandalone(data, fleet, once: key) } else { emit(0, data) }
    }

    /// Another process stored events of `stream` (FleetRelay): a GET here
    /// relaying it, or holding the standalone stream, gets them in order. A
    /// relayed stream that is finished (its last event stored) ends.
    func catchUp(_ stream: UInt64) {
        guard let fleet else { return }
        state.withLockedValue { s in
            if s.closed { return }
            if stream == 0 {
                guard let sink = s.live[0]?.sink, sink.isOpen,
                      let missed = try? store.events(session: sessionID, stream: 0, after: s.standaloneDelivered)
                else { return }
                var parts: [ResponseSink.Part] = []
                for e in missed {
                    if !e.data.isEmpty { parts.append(.body(ByteBuffer(bytes: SSEEncoder.event(id: e.id.description, data: e.data)))) }
                    s.standaloneDelivered = e.id.seq
                }
                if !parts.isEmpty { sink.push(parts) }
                return
            }
            guard var r = s.relays[stream] else { return }
            // Whether it is still written is asked before reading: a stream
            // found finished has all its events stored already.
            let live = (try? fleet.store.isStreamLive(session: sessionID, stream: stream)) ?? true
            guard let missed = try? store.events(session: sessionID, stream: stream, after: r.delivered) else {
                // Events it needs are gone: the client resumes afresh (and learns so).
                r.sink.push(.end)
                s.relays[stream] = nil
                return
            }
            var parts: [ResponseSink.Part] = []
            for e in missed {
                if !e.data.isEmpty { parts.append(.body(ByteBuffer(bytes: SSEEncoder.event(id: e.id.description, data: e.data)))) }
                r.delivered = e.id.seq
            }
            if !live {
                parts.append(.end)
                s.relays[stream] = nil
            } else {
                s.relays[stream] = r
            }
            if !parts.isEmpty { r.sink.push(parts) }
        }
    }

    /// The streams this session relays for other processes (FleetRelay
    /// looks at them now and then, for a stream that ended without an event).
    var relayedStreams: [UInt64] { state.withLockedValue { Array($0.relays.keys) } }

    /// Ends a POST stream without a further event (its request was cancelled).
    func end(_ stream: UInt64) {
        state.withLockedValue { s in
            guard stream != 0, let l = s.live.removeValue(forKey: stream) else { return }
            fleet?.store.finishStream(session: sessionID, stream: stream)
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
            let lastSeq = missed.last?.id.seq ?? after.seq
            guard var l = s.live[after.stream] else {
                // Another process of the fleet still writes it: relay it
                // from the store until it is finished.
                if let fleet, (try? fleet.store.isStreamLive(session: sessionID, stream: after.stream)) == true {
                    if let old = s.relays[after.stream]?.sink, old !== sink { old.push(.end) }
                    s.relays[after.stream] = Relay(sink: sink, delivered: lastSeq)
                    // A graceful stop ends it at once: the client resumes on another process.
                    sink.isLongLived = true
                    sink.push(parts)
                    return .resumed
                }
                parts.append(.end)
                sink.push(parts)
                return .resumed
            }
            if let old = l.sink, old !== sink { old.push(.end) }
            l.sink = sink
            s.live[after.stream] = l
            if after.stream == 0 { s.standaloneDelivered = fleet == nil ? l.nextSeq - 1 : lastSeq }
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
            if let fleet {
                // Numbered by the store; everything up to the priming event
                // (or the last pending one) counts as delivered.
                var delivered = s.standaloneDelivered
                for (i, e) in pending.enumerated() {
                    parts.append(.body(ByteBuffer(bytes: SSEEncoder.event(
                        id: e.id.description, retryMs: i == 0 ? retryMs : nil, data: e.data))))
                    delivered = e.id.seq
                }
                if pending.isEmpty, prime, let seq = try? fleet.store.appendStandalone(session: sessionID, data: [], once: nil) {
                    fleet.stored(1)
                    parts.append(.body(ByteBuffer(bytes: primingEvent(EventID(stream: 0, seq: seq)))))
                    delivered = seq
                }
                s.standaloneDelivered = delivered
            } else if pending.isEmpty {
                let id = EventID(stream: 0, seq: l.nextSeq)
                // Primed only when the store kept the priming event (else the
                // stream simply starts unprimed: nothing to resume from yet).
                if prime, (try? store.append(session: sessionID, event: StoredEvent(id: id, data: []))) != nil {
                    l.nextSeq += 1
                    parts.append(.body(ByteBuffer(bytes: primingEvent(id))))
                }
                s.standaloneDelivered = l.nextSeq - 1
            } else {
                for (i, e) in pending.enumerated() {
                    parts.append(.body(ByteBuffer(bytes: SSEEncoder.event(
                        id: e.id.description, retryMs: i == 0 ? retryMs : nil, data: e.data))))
                }
                s.standaloneDelivered = l.nextSeq - 1
            }
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
            if s.relays[stream]?.sink === sink { s.relays[stream] = nil }
        }
    }

    /// The session ended: every open stream ends, the stored events go
    /// (`forget` false: they stay, as when a listener stops with a durable store).
    func closeAll(forget: Bool = true) {
        let sinks = state.withLockedValue { s -> [ResponseSink] in
            s.closed = true
            let sinks = s.live.values.compactMap(\.sink) + s.relays.values.map(\.sink)
            s.live = [:]
            s.relays = [:]
            return sinks
        }
        for sink in sinks { sink.push(.end) }
        if forget { store.removeSession(sessionID) }
    }

    private func primingEvent(_ id: EventID) -> [UInt8] {
        SSEEncoder.event(id: id.description, retryMs: retryMs, data: [])
    }
}

/// The fleet store a session's streams number through, and the metrics hook
/// for the events it keeps (ObservedStore counts the others).
struct FleetLink: Sendable {
    let store: any FleetStore
    let stored: @Sendable (Int) -> Void
    /// Whether other processes share the store (durable): then messages for
    /// requests this process does not hold are published for them.
    let shared: Bool
}
