import Glibc
import MCPCore

/// Everything the HTTP listener can be told: where to bind, which endpoints to
/// serve, and every limit. The defaults are the safe ones documented for
/// mcp_server_start_http in mcp.h.
public struct HTTPServerConfig: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port; the listener reports the one it bound.
    public var port = 0
    /// The Streamable HTTP endpoint (POST, GET, DELETE).
    public var path = "/mcp"
    /// The legacy HTTP+SSE endpoints of revision 2024-11-05.
    public var ssePath = "/sse"
    public var messagesPath = "/messages"
    public var websocketPath = "/ws"
    /// Answer a POST with a JSON body when its call sends nothing before the result.
    public var jsonResponse = false
    /// No sessions: every POST is self-contained (GET and DELETE get 405).
    public var stateless = false
    public var enableGetStream = true
    public var maxBodyBytes = 16 << 20
    /// Bytes all connections together may hold in request bodies not yet
    /// handed to the engine (and in the estimated parsed size of the one being
    /// parsed); past it a request gets 503 with Retry-After (BufferBudget).
    public var maxBufferedBytes = 256 << 20
    public var maxHeaderBytes = 16 << 10
    public var maxSessions = 10_000
    public var sessionIdleTimeoutMs = 1_800_000
    /// A connection with no response open that sends nothing for this long is
    /// closed (idle keep-alive connections, and heads that never finish).
    public var connectionIdleTimeoutMs = 60_000
    /// A request body that takes longer than this from its head to its end
    /// gets 408 and the connection closes (a body dripped byte by byte would
    /// otherwise hold the connection forever; a head is bounded by the idle
    /// timeout, as its bytes produce nothing until it is complete).
    public var requestBodyTimeoutMs = 60_000
    /// Open connections (HTTP and WebSocket); 0 derives it from the open-file
    /// limit, less a reserve for the rest of the process (`effectiveMaxConnections`).
    /// Past it a new connection takes the place of the oldest idle one.
    public var maxConnections = 0
    /// Messages waiting to be written on one connection before it is cut (the
    /// client may resume from the event store).
    public var maxQueuedMessages = 1024
    /// Bytes of those messages; a single larger message still goes out alone.
    public var maxQueuedBytes = 32 << 20
    /// Events kept per session for resumption with Last-Event-ID.
    public var eventStoreMaxEvents = 1024
    /// Bytes of event data kept per session (the newest event is always kept).
    public var eventStoreMaxBytes = 16 << 20
    /// Where 2025-era sessions, stream events and tasks are kept (StoreURL):
    /// "memory:" (this process), "sqlite:PATH" (survives restarts) or
    /// "postgres://…" (shared by a fleet). A
    /// durable store keeps a session record for `sessionIdleTimeoutMs` after
    /// its last use, and at most `eventStoreMaxEvents` events per session.
    public var store = "memory:"
    /// With a durable store, several processes may share it and serve any
    /// session (deploy/fleet.md). Each holds a lease in the store, renewed
    /// every quarter of this; a process whose lease expired is taken as dead:
    /// its open streams end with a JSON-RPC error and its running tasks are
    /// marked failed. Longer: slower to notice a death; shorter: a stalled
    /// process (long GC-free pause, swapped out) is given up too early.
    public var fleetLeaseMs = 5000
    /// How often a process looks in the store for events other processes
    /// wrote to streams it relays (the delay a relayed event may have).
    public var fleetPollMs = 50
    public var sseRetryMs = 1000
    /// An open SSE stream silent this long gets a comment (": keep-alive"), so
    /// proxies do not cut it as idle; 0 sends none.
    public var sseKeepaliveMs = 15_000
    /// Host header values accepted; nil means loopback names plus the bound address.
    public var allowedHosts: [String]?
    /// Origin header values accepted; nil means http(s) on localhost, 127.0.0.1, [::1].
    public var allowedOrigins: [String]?
    /// Origins whose browsers may read responses (CORS); empty means no CORS
    /// headers. Only narrows `allowedOrigins`, never widens it (see CORSPolicy).
    public var corsAllowedOrigins: [String] = []
    public var tlsCertFile: String?
    public var tlsKeyFile: String?
    public var ioThreads = 1
    /// The admin listener (metrics, health, readiness) on its own address;
    /// nil: none (AdminListener).
    public var admin: AdminAddress?
    /// Readiness fails while more callbacks than this wait for a worker.
    public var readyMaxQueued = 1000
    /// One info log line per HTTP response (EngineLog, component "http.access").
    public var accessLog = false
    /// Requests per second and burst per client (principal, else session,
    /// else address) on the MCP endpoints; nil: no limit.
    public var rateLimit: RateLimitPolicy?
    /// SO_REUSEPORT on the listening socket.
    public var reusePort = false
    /// The listen(2) backlog: connections the kernel completes and queues
    /// before accept. The kernel caps it at net.core.somaxconn; a burst of
    /// connections beyond it waits for SYN retries (1 s, then 3 s...).
    public var listenBacklog = 4096
    /// Connections accepted per readable event of the listening socket before
    /// the event loop serves its other connections again. NIO's 4 measured
    /// best for the calls of open connections during a burst (32 doubled
    /// their latency: bench/README.md, 100,000 connections).
    public var acceptBatch = 4
    /// New connections accepted per second (AcceptPacer); 0: as fast as they
    /// come. Paced, a burst of new connections waits in the backlog instead
    /// of stalling the calls of open ones.
    public var acceptRate = 0
    /// The OAuth 2.1 resource server ("auth"); nil: no authorization.
    public var auth: AuthConfig?
    /// The host's token check (mcp_server_set_token_verifier), with or instead of JWT checks.
    public var tokenVerifier: HostTokenVerifier?

    public init() {}

    /// `maxConnections`, or with 0 the soft open-file limit less a reserve of
    /// an eighth (at least 32) for the host's own files, the event loops and
    /// the worker threads: accept never meets EMFILE through our connections.
    var effectiveMaxConnections: Int {
        if maxConnections > 0 { return maxConnections }
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return 1 << 20 }
        let soft = Int(min(limit.rlim_cur, 1 << 24))
        return max(8, soft - max(32, soft / 8))
    }
}
