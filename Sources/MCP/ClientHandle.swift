import CMCP
import MCPCore
import MCPTransport
import MCPRuntime

/// What an mcp_client_t points to: the options and handlers gathered before
/// connecting, then the live session and its transport.
final class ClientHandle: Sendable, OpaqueHandle {
    /// worker_threads when the options do not say.
    static let defaultWorkers = 16
    let name: String
    let version: String
    let baseOptions: ClientOptions
    let extraCapabilities: JSONObject
    let maxMessageBytes: Int
    let pool: WorkerPool
    let scheduler: Scheduler
    let state = LockedState(State())

    struct State {
        var requestHandlers: [String: ClientRequestHandler] = [:]
        var notificationHandler: ClientNotificationHandler?
        var stderrHandler: HostCallback<mcp_stderr_fn>?
        /// OAuth (mcp_client_set_oauth_handler / _store), read at each use.
        var oauthHandler: HostCallback<mcp_oauth_authorize_fn>?
        var oauthStore: HostCallback<mcp_oauth_store_fn>?
        var session: ClientSession?
        var transport: (any ClientTransport)?
        var connecting = false
        /// The session of a connect still in its handshake, so close can end it.
        var handshaking: ClientSession?
        /// Listings of mcp_client_list_async in progress, by the id the host got.
        var listings: [Int64: Listing] = [:]
    }

    init(name: String, version: String, options: ClientOptions, extraCapabilities: JSONObject, workers: Int,
         maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
        self.name = name
        self.version = version
        baseOptions = options
        self.extraCapabilities = extraCapabilities
        pool = WorkerPool(maxThreads: workers)
        scheduler = Scheduler(executor: pool)
    }

    static let parameterName = "client"

    // MARK: connecting (one path for every transport)

    /// Connects over the transport `open` makes (called once the client is
    /// claimed for this connect): initialize, then the client is live.
    /// Returns the initialize result.
    func connect(timing: RequestTiming, mirrorsToolHeaders: Bool = false,
                 _ open: () throws(ABIError) -> any ClientTransport) throws(ABIError) -> JSONObject {
        try claimConnect()
        defer { releaseConnect() }
        let transport = try open()
        let session = makeSession(timing: timing, mirrorsToolHeaders: mirrorsToolHeaders,
                                  transport: transport.spanTransport, output: { transport.send($0) })
        transport.start(session)
        switch try handshake(session) {
        case .success(let result):
            state.withLock { s in
                s.session = session
                s.transport = transport
            }
            return result
        case .failure(let f):
            session.close()
            let reason = transport.failure
            transport.close()
            // A transport that gave up says why, which beats a bare "closed".
            switch f {
            case .closed where reason != nil, .lost where reason != nil:
                throw ABIError(status: MCP_ERR_IO, message: reason ?? "")
            case .timeout where reason != nil:
                throw ABIError(status: MCP_ERR_TIMEOUT, message: "initialize timed out: \(reason ?? "")")
            default:
                throw failureError(f)
            }
        }
    }

    /// Claims the client for one connect; pair with releaseConnect().
    private func claimConnect() throws(ABIError) {
        guard !WorkerPool.isWorkerThread else { throw .state("Cannot connect from inside a libmcp callback") }
        let claimed = state.withLock { s -> Bool in
            if s.connecting || s.session != nil { return false }
            s.connecting = true
            return true
        }
        guard claimed else { throw .state("The client is already connected") }
    }

    private func releaseConnect() { state.withLock { $0.connecting = false } }

    /// A session for a new connection, with the handlers and capabilities set so far.
    private func makeSession(timing: RequestTiming, mirrorsToolHeaders: Bool, transport: SpanTransport?,
                             output: @escaping @Sendable ([UInt8]) -> Void) -> ClientSession {
        let (handlers, notify) = state.withLock { ($0.requestHandlers, $0.notificationHandler) }
        var options = baseOptions
        options.mirrorsToolHeaders = mirrorsToolHeaders
        options.capabilities = ClientCapabilities.derive(handling: handlers.keys, declared: extraCapabilities)
        options.timing = timing
        let session = ClientSession(options: options, executor: pool, scheduler: scheduler, transport: transport,
                                    output: output)
        for (m, handler) in handlers { session.setRequestHandler(method: m, handler) }
        session.setNotificationHandler(notify)
        return session
    }

    /// Settles the era (server/discover and/or initialize, as the `era`
    /// option says) and waits; a close() meanwhile ends it with .closed.
    private func handshake(_ session: ClientSession) throws(ABIError) -> Result<JSONObject, RequestFailure> {
        state.withLock { $0.handshaking = session }
        let outcome = try waitFor { (done: @escaping @Sendable (Result<JSONObject, RequestFailure>) -> Void) throws(ABIError) in
            session.connect { done($0) }
        }
        let stillWanted = state.withLock { s -> Bool in
            defer { s.handshaking = nil }
            return s.handshaking === session
        }
        return stillWanted ? outcome : .failure(.closed)
    }

    func session() throws(ABIError) -> ClientSession {
        guard let s = state.withLock({ $0.session }), !s.isClosed else {
            throw ABIError(status: MCP_ERR_STATE, message: "The client is not connected")
        }
        return s
    }

    func close() {
        let (session, transport, handshaking) = state.withLock {
            s -> (ClientSession?, (any ClientTransport)?, ClientSession?) in
            defer {
                s.session = nil
                s.transport = nil
                s.handshaking = nil
            }
            return (s.session, s.transport, s.handshaking)
        }
        // A connect in its handshake fails at once with MCP_ERR_CLOSED.
        handshaking?.close()
        session?.close()
        transport?.close()
    }
}
