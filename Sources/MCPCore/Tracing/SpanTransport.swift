/// How a request travelled, for the network attributes of its span
/// (OpenTelemetry MCP conventions: `network.transport`,
/// `network.protocol.name`/`.version`, and the other end's address: the
/// client's on a server span, the server's on a client span). Transports
/// give it only while tracing is on; nothing is looked up otherwise.
public struct SpanTransport: Sendable, Equatable {
    /// "pipe" (stdio) or "tcp" (HTTP, WebSocket).
    public var transport: String
    /// "http" or "websocket"; nil over a pipe.
    public var protocolName: String?
    /// The HTTP version ("1.1").
    public var protocolVersion: String?
    /// The other end's address and port, when the transport knows them.
    public var peerAddress: String?
    public var peerPort: Int?

    public init(transport: String, protocolName: String? = nil, protocolVersion: String? = nil,
                peerAddress: String? = nil, peerPort: Int? = nil)
    {
        self.transport = transport
        self.protocolName = protocolName
        self.protocolVersion = protocolVersion
        self.peerAddress = peerAddress
        self.peerPort = peerPort
    }

    public static let pipe = SpanTransport(transport: "pipe")

    /// The attributes for a span of `kind`.
    func attributes(for kind: SpanKind) -> [(String, SpanValue)] {
        var a: [(String, SpanValue)] = [("network.transport", .string(transport))]
        if let protocolName { a.append(("network.protocol.name", .string(protocolName))) }
        if let protocolVersion { a.append(("network.protocol.version", .string(protocolVersion))) }
        let side = kind == .server ? "client" : "server"
        if let peerAddress { a.append(("\(side).address", .string(peerAddress))) }
        if let peerPort { a.append(("\(side).port", .int(Int64(peerPort)))) }
        return a
    }
}
