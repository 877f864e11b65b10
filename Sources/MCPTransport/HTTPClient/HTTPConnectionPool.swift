import Glibc
internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL
import MCPRuntime

/// The HTTP/1.1 connections of one client transport: its own event loop,
/// TLS when the URL is https, and keep-alive reuse (a few idle connections
/// per origin). Requests run side by side on separate connections; there is
/// deliberately no cap, since a POST's SSE answer may wait on another POST (an
/// elicitation answer, say) and a cap could make them wait on each other.
final class HTTPConnectionPool: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let options: HTTPClientOptions
    private let state = NIOLockedValueBox(State())

    private struct State {
        var idle: [HTTPURL.Origin: [Channel]] = [:]
        /// Every connection, with the origin it was made to.
        var open: [ObjectIdentifier: (channel: Channel, origin: HTTPURL.Origin)] = [:]
        var tls: NIOSSLContext?
        var shutDown = false
    }

    /// - Throws: when TLS is needed now (an https URL) and its settings do not
    ///   load (an unreadable CA file, say).
    init(options: HTTPClientOptions, tlsNow: Bool) throws(TransportError) {
        self.options = options
        group = EngineEventLoops.make(threads: 1)
        Self.settleSIGPIPE(group)
        if tlsNow {
            do {
                let tls = try Self.makeTLS(options)
                state.withLockedValue { $0.tls = tls }
            } catch {
                EngineEventLoops.shutDown(group)
                throw error
            }
        }
    }

    var eventLoop: EventLoop { group.next() }

    /// Starts a request; the handlers hear of its response.
    @discardableResult
    func execute(_ request: HTTPClientRequest, handlers: HTTPResponseHandlers) -> HTTPClientExchange {
        let exchange = HTTPClientExchange(request: request, handlers: handlers)
        start(exchange)
        return exchange
    }

    /// Starts an exchange made by the caller (who may keep it before any
    /// callback can run).
    func start(_ exchange: HTTPClientExchange, fresh: Bool = false) {
        let origin = exchange.request.url.origin
        let reused = fresh ? nil : state.withLockedValue { s -> Channel? in
            while let c = s.idle[origin]?.popLast() {
                if c.isActive { return c }
            }
            return nil
        }
        if let channel = reused {
            send(exchange, on: channel, reused: true)
        } else {
            connect(exchange)
        }
    }

    /// `brokenBy` holds what broke a fresh connection before the request got
    /// onto it, to report that rather than a bare "closed".
    private func send(_ exchange: HTTPClientExchange, on channel: Channel, reused: Bool,
                      brokenBy: NIOLockedValueBox<HTTPClientFailure?>? = nil)
    {
        guard exchange.attach(channel) else {
            release(channel)
            return
        }
        channel.writeAndFlush(exchange).whenFailure { [weak self] error in
            // The connection refused it before writing a byte (closing, or
            // closed while idle): a new connection gets it.
            guard let self else { return exchange.deliverFailure(.cancelled) }
            if reused { return self.start(exchange, fresh: true) }
            let known = (error as? HTTPClientExchangeHandler.Refused)?.failure ?? brokenBy?.withLockedValue { $0 }
            exchange.deliverFailure(known ?? .closed("The connection closed before the request was sent"))
        }
    }

    private func connect(_ exchange: HTTPClientExchange) {
        let url = exchange.request.url
        let tls: NIOSSLContext?
        do throws(TransportError) {
            tls = url.secure ? try tlsContext() : nil
        } catch {
            return exchange.deliverFailure(.connect("\(error)"))
        }
        if state.withLockedValue({ $0.shutDown }) { return exchange.deliverFailure(.cancelled) }
        let brokenBy = NIOLockedValueBox<HTTPClientFailure?>(nil)
        let events = HTTPConnectionEvents(
            idle: { [weak self] c in self?.release(c) },
            failed: { [weak self] ex, failure, stale in
                if stale, let self { self.start(ex, fresh: true) } else { ex.deliverFailure(failure) }
            },
            closed: { [weak self] c in self?.forget(c) },
            broken: { f in brokenBy.withLockedValue { $0 = f } })
        let sniName = Self.isIPAddress(url.host) ? nil : url.host
        ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Int64(options.connectTimeoutMs)))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    if let tls { try ops.addHandler(NIOSSLClientHandler(context: tls, serverHostname: sniName)) }
                    try ops.addHTTPClientHandlers()
                    try ops.addHandler(HTTPClientExchangeHandler(events: events))
                }
            }
            .connect(host: url.host, port: url.port)
            .whenComplete { [weak self] result in
                switch result {
                case .success(let channel):
                    guard let self, self.register(channel, url.origin) else {
                        channel.close(promise: nil)
                        return exchange.deliverFailure(.cancelled)
                    }
                    self.send(exchange, on: channel, reused: false, brokenBy: brokenBy)
                case .failure(let error):
                    exchange.deliverFailure(.connect("Cannot connect to \(url.hostHeader): \(NetworkErrorText.describe(error))"))
                }
            }
    }

    private func register(_ channel: Channel, _ origin: HTTPURL.Origin) -> Bool {
        state.withLockedValue { s in
            if s.shutDown { return false }
            s.open[ObjectIdentifier(channel)] = (channel, origin)
            return true
        }
    }

    /// A connection whose response is complete: kept for the next request
    /// to the same origin, or closed when enough are kept already.
    private func release(_ channel: Channel) {
        let keep = state.withLockedValue { s -> Bool in
            guard !s.shutDown, let origin = s.open[ObjectIdentifier(channel)]?.origin,
                  s.idle[origin, default: []].count < options.maxIdleConnections else { return false }
            s.idle[origin, default: []].append(channel)
            return true
        }
        if !keep { channel.close(promise: nil) }
    }

    private func forget(_ channel: Channel) {
        state.withLockedValue { s in
            if let origin = s.open.removeValue(forKey: ObjectIdentifier(channel))?.origin {
                s.idle[origin]?.removeAll { $0 === channel }
            }
        }
    }

    private func tlsContext() throws(TransportError) -> NIOSSLContext {
        if let tls = state.withLockedValue({ $0.tls }) { return tls }
        let tls = try Self.makeTLS(options)
        return state.withLockedValue { s in
            if let existing = s.tls { return existing }
            s.tls = tls
            return tls
        }
    }

    private static func makeTLS(_ options: HTTPClientOptions) throws(TransportError) -> NIOSSLContext {
        var config = TLSConfiguration.makeClientConfiguration()
        if let ca = options.tlsCAFile {
            // Read here rather than by the context: a context that fails to
            // load its trust file leaks its SSL_CTX (NIOSSL 2.37).
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(ca)
            } catch {
                throw .io("Cannot read the CA file \(ca): \(error)")
            }
            guard !certificates.isEmpty else { throw .io("No certificate in the CA file \(ca)") }
            config.trustRoots = .certificates(certificates)
        }
        if !options.tlsVerify { config.certificateVerification = .none }
        config.applicationProtocols = ["http/1.1"]
        do {
            return try NIOSSLContext(configuration: config)
        } catch {
            throw .io("Cannot set up TLS: \(error)")
        }
    }

    /// Closes every connection and stops the event loop. Blocks; never call it
    /// on the pool's own event loop.
    func shutdown() {
        let channels = state.withLockedValue { s -> [Channel] in
            s.shutDown = true
            s.idle = [:]
            defer { s.open = [:] }
            return s.open.values.map(\.channel)
        }
        for c in channels { c.close(promise: nil) }
        EngineEventLoops.shutDown(group)
    }

    /// Runs `body` on the event loop after `ms` milliseconds.
    @discardableResult
    func schedule(afterMs ms: Int, _ body: @escaping @Sendable () -> Void) -> Scheduled<Void> {
        group.next().scheduleTask(in: .milliseconds(Int64(max(0, ms)))) { body() }
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return host.withCString { inet_pton(AF_INET, $0, &v4) == 1 || inet_pton(AF_INET6, $0, &v6) == 1 }
    }

    /// NIO sets SIGPIPE to SIG_IGN process-wide when it creates its first
    /// socket, and mcp.h promises the host's disposition is never changed: so
    /// that first socket is made here, on purpose, with the disposition put
    /// back afterwards (the event loops block SIGPIPE instead).
    private static let settled = NIOLockedValueBox(false)

    private static func settleSIGPIPE(_ group: MultiThreadedEventLoopGroup) {
        settled.withLockedValue { done in
            if done { return }
            done = true
            SIGPIPEGuard.preservingDisposition {
                if let c = try? DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait() {
                    try? c.close().wait()
                }
            }
        }
    }
}
