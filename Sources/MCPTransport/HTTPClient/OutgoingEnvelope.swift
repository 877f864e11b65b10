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
        case other
    }

    var kind: Kind
    /// Set when the message is a request (it expects an answer).
    var requestID: RequestID?

    static func peek(_ bytes: [UInt8]) -> OutgoingEnvelope {
        guard let value = try? JSONParser.parse(bytes), let message = try? Message(json: value) else {
            return OutgoingEnvelope(kind: .other, requestID: nil)
        }
        switch message {
        case .request(let id, let method, _):
            return OutgoingEnvelope(kind: method == "initialize" ? .initialize : .other, requestID: id)
        case .notification(let method, _):
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

    init(bytes: [UInt8]) {
        self.bytes = bytes
        envelope = OutgoingEnvelope.peek(bytes)
    }
}
