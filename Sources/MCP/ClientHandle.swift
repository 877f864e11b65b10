import CMCP
import MCPCore
import MCPTransport
import MCPRuntime

/// What an mcp_client_t points to: the options and handlers gathered before
/// connecting, then the live session and its transport.
final class ClientHandle: Sendable {
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
        var session: ClientSession?
        var stdio: StdioClientTransport?
        var http: HTTPClientTransport?
        var connecting = false
        /// The session of a connect still in its handshake, so close can end it.
        var handshaking: ClientSession?
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

    static func from(_ p: OpaquePointer?) throws(ABIError) -> ClientHandle {
        guard let p else { throw .invalidArgument("client must not be NULL") }
        return Unmanaged<ClientHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }

    /// The capabilities the handlers imply, with the host's own merged over them.
    func capabilities(for handlers: [String: ClientRequestHandler]) -> JSONObject {
        var caps = JSONObject()
        if handlers["sampling/createMessage"] != nil { caps["sampling"] = [:] }
        if handlers["elicitation/create"] != nil { caps["elicitation"] = ["form": [:], "url": [:]] }
        if handlers["roots/list"] != nil { caps["roots"] = ["listChanged": true] }
        for m in extraCapabilities.members { caps[m.key] = m.value }
        return caps
    }

    // MARK: connecting (shared by every transport)

    /// Claims the client for one connect; pair with releaseConnect().
    func claimConnect() throws(ABIError) {
        guard !WorkerPool.isWorkerThread else { throw .state("Cannot connect from inside a libmcp callback") }
        let claimed = state.withLock { s -> Bool in
            if s.connecting || s.session != nil { return false }
            s.connecting = true
            return true
        }
        guard claimed else { throw .state("The client is already connected") }
    }

    func releaseConnect() { state.withLock { $0.connecting = false } }

    /// A session for a new connection, with the handlers and capabilities set so far.
    func makeSession(timing: RequestTiming, output: @escaping @Sendable ([UInt8]) -> Void) -> ClientSession {
        let (handlers, notify) = state.withLock { ($0.requestHandlers, $0.notificationHandler) }
        var options = baseOptions
        options.capabilities = capabilities(for: handlers)
        options.timing = timing
        let session = ClientSession(options: options, executor: pool, scheduler: scheduler, output: output)
        for (m, handler) in handlers { session.setRequestHandler(method: m, handler) }
        session.setNotificationHandler(notify)
        return session
    }

    /// Runs initialize and waits; a close() meanwhile ends it with .closed.
    func handshake(_ session: ClientSession) throws(ABIError) -> Result<JSONObject, RequestFailure> {
        state.withLock { $0.handshaking = session }
        let outcome = try waitFor { (done: @escaping @Sendable (Result<JSONObject, RequestFailure>) -> Void) throws(ABIError) in
            session.initialize { done($0) }
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
        let (session, stdio, http, handshaking) = state.withLock {
            s -> (ClientSession?, StdioClientTransport?, HTTPClientTransport?, ClientSession?) in
            defer {
                s.session = nil
                s.stdio = nil
                s.http = nil
                s.handshaking = nil
            }
            return (s.session, s.stdio, s.http, s.handshaking)
        }
        // A connect in its handshake fails at once with MCP_ERR_CLOSED.
        handshaking?.close()
        session?.close()
        stdio?.close()
        http?.close()
    }
}
