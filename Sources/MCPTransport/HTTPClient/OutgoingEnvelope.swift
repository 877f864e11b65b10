import MCPCore

/// The little the HTTP client must know of a message it sends. The HTTP
/// transport rules are not method-blind: the initialize POST decides the
/// session id and the legacy fallback, and notifications/initialized opens the
/// session to other traffic. Requests carry their id so that a lost answer
/// can fail that request (and a broken answer stream be resumed for it).
struct OutgoingEnvelope: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case initialize
        case initialized
        /// notifications/cancelled for this request: at the modern revision
        /// the client closes that request's stream instead of posting it.
        case cancelled(RequestID)
        case other
    }

    var kind: Kind
    /// Set when the message is a request (it expects an answer).
    var requestID: RequestID?
    /// What the modern revision mirrors into headers (streamable-http.mdx,
    /// "Request Metadata"); set only for a request whose `_meta` names a
    /// protocol version (a modern request).
    var modern: Modern?

    struct Modern: Sendable, Equatable {
        var version: String
        var method: String
        /// params.name (tools/call, prompts/get) or params.uri (resources/read).
        var name: String?
        /// tools/call arguments, for the x-mcp-header parameters.
        var arguments: JSONValue?
    }

    init(kind: Kind, requestID: RequestID?, modern: Modern? = nil) {
        self.kind = kind
        self.requestID = requestID
        self.modern = modern
    }

    static func peek(_ bytes: [UInt8]) -> OutgoingEnvelope {
        guard let value = try? JSONParser.parse(bytes), let message = try? Message(json: value) else {
            return OutgoingEnvelope(kind: .other, requestID: nil)
        }
        switch message {
        case .request(let id, let method, let params):
            var modern: Modern?
            if let v = params?["_meta"]?[ModernProtocol.protocolVersionKey]?.stringValue {
                var m = Modern(version: v, method: method)
                switch method {
                case "tools/call":
                    m.name = params?["name"]?.stringValue
                    m.arguments = params?["arguments"]
                case "prompts/get": m.name = params?["name"]?.stringValue
                case "resources/read": m.name = params?["uri"]?.stringValue
                // The tasks extension routes by task id (SEP-2663).
                case "tasks/get", "tasks/update", "tasks/cancel": m.name = params?["taskId"]?.stringValue
                default: break
                }
                modern = m
            }
            return OutgoingEnvelope(kind: method == "initialize" ? .initialize : .other, requestID: id, modern: modern)
        case .notification(let method, let params):
            if method == "notifications/cancelled", let raw = params?["requestId"], let id = RequestID(raw) {
                return OutgoingEnvelope(kind: .cancelled(id), requestID: nil)
            }
            return OutgoingEnvelope(kind: method == "notifications/initialized" ? .initialized : .other, requestID: nil)
        case .response, .errorResponse:
            return OutgoingEnvelope(kind: .other, requestID: nil)
        }
    }
}

/// One message on its way, with what the transport remembers about it.
struct OutgoingMessage: Sendable {
    var bytes: [UInt8]
    var envelope: OutgoingEnvelope
    /// Already resent once after a fresh initialize: a second 404 fails it.
    var resent = false
    /// Times the OAuth client re-authorized for it (refresh, step-up).
    var authAttempts = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
        envelope = OutgoingEnvelope.peek(bytes)
    }
}
