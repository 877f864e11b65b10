internal import NIOConcurrencyHelpers
import MCPCore
import MCPRuntime

/// The periodic work of one process in a fleet (several processes sharing a
/// durable FleetStore), run every `fleet_poll_ms` on one event loop:
///
/// - keeps this process's lease (renewed every quarter of `fleet_lease_ms`);
/// - asks the store which streams got events since the last look, and has
///   the sessions here catch up: a GET relaying a stream another process
///   writes, or holding a standalone stream another process added to
///   (SessionStreams.catchUp);
/// - delivers the messages published since: a response to a request this
///   process sent that reached another one (ServerSession.receiveRelayed),
///   a resource change (to this process's listen streams and, once per
///   session across the fleet, to the sessions subscribed);
/// - reaps processes whose lease expired (checked every quarter of the
///   lease): their open streams end with a JSON-RPC error for each request,
///   their running tasks are marked failed, so no client waits for ever;
/// - once a second looks at every relayed stream, for one that ended
///   without a further event (a cancelled request).
///
/// A store that is told of changes as they commit (PostgreSQL: FleetStore.
/// watch) also has `notified` run on the same loop as soon as it is, so a
/// relayed event, answer or resource change goes on without waiting for the
/// next poll; the poll still runs, and finds whatever a lost notification
/// did not bring (the cursor makes each change count once).
///
/// Not used with `memory:` (one process: nothing to relay, no one to reap).
final class FleetRelay: Sendable {
    private let fleet: any FleetStore
    private let sessions: SessionTable
    private let core: ServerCore
    private let leaseMs: Int
    private let state = NIOLockedValueBox(State())

    private struct State {
        var cursor: FleetCursor?
        var renewedAt: Int64 = 0
        var reapedAt: Int64 = 0
        var sweptAt: Int64 = 0
    }

    /// The error a call gets when the process running it died.
    static let nodeLost = JSONRPCError(
        code: ErrorCode.internalError,
        message: "The server process handling this request stopped (its lease in the store expired); "
            + "the request may or may not have taken effect")

    init(fleet: any FleetStore, sessions: SessionTable, core: ServerCore, leaseMs: Int) {
        self.fleet = fleet
        self.sessions = sessions
        self.core = core
        self.leaseMs = leaseMs
        // Leased and positioned before the first request is served.
        let now = Timestamp.nowMs()
        do throws(StoreError) {
            try fleet.renewLease(ttlMs: leaseMs)
        } catch {
            EngineLog.warning("store", "cannot take the fleet lease", ["error": .string(error.message)])
        }
        let cursor = try? fleet.poll(after: nil).cursor
        state.withLockedValue {
            $0.cursor = cursor
            $0.renewedAt = now
        }
    }

    /// What the store was told of since (FleetStore.notified); on the loop
    /// that runs `tick`, so the two never interleave.
    func notified() {
        guard let cursor = state.withLockedValue({ $0.cursor }),
              let changes = try? fleet.notified(after: cursor)
        else { return }
        state.withLockedValue { $0.cursor = changes.cursor }
        for key in changes.streams { sessions.get(key.session)?.streams?.catchUp(key.stream) }
        for m in changes.messages { deliver(m) }
    }

    func tick() {
        let now = Timestamp.nowMs()
        let quarter = Int64(max(1, leaseMs / 4))
        var s = state.withLockedValue { $0 }
        if now - s.renewedAt >= quarter {
            do throws(StoreError) {
                try fleet.renewLease(ttlMs: leaseMs)
                s.renewedAt = now
            } catch {
                // Readiness reports the store; the next tick tries again.
            }
        }
        if let cursor = s.cursor ?? (try? fleet.poll(after: nil).cursor),
           let changes = try? fleet.poll(after: cursor)
        {
            s.cursor = changes.cursor
            for key in changes.streams { sessions.get(key.session)?.streams?.catchUp(key.stream) }
            for m in changes.messages { deliver(m) }
        }
        if now - s.reapedAt >= quarter {
            s.reapedAt = now
            _ = try? fleet.reapExpired(answer: { id in
                Message.errorResponse(id: RequestID(id), error: Self.nodeLost).serialized()
            }, taskError: Self.nodeLost)
        }
        if now - s.sweptAt >= 1000 {
            s.sweptAt = now
            for session in sessions.all {
                guard let streams = session.streams else { continue }
                for n in streams.relayedStreams { streams.catchUp(n) }
            }
        }
        state.withLockedValue { $0 = s }
    }

    private func deliver(_ m: FleetMessage) {
        switch m.kind {
        case .relayed:
            // Published because the publisher did not hold the request.
            guard m.node != fleet.nodeID, let s = sessions.get(m.session),
                  let json = try? JSONParser.parse(m.body), let message = try? Message(json: json)
            else { return }
            s.core.receiveRelayed(message)
        case .resourceUpdated:
            let uri = String(decoding: m.body, as: UTF8.self)
            // The publisher told its own listen streams and unstored sessions.
            if m.node != fleet.nodeID { core.notifyResourceUpdatedHere(uri: uri, stored: false) }
            let note = Message.notification(method: "notifications/resources/updated", params: ["uri": .string(uri)])
                .serialized()
            for session in sessions.all where session.core.isInitialized && session.core.isSubscribed(to: uri) {
                session.streams?.emitBroadcast(note, key: "resource-updated \(m.id)")
            }
        }
    }

    /// The host's notify_resource_updated in a fleet: published for every
    /// process (this one included) to pass on to the sessions it holds.
    func publishResourceUpdate(_ uri: String) {
        do throws(StoreError) {
            try fleet.publish(FleetMessage(kind: .resourceUpdated, session: "", body: Array(uri.utf8), node: fleet.nodeID))
        } catch {
            EngineLog.warning("store", "cannot relay a resource change to the fleet", ["error": .string(error.message)])
        }
    }
}
