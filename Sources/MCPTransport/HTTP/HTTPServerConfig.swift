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
    public var maxHeaderBytes = 16 << 10
    public var maxSessions = 10_000
    public var sessionIdleTimeoutMs = 1_800_000
    /// A connection with no response open that sends nothing for this long is
    /// closed (idle keep-alive connections, and heads that never finish).
    public var connectionIdleTimeoutMs = 60_000
    /// Messages waiting to be written on one connection before it is cut (the
    /// client may resume from the event store).
    public var maxQueuedMessages = 1024
    /// Events kept per session for resumption with Last-Event-ID.
    public var eventStoreMaxEvents = 1024
    /// Bytes of event data kept per session (the newest event is always kept).
    public var eventStoreMaxBytes = 16 << 20
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

    public init() {}
}
