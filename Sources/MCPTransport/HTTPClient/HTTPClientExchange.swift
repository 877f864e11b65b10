internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOHTTP1

/// One HTTP request to send.
struct HTTPClientRequest: Sendable {
    var method: HTTPMethod
    var url: HTTPURL
    var headers: HTTPHeaders
    var body: [UInt8]?
}

/// Why an exchange ended without a complete response.
enum HTTPClientFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection: refused, unreachable, name not found, TLS handshake failed.
    case connect(String)
    /// The connection closed or broke before the response was complete.
    case closed(String)
    /// The exchange was cancelled by this side.
    case cancelled

    var description: String {
        switch self {
        case .connect(let m): return m
        case .closed(let m): return m
        case .cancelled: return "cancelled"
        }
    }
}

/// Where one exchange reports what arrives. Calls come on the connection's
/// event loop, in order: `head`, `body`... then exactly one of `end` or
/// `failure` (or `failure` alone). Nothing is called after `cancel()`.
struct HTTPResponseHandlers: Sendable {
    var head: @Sendable (HTTPResponseHead) -> Void
    var body: @Sendable (ByteBuffer) -> Void
    var end: @Sendable () -> Void
    var failure: @Sendable (HTTPClientFailure) -> Void
}

/// A request in flight: lets its owner cancel it (closing its connection, the
/// only way to stop an HTTP/1.1 response) and filters the callbacks so that
/// none runs after cancellation or after the final one. The handlers are
/// dropped once the exchange is over, which breaks the cycle with a reader
/// that keeps its exchange to cancel it.
final class HTTPClientExchange: Sendable {
    let request: HTTPClientRequest
    private let state: NIOLockedValueBox<State>

    private struct State {
        var handlers: HTTPResponseHandlers?
        var channel: Channel?
        /// Something of the response arrived (then a failure is not retried).
        var responded = false
    }

    init(request: HTTPClientRequest, handlers: HTTPResponseHandlers) {
        self.request = request
        state = NIOLockedValueBox(State(handlers: handlers))
    }

    var hasResponse: Bool { state.withLockedValue { $0.responded } }

    /// Binds the exchange to its connection; false when it was cancelled first.
    func attach(_ channel: Channel) -> Bool {
        state.withLockedValue { s in
            if s.handlers == nil { return false }
            s.channel = channel
            return true
        }
    }

    func cancel() {
        let channel = state.withLockedValue { s -> Channel? in
            if s.handlers == nil { return nil }
            s.handlers = nil
            defer { s.channel = nil }
            return s.channel
        }
        channel?.close(promise: nil)
    }

    func deliverHead(_ head: HTTPResponseHead) {
        let h = state.withLockedValue { s -> HTTPResponseHandlers? in
            s.responded = true
            return s.handlers
        }
        h?.head(head)
    }

    func deliverBody(_ buffer: ByteBuffer) {
        state.withLockedValue { $0.handlers }?.body(buffer)
    }

    /// Ends the exchange now (cancel() no longer reaches its connection,
    /// which may go on to serve another exchange) and returns the `end`
    /// handler to call, nil when it was cancelled or over.
    func takeEnd() -> (@Sendable () -> Void)? {
        finish()?.end
    }

    func deliverFailure(_ failure: HTTPClientFailure) {
        finish()?.failure(failure)
    }

    private func finish() -> HTTPResponseHandlers? {
        state.withLockedValue { s in
            defer {
                s.handlers = nil
                s.channel = nil
            }
            return s.handlers
        }
    }
}
