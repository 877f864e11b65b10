import Glibc
internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL
internal import NIOWebSocket
import MCPCore
import MCPRuntime

extension Result where Failure == StoreError {
    /// The store's message when this is a failure.
    var failureText: String? {
        if case .failure(let e) = self { return e.message }
        return nil
    }
}

public enum HTTPServerError: Error, Sendable {
    case invalidConfig(String)
    case io(String)
}

/// The HTTP listener: Streamable HTTP, legacy HTTP+SSE and WebSocket on one
/// port, optionally behind TLS, served by its own event loops. `start` returns
/// once the socket is bound; `stop` refuses new connections, lets requests in
/// flight finish (up to a timeout), then closes every session.
public final class HTTPServerTransport: Sendable {
    public let port: Int
    private let endpoint: HTTPEndpoint
    private let group: MultiThreadedEventLoopGroup
    private let state: NIOLockedValueBox<Running?>

    private struct Running {
        let channel: Channel
        let expiry: RepeatedTask
        /// The fleet's periodic work (FleetRelay); nil with `memory:`.
        let relay: RepeatedTask?
    }
    /// The admin listener (metrics, health), closed last at stop.
    private let admin: NIOLockedValueBox<Channel?>
    /// The port the admin listener bound (0: none).
    public let adminPort: Int
    /// Set when a stop begins: readiness turns false at once.
    private let draining = NIOLockedValueBox(false)

    private init(port: Int, endpoint: HTTPEndpoint, group: MultiThreadedEventLoopGroup, running: Running,
                 admin: Channel?)
    {
        self.port = port
        self.endpoint = endpoint
        self.group = group
        state = NIOLockedValueBox(running)
        self.admin = NIOLockedValueBox(admin)
        adminPort = admin?.localAddress?.port ?? 0
    }

    public var sessionCount: Int { endpoint.sessions.count }
    /// Open HTTP and WebSocket connections.
    public var connectionCount: Int { endpoint.connections.count }

    /// Why the listener is not ready for traffic (empty: ready).
    public var notReady: [String] {
        var reasons: [String] = []
        if draining.withLockedValue({ $0 }) { reasons.append("draining") }
        let channel = state.withLockedValue { $0?.channel }
        if channel?.isActive != true { reasons.append("not listening") }
        if endpoint.store.isDurable,
           let problem = Result(catching: { () throws(StoreError) in try endpoint.store.check() }).failureText
        {
            reasons.append("store: \(problem)")
        }
        return reasons
    }

    /// `hostStore`: a store the host supplied (mcp_server_set_store), used
    /// instead of the one config "store" names; the two together are refused.
    public static func start(server: ServerCore, config: HTTPServerConfig, admin source: AdminSource? = nil,
                             hostStore: (any StateStore)? = nil) throws(HTTPServerError) -> HTTPServerTransport {
        try validate(config)
        if hostStore != nil, config.store != HTTPServerConfig().store {
            throw .invalidConfig("store \"\(StoreURL.redacted(config.store))\" and a host store (mcp_server_set_store) were both given; give one")
        }
        let tls = try makeTLSContext(config)
        let store: any StateStore
        if let hostStore { store = hostStore } else { store = try StoreURL.open(config.store, config: config) }
        let storeName = hostStore == nil ? StoreURL.redacted(config.store) : store.kind
        // A store that cannot open now does not stop the listener: readiness
        // says why, requests that need it get 503, and it is retried.
        if store.isDurable, let problem = Result(catching: { () throws(StoreError) in try store.check() }).failureText {
            EngineLog.warning("store", "store not available at start", ["store": .string(storeName), "error": .string(problem)])
        }
        var authenticator: TokenAuthenticator?
        if let auth = config.auth {
            do throws(HTTPServerError) {
                authenticator = try TokenAuthenticator(config: auth, hostVerifier: config.tokenVerifier)
            } catch {
                store.close()
                throw error
            }
        }
        server.attachStore(store, sessionTTLMs: config.sessionIdleTimeoutMs)
        let endpoint = HTTPEndpoint(config: config, core: server, store: store, authenticator: authenticator)
        let group = EngineEventLoops.make(threads: config.ioThreads)
        let channel: Channel
        do {
            channel = try SIGPIPEGuard.preservingDisposition {
                try makeBootstrap(group: group, endpoint: endpoint, tls: tls)
                    .bind(host: config.host, port: config.port).wait()
            }
        } catch {
            EngineEventLoops.shutDown(group)
            authenticator?.shutdown()
            store.close()
            throw .io("Cannot listen on \(config.host):\(config.port): \(NetworkErrorText.describe(error))")
        }
        let port = channel.localAddress?.port ?? config.port
        // The admin routes reach the transport weakly: it holds their channel.
        let weakTransport = NIOLockedValueBox<WeakTransport>(WeakTransport())
        var adminChannel: Channel?
        if let address = config.admin {
            do {
                adminChannel = try AdminListener.bind(group: group, address: address) { path in
                    AdminRoutes.answer(path, transport: weakTransport.withLockedValue { $0.value }, source: source)
                }
            } catch {
                try? channel.close().wait()
                EngineEventLoops.shutDown(group)
                authenticator?.shutdown()
                store.close()
                throw .io("Cannot listen on admin address \(address.host):\(address.port): \(NetworkErrorText.describe(error))")
            }
        }
        let timeout = TimeAmount.milliseconds(Int64(config.sessionIdleTimeoutMs))
        let every = TimeAmount.milliseconds(Int64(min(max(config.sessionIdleTimeoutMs / 4, 20), 30_000)))
        let sessions = endpoint.sessions
        // With a durable store only this process's copy goes: the stored
        // session expires by its own TTL, and other processes may be using it.
        let forget = !store.isDurable
        let expiry = group.next().scheduleRepeatedTask(initialDelay: every, delay: every) { _ in
            for s in sessions.removeIdle(timeout: timeout) { s.close(forget: forget) }
        }
        var relayTask: RepeatedTask?
        if store.isDurable, let fleet = endpoint.fleet?.store {
            let relay = FleetRelay(fleet: fleet, sessions: sessions, core: server, leaseMs: config.fleetLeaseMs)
            server.relayResourceUpdates { relay.publishResourceUpdate($0) }
            let poll = TimeAmount.milliseconds(Int64(config.fleetPollMs))
            let loop = group.next()
            relayTask = loop.scheduleRepeatedTask(initialDelay: poll, delay: poll) { _ in relay.tick() }
            fleet.watch { loop.execute { relay.notified() } }
        }
        let transport = HTTPServerTransport(port: port, endpoint: endpoint, group: group,
                                            running: Running(channel: channel, expiry: expiry, relay: relayTask),
                                            admin: adminChannel)
        weakTransport.withLockedValue { $0.value = transport }
        EngineLog.info("http", "listening", ["host": .string(config.host), "port": .int(port)])
        if let a = config.admin {
            EngineLog.info("admin", "admin listener bound", ["host": .string(a.host), "port": .int(transport.adminPort)])
        }
        return transport
    }

    /// Blocks until stopped. Must not be called on one of this listener's event loops.
    public func stop(timeoutMs: Int) {
        draining.withLockedValue { $0 = true }
        guard let running = state.withLockedValue({ r -> Running? in defer { r = nil }; return r }) else { return }
        running.expiry.cancel()
        running.relay?.cancel()
        if running.relay != nil {
            endpoint.core.relayResourceUpdates(nil)
            endpoint.fleet?.store.watch(nil)
        }
        try? running.channel.close().wait()
        // Listen streams (2026-07-28) end gracefully first: each gets its
        // listen result, which ends its response, so quiescing need not cut them.
        endpoint.core.endListeners { $0.defaultChannel is PostChannel }
        endpoint.connections.drain(timeoutMs: timeoutMs)
        // A stop is not the end of the sessions: with a durable store their
        // records and events stay for the next process (a restart).
        let forget = !endpoint.store.isDurable
        for s in endpoint.sessions.removeAll() { s.close(forget: forget) }
        // Gone from the fleet at once: what it left unfinished is ended by the others.
        if endpoint.store.isDurable { endpoint.fleet?.store.leave() }
        endpoint.store.close()
        if let a = admin.withLockedValue({ c -> Channel? in defer { c = nil }; return c }) { try? a.close().wait() }
        EngineEventLoops.shutDown(group)
        endpoint.authenticator?.shutdown()
    }

    // MARK: set-up

    static func validate(_ c: HTTPServerConfig) throws(HTTPServerError) {
        let paths = [c.path, c.ssePath, c.messagesPath, c.websocketPath]
        for p in paths where !p.hasPrefix("/") || p.contains("?") || p.contains(" ") {
            throw .invalidConfig("endpoint paths must start with \"/\" and hold no query or spaces: \"\(p)\"")
        }
        guard Set(paths).count == paths.count else { throw .invalidConfig("endpoint paths must differ") }
        guard (0...65535).contains(c.port) else { throw .invalidConfig("port must be in 0...65535") }
        guard (c.tlsCertFile == nil) == (c.tlsKeyFile == nil) else {
            throw .invalidConfig("tls_cert_file and tls_key_file go together")
        }
        if let refused = CORSPolicy.unreachableEntry(c) {
            throw .invalidConfig("cors_allowed_origins entry \"\(refused)\" is refused by the Origin check: list it in allowed_origins too")
        }
        guard c.ioThreads >= 1, c.maxBodyBytes >= 1024, c.maxHeaderBytes >= 1024, c.maxSessions >= 1,
              c.maxQueuedMessages >= 1, c.eventStoreMaxEvents >= 1, c.sseRetryMs >= 0, c.sseKeepaliveMs >= 0, c.sessionIdleTimeoutMs >= 1,
              c.connectionIdleTimeoutMs >= 1, c.requestBodyTimeoutMs >= 1, c.maxConnections >= 0,
              c.maxQueuedBytes >= 1024, c.maxBufferedBytes >= c.maxBodyBytes,
              c.fleetPollMs >= 1, c.fleetLeaseMs >= 100, c.fleetLeaseMs >= 4 * c.fleetPollMs,
              (1...65535).contains(c.listenBacklog), (1...1024).contains(c.acceptBatch),
              (0...1_000_000).contains(c.acceptRate)
        else { throw .invalidConfig("a limit is out of range") }
    }

    private static func makeTLSContext(_ c: HTTPServerConfig) throws(HTTPServerError) -> NIOSSLContext? {
        guard let certFile = c.tlsCertFile, let keyFile = c.tlsKeyFile else { return nil }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
            let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw .io("Cannot load TLS certificate \(certFile) / key \(keyFile): \(error)")
        }
    }

    private static func makeBootstrap(group: MultiThreadedEventLoopGroup, endpoint: HTTPEndpoint,
                                      tls: NIOSSLContext?) -> ServerBootstrap
    {
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Int32(endpoint.config.listenBacklog))
            .serverChannelOption(.maxMessagesPerRead, value: UInt(endpoint.config.acceptBatch))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Several processes on one port (a restart without a gap: the new
            // process binds before the old one stops; or one per core).
            .serverChannelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)),
                                 value: endpoint.config.reusePort ? 1 : 0)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(acceptBackoff(endpoint.connections))
                    if endpoint.config.acceptRate > 0 {
                        try channel.pipeline.syncOperations.addHandler(
                            AcceptPacer(perSecond: endpoint.config.acceptRate, burst: endpoint.config.acceptBatch))
                    }
                }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // An idle connection keeps its last receive buffer (NIO's pool
            // reuses it for the next read): starting at 1 KiB rather than NIO's
            // 2 KiB saves 1 KiB per held stream (bench/README.md, 100,000
            // connections). A request head and body of MCP fit in it; reads
            // that fill it grow it, up to NIO's 64 KiB, as before.
            .childChannelOption(.recvAllocator,
                                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1024, maximum: 65536))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try configureConnection(channel.pipeline.syncOperations, endpoint: endpoint, tls: tls)
                }
            }
    }

    /// The handlers of one accepted connection, from TLS (if any) to the
    /// endpoint; also what the HTTP fuzz target (fuzz/targets/http-server)
    /// puts on an EmbeddedChannel, so it fuzzes this very pipeline.
    static func configureConnection(_ sync: ChannelPipeline.SynchronousOperations, endpoint: HTTPEndpoint,
                                    tls: NIOSSLContext?) throws
    {
        let config = endpoint.config
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = config.maxHeaderBytes
        limits.maxHeaderListSize = config.maxHeaderBytes
        if let tls { try sync.addHandler(NIOSSLServerHandler(context: tls)) }
        let upgrader = WebSocketUpgrade.upgrader(endpoint: endpoint)
        // No outbound header validation: every header this listener
        // writes is its own (fixed names and values, hex session ids,
        // digits), never text from a host, and from a client only
        // an Origin echoed for CORS once checked to be visible ASCII.
        // Pipelining is ordered by HTTPConnectionHandler itself.
        try sync.configureHTTPServerPipeline(
            withPipeliningAssistance: false,
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }),
            withErrorHandling: false,
            withOutboundHeaderValidation: false,
            withEncoderConfiguration: HTTPResponseEncoder.Configuration(),
            withDecoderLimitConfiguration: limits)
        try sync.addHandler(HTTPConnectionHandler(endpoint: endpoint), name: WebSocketUpgrade.httpHandlerName)
    }
}

private struct WeakTransport {
    weak var value: HTTPServerTransport?
}

/// Without it a full descriptor table (EMFILE, ENFILE) makes the accept loop
/// spin: the listening socket stays readable, every accept fails at once.
/// On those errors the oldest idle connection is shed, so the next accept has
/// a descriptor, and accepting pauses briefly; other accept errors (a client
/// that reset before we took it) retry at once.
private func acceptBackoff(_ connections: ConnectionRegistry) -> AcceptBackoffHandler {
    AcceptBackoffHandler(shouldForwardIOErrorCaught: false) { error in
        guard error.errnoCode == EMFILE || error.errnoCode == ENFILE || error.errnoCode == ENOBUFS
            || error.errnoCode == ENOMEM
        else { return nil }
        connections.shedOne()
        return .milliseconds(100)
    }
}

/// The WebSocket upgrade on websocket_path: Host/Origin checked as for HTTP,
/// subprotocol "mcp" required; our HTTP handlers then make way for WebSocketHandler.
enum WebSocketUpgrade {
    static let httpHandlerName = "mcp.http"

    static func upgrader(endpoint: HTTPEndpoint) -> NIOWebSocketServerUpgrader {
        let config = endpoint.config
        // This connection's upgrader: the principal its upgrade request
        // authenticated as (with "auth"), handed to the WebSocket handler.
        let principal = NIOLockedValueBox<Principal?>(nil)
        return NIOWebSocketServerUpgrader(
            maxFrameSize: min(config.maxBodyBytes, Int(UInt32.max)),
            automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                let protocols = head.headers[canonicalForm: "sec-websocket-protocol"].map { $0.lowercased() }
                guard path == Substring(config.websocketPath), protocols.contains("mcp"),
                      endpoint.policy.check(head.headers) == nil
                else {
                    // Not ours: served as plain HTTP (426, 400, 403 or 404 with a reason).
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                let accept = HTTPHeaders([("Sec-WebSocket-Protocol", "mcp")])
                guard let auth = endpoint.authenticator else { return channel.eventLoop.makeSucceededFuture(accept) }
                // Without a valid token the request is served as plain HTTP,
                // where the same check answers 401 with its challenge.
                let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                auth.authenticate(head.headers.first(name: "authorization"), path: path, log: false) { result in
                    guard case .success(let p) = result, p.hasScopes(auth.config.requiredScopes) else {
                        return promise.succeed(nil)
                    }
                    principal.withLockedValue { $0 = p }
                    promise.succeed(accept)
                }
                return promise.futureResult
            },
            upgradePipelineHandler: { channel, _ in
                channel.pipeline.removeHandler(name: httpHandlerName)
                    .flatMapThrowing {
                        try channel.pipeline.syncOperations.addHandler(
                            WebSocketHandler(endpoint: endpoint, principal: principal.withLockedValue { $0 }))
                    }
            })
    }
}
