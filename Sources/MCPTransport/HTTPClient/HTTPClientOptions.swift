/// Which HTTP transport a client speaks.
public enum HTTPClientMode: String, Sendable {
    /// Streamable HTTP, falling back to the legacy HTTP+SSE transport when the
    /// server refuses the initialize POST with 400, 404 or 405 (spec 2025-11-25,
    /// "Backwards Compatibility").
    case auto
    case streamable
    /// The 2024-11-05 HTTP+SSE transport only: GET an SSE stream, POST to the
    /// endpoint it names.
    case legacySSE = "legacy_sse"
}

/// Options of an HTTP client connection.
public struct HTTPClientOptions: Sendable {
    /// Sent on every request (an Authorization bearer token, for example).
    public var headers: [HTTPHeaderField] = []
    public var mode = HTTPClientMode.auto
    /// Open the standalone GET stream for the server's own messages once the
    /// session is initialized (the server may refuse it with 405).
    public var openGetStream = true
    /// PEM file of the certificates that verify the server; nil: system trust.
    public var tlsCAFile: String?
    public var tlsVerify = true
    public var connectTimeoutMs = 10_000
    public var maxMessageBytes = 16 << 20
    /// Wait before reconnecting an SSE stream when the server gave no `retry`.
    public var defaultRetryMs = 1000
    /// Reconnections of one stream in a row that bring nothing new before the
    /// client gives up on it.
    public var maxReconnectAttempts = 5
    /// How long the first requests wait for the standalone stream's answer.
    public var standaloneWaitMs = 1000
    /// How long close() waits for the answer to its DELETE.
    public var closeTimeoutMs = 2000
    /// Idle keep-alive connections kept per origin. Requests in flight at
    /// once beyond it each open and close a connection of their own: at 8
    /// calls in flight a bound of 4 halved the 2026-07-28 call rate.
    public var maxIdleConnections = 32
    /// Obtains and refreshes OAuth tokens when the server asks (nil: none).
    public var oauth: OAuthClient?

    public init() {}
}

/// One extra request header, checked to be valid on the wire.
public struct HTTPHeaderField: Sendable, Hashable {
    public let name: String
    public let value: String

    /// Headers the transport sets itself; a host may not override them.
    static let reserved: Set<String> = [
        "host", "content-length", "content-type", "accept", "transfer-encoding", "connection",
        "mcp-session-id", "mcp-protocol-version", "last-event-id", "upgrade", "te", "trailer",
        "mcp-method", "mcp-name",
    ]

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init(name: String, value: String) throws(Invalid) {
        // RFC 9110 token characters for the name; no CR, LF or NUL in the value
        // (they would let a header value start a new header or request).
        let tchar: (UInt8) -> Bool = { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
        guard !name.isEmpty, name.utf8.allSatisfy(tchar) else {
            throw Invalid(description: "\"\(name)\" is not a valid HTTP header name")
        }
        guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
            throw Invalid(description: "the value of header \"\(name)\" holds a line break or NUL")
        }
        guard !Self.reserved.contains(name.lowercased()) else {
            throw Invalid(description: "header \"\(name)\" is set by libmcp itself")
        }
        self.name = name
        self.value = value
    }
}
