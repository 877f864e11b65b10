import MCPCore

/// A client's connection to one server, whatever carries it: a child
/// process's pipes (StdioClientTransport), Streamable HTTP or legacy SSE
/// (HTTPClientTransport), or memory (InMemoryClientTransport). It moves whole
/// JSON-RPC messages; it reads them only as far as its own spec needs (HTTP:
/// which message is initialize, which request an answer stream belongs to).
///
/// Concurrency contract, kept by every implementation:
/// - `start(_:)` is called exactly once, before any `send(_:)`. From then on
///   the transport calls the receiver from threads of its own, never while
///   holding a lock of its own, so the receiver may call back into the
///   transport (send an answer). Messages of one stream arrive one at a
///   time, in the order the server wrote them.
/// - `send(_:)` may be called from any thread, concurrently with other sends
///   and with `close()`. It queues and returns: it never waits for the server
///   to read. A message that cannot go out is dropped; when it is a request
///   the transport tells the receiver (`transportLost`) or ends the connection,
///   so its sender never waits for a timeout because of the transport.
/// - `close()` may be called from any thread except the transport's own,
///   concurrently with everything else and any number of times: the first
///   call shuts the connection down and waits for it, the rest return at once.
///   Once it returns the receiver gets nothing new (a delivery already under
///   way may still finish).
/// - When the connection ends by itself (the server exits or goes away), the
///   receiver gets `connectionEnded()` once; `close()` is still to be called.
public protocol ClientTransport: AnyObject, Sendable {
    /// Starts delivering the server's messages to `receiver`.
    func start(_ receiver: any ClientTransportReceiver)
    /// Sends one serialized message (no framing: the transport adds its own).
    func send(_ message: [UInt8])
    func close()
    /// Why the transport gave up on the connection, if it did: the reason a
    /// host sees instead of a bare "closed".
    var failure: String? { get }
    /// How the connection travels and to whom, for the network attributes
    /// of the client's spans; nil records none.
    var spanTransport: SpanTransport? { get }
}

extension ClientTransport {
    public var spanTransport: SpanTransport? { nil }
}

/// What a ClientTransport delivers to: a ClientSession, or a test double.
/// Called from the transport's threads (see ClientTransport).
public protocol ClientTransportReceiver: AnyObject, Sendable {
    /// One complete message from the server, borrowed for the call.
    func receive(_ message: UnsafeRawBufferPointer)
    /// The request `id` can no longer be answered through this transport (its
    /// message was lost, or its answer was too large to read): it fails now,
    /// with `reason` (what the transport saw) for the host.
    func transportLost(_ id: RequestID, reason: String)
    /// Whether the request `id` still waits for its answer (a transport that
    /// resumes broken answer streams stops once it has arrived elsewhere).
    func isAwaiting(_ id: RequestID) -> Bool
    /// The protocol revision agreed in initialize, nil before its answer
    /// (HTTP sends it in a header).
    var negotiatedVersion: String? { get }
    /// The connection ended: nothing more arrives.
    func connectionEnded()
    /// The answer stream of request `id` broke before its answer, and cannot
    /// be resumed (the modern revision has no resumption). True when the
    /// receiver issues the request again itself; false: the transport
    /// reports it lost (transportLost).
    func streamBroke(_ id: RequestID) -> Bool
    /// The Mcp-Param-* headers of a modern tools/call of `tool` with
    /// `arguments` (HTTP mirrors them; other transports never ask).
    func paramHeaders(tool: String, arguments: JSONValue?) -> [(name: String, value: String)]
}

extension ClientTransportReceiver {
    public func streamBroke(_ id: RequestID) -> Bool { false }
    public func paramHeaders(tool: String, arguments: JSONValue?) -> [(name: String, value: String)] { [] }
}

extension ClientSession: ClientTransportReceiver {
    /// The revision in force: the modern one, or the one initialize agreed.
    public var negotiatedVersion: String? { negotiated?.protocolVersion }
    public func connectionEnded() { close() }
}
