import Glibc
internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOPosix
import MCPCore
import MCPRuntime

/// The Streamable HTTP endpoint mounted in the host's own web server (ASGI,
/// net/http, a C server): the same HTTPEndpoint as the built-in listener, so
/// every check, limit, session and stream is the listener's, fed one exchange
/// at a time by the host instead of by sockets. It owns the event loops its
/// exchanges' responses are written on and the session expiry timer; the
/// host's server owns the sockets, TLS and the request-level timeouts.
public final class HostedHTTPEndpoint: Sendable {
    let endpoint: HTTPEndpoint
    private let group: MultiThreadedEventLoopGroup
    /// The session expiry timer; nil once stopped (new exchanges are refused).
    private let expiry: NIOLockedValueBox<RepeatedTask?>

    private init(endpoint: HTTPEndpoint, group: MultiThreadedEventLoopGroup, expiry: RepeatedTask) {
        self.endpoint = endpoint
        self.group = group
        self.expiry = NIOLockedValueBox(expiry)
    }

    public static func make(server: ServerCore, config: HTTPServerConfig) throws(HTTPServerError) -> HostedHTTPEndpoint {
        try HTTPServerTransport.validate(config)
        var authenticator: TokenAuthenticator?
        if let auth = config.auth { authenticator = try TokenAuthenticator(config: auth, hostVerifier: config.tokenVerifier) }
        let endpoint = HTTPEndpoint(config: config, core: server, authenticator: authenticator)
        let group = EngineEventLoops.make(threads: config.ioThreads)
        let timeout = TimeAmount.milliseconds(Int64(config.sessionIdleTimeoutMs))
        let every = TimeAmount.milliseconds(Int64(min(max(config.sessionIdleTimeoutMs / 4, 20), 30_000)))
        let sessions = endpoint.sessions
        let expiry = group.next().scheduleRepeatedTask(initialDelay: every, delay: every) { _ in
            for s in sessions.removeIdle(timeout: timeout) { s.close() }
        }
        return HostedHTTPEndpoint(endpoint: endpoint, group: group, expiry: expiry)
    }

    public var sessionCount: Int { endpoint.sessions.count }
    /// Exchanges started and not yet over.
    public var exchangeCount: Int { endpoint.connections.count }
    public var isStopped: Bool { expiry.withLockedValue { $0 == nil } }

    /// A new exchange for one request; nil once stopped.
    public func exchange(method: String, target: String, remoteAddress: String?) -> HostExchange? {
        guard !isStopped else { return nil }
        return HostExchange(endpoint: endpoint, eventLoop: group.next(), method: method, target: target,
                            remoteAddress: remoteAddress)
    }

    /// As the built-in listener's stop: new exchanges are refused, open
    /// streams with no natural end (GET, listen) end now, calls in flight get
    /// up to `timeoutMs` to finish, the rest are cut; then every session
    /// closes. Blocks; must not run on one of this endpoint's event loops.
    /// Its event loops stay until the endpoint goes (deinit).
    public func stop(timeoutMs: Int) {
        guard let task = expiry.withLockedValue({ t -> RepeatedTask? in defer { t = nil }; return t }) else { return }
        task.cancel()
        // Only this endpoint's listen streams: their channels write to its sinks.
        let loops = Array(group.makeIterator())
        endpoint.core.endListeners { session in
            guard let channel = session.defaultChannel as? PostChannel else { return false }
            return loops.contains { $0 === channel.eventLoop }
        }
        endpoint.connections.drain(timeoutMs: timeoutMs)
        for s in endpoint.sessions.removeAll() { s.close() }
        endpoint.authenticator?.shutdown()
    }

    /// The event loops go with the last reference, not at stop: exchanges the
    /// host has not freed yet still hand their cancellation to a loop. The C
    /// layer drops the last reference on a host thread (a free function).
    deinit {
        EngineEventLoops.shutDown(group)
    }
}
