import MCPCore
import MCPRuntime

/// A client transport and the server's end of it, connected in memory: what
/// Swift tests run a client over without a process or a socket. Each
/// direction delivers in order on a thread of its own (never the sender's),
/// as a real transport does, so a test meets the same re-entrancy.
public final class InMemoryClientTransport: ClientTransport {
    /// The server's end: whatever drives it (a ServerSession, a scripted
    /// server) gets the client's messages and sends its own.
    public final class ServerEnd: Sendable {
        fileprivate let link: Link

        fileprivate init(link: Link) { self.link = link }

        /// Starts delivering the client's messages to `receive`; `ended` runs
        /// once when the client closes.
        public func start(receive: @escaping @Sendable ([UInt8]) -> Void, ended: @escaping @Sendable () -> Void = {}) {
            link.state.withLock { s in
                s.serverReceive = receive
                s.serverEnded = ended
            }
        }

        /// Sends one message to the client.
        public func send(_ message: [UInt8]) {
            let link = self.link
            guard !link.state.withLock({ $0.closed }) else { return }
            link.toClient.execute {
                guard let r = link.state.withLock({ $0.closed ? nil : $0.receiver }) else { return }
                message.withUnsafeBytes { r.receive($0) }
            }
        }

        /// Ends the connection from the server's side: the client's receiver
        /// gets connectionEnded() after the messages already sent.
        public func close() {
            let link = self.link
            link.toClient.execute {
                let r = link.state.withLock { s -> (any ClientTransportReceiver)? in
                    if s.closed { return nil }
                    s.closed = true
                    return s.receiver
                }
                r?.connectionEnded()
            }
        }
    }

    /// State both ends share. Its executors run deliveries one at a time per
    /// direction, on a pool of the pair's own.
    fileprivate final class Link: Sendable {
        struct State {
            var receiver: (any ClientTransportReceiver)?
            var serverReceive: (@Sendable ([UInt8]) -> Void)?
            var serverEnded: (@Sendable () -> Void)?
            var closed = false
        }

        let state = LockedState(State())
        let pool = WorkerPool(maxThreads: 2)
        let toClient: OrderedExecutor
        let toServer: OrderedExecutor

        init() {
            toClient = OrderedExecutor(base: pool)
            toServer = OrderedExecutor(base: pool)
        }
    }

    private let link: Link
    public let server: ServerEnd

    public init() {
        link = Link()
        server = ServerEnd(link: link)
    }

    public func start(_ receiver: any ClientTransportReceiver) {
        link.state.withLock { $0.receiver = receiver }
    }

    public func send(_ message: [UInt8]) {
        let link = self.link
        guard !link.state.withLock({ $0.closed }) else { return }
        link.toServer.execute {
            guard let receive = link.state.withLock({ $0.closed ? nil : $0.serverReceive }) else { return }
            receive(message)
        }
    }

    public func close() {
        let ended = link.state.withLock { s -> (@Sendable () -> Void)? in
            if s.closed { return nil }
            s.closed = true
            s.receiver = nil
            return s.serverEnded
        }
        ended?()
        _ = link.pool.waitUntilIdle(timeoutMs: 5000)
        link.pool.shutdown()
    }

    public var failure: String? { nil }
}
