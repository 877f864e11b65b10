internal import NIOConcurrencyHelpers
internal import NIOCore
import MCPCore
import MCPRuntime

/// One session of the HTTP listener: the engine's ServerSession, its SSE
/// streams, and when it was last used (for idle expiry). Legacy HTTP+SSE
/// sessions have no streams of their own: everything goes to their one GET.
final class HTTPSession: Sendable {
    let id: String
    let core: ServerSession
    let streams: SessionStreams?
    /// The principal that opened the session (HTTP with "auth"): only the
    /// same party may use it (HTTPEndpoint.ownsSession).
    let owner: Principal?
    private let activity: NIOLockedValueBox<Activity>

    private struct Activity {
        var lastUsed: NIODeadline
        /// Requests and streams of this session whose response is still open.
        var busy = 0
    }

    /// A Streamable HTTP session: messages unrelated to a request go to the
    /// standalone GET stream (stored until one is open).
    /// The Mcp-Session-Id is the engine session's own id (128 CSPRNG bits as
    /// hex), so hosts can name the session in calls that address one.
    /// Its record goes to the server's durable store, if one is attached.
    init(server: ServerCore, store: any StateStore, retryMs: Int, owner: Principal? = nil, fleet: FleetLink? = nil) {
        self.owner = owner
        let standalone = StandaloneChannel()
        core = server.makeSession(defaultChannel: standalone, legacyOnly: true, persistent: true)
        core.setOwner(owner?.json)
        id = core.id
        let streams = SessionStreams(sessionID: id, store: store, retryMs: retryMs, fleet: fleet)
        standalone.attach(streams)
        self.streams = streams
        activity = NIOLockedValueBox(Activity(lastUsed: .now()))
        Self.joinFleet(core, fleet)
    }

    /// In a fleet, a response (or cancellation) for a request another
    /// process sent (or serves) is published for it (FleetRelay delivers it).
    private static func joinFleet(_ core: ServerSession, _ fleet: FleetLink?) {
        guard let fleet, fleet.shared else { return }
        let id = core.id
        core.relayUnmatched { message in
            do throws(StoreError) {
                try fleet.store.publish(FleetMessage(kind: .relayed, session: id, body: message.serialized(),
                                                     node: fleet.store.nodeID))
            } catch {
                EngineLog.warning("store", "cannot relay a message to the fleet", ["error": .string(error.message)])
            }
        }
    }

    /// A session read back from the durable store (made by another process,
    /// or by this one before a restart): new streams and events are numbered
    /// after the stored ones. nil when the record is not one this engine can
    /// serve. Throws what the store threw.
    init?(restoring record: SessionRecord, server: ServerCore, store: any StateStore, retryMs: Int,
          fleet: FleetLink? = nil) throws(StoreError)
    {
        let heads = try store.lastSeqs(session: record.id)
        let standalone = StandaloneChannel()
        guard let core = server.restoreSession(record, defaultChannel: standalone) else { return nil }
        self.core = core
        owner = record.owner.flatMap(Principal.init(hostJSON:))
        core.setOwner(record.owner)
        id = core.id
        let streams = SessionStreams(sessionID: id, store: store, retryMs: retryMs, restoring: heads, fleet: fleet)
        standalone.attach(streams)
        self.streams = streams
        activity = NIOLockedValueBox(Activity(lastUsed: .now()))
        Self.joinFleet(core, fleet)
    }

    /// A legacy HTTP+SSE (or WebSocket) session whose every message goes to `channel`.
    init(server: ServerCore, legacyChannel: MessageChannel, owner: Principal? = nil) {
        self.owner = owner
        core = server.makeSession(defaultChannel: legacyChannel, legacyOnly: true)
        id = core.id
        streams = nil
        activity = NIOLockedValueBox(Activity(lastUsed: .now()))
    }

    /// A request (or stream) of this session began; `end` when its response is over.
    func begin() {
        activity.withLockedValue {
            $0.busy += 1
            $0.lastUsed = .now()
        }
        if streams != nil { core.touchRecord() }
    }

    func end() {
        activity.withLockedValue {
            $0.busy -= 1
            $0.lastUsed = .now()
        }
    }

    /// Idle: no open response, no call in flight, unused for `timeout`.
    func isIdle(now: NIODeadline, timeout: TimeAmount) -> Bool {
        let (last, busy) = activity.withLockedValue { ($0.lastUsed, $0.busy) }
        return busy == 0 && core.inFlightCount == 0 && now - last >= timeout
    }

    /// Ends the session: calls in flight are cancelled, streams end, stored
    /// events go. `forget` false (a listener stopping with a durable store):
    /// the stored record and events stay, for the next process to serve.
    func close(forget: Bool = true) {
        core.close()
        streams?.closeAll(forget: forget)
    }
}

/// The default channel of a Streamable HTTP session: stream 0. Its streams
/// are attached right after the engine session exists (they need its id).
final class StandaloneChannel: MessageChannel {
    private let streams = NIOLockedValueBox<SessionStreams?>(nil)
    func attach(_ s: SessionStreams) { streams.withLockedValue { $0 = s } }
    func send(_ message: [UInt8]) { streams.withLockedValue { $0 }?.emit(0, message) }
    func finish(_ answer: [UInt8]?) { if let answer { send(answer) } }
}
