internal import NIOCore
internal import NIOHTTP1
internal import NIOSSL

/// What a connection tells its pool.
struct HTTPConnectionEvents: Sendable {
    /// The response is complete and the server keeps the connection open.
    var idle: @Sendable (Channel) -> Void
    /// The exchange failed; `stale` when the connection had served an earlier
    /// exchange and nothing of this response arrived (the server had closed
    /// the idle connection): the pool tries again on a new one.
    var failed: @Sendable (HTTPClientExchange, HTTPClientFailure, _ stale: Bool) -> Void
    var closed: @Sendable (Channel) -> Void
    /// An error broke the connection while no exchange was on it (a failed
    /// TLS handshake before the request got there, say).
    var broken: @Sendable (HTTPClientFailure) -> Void
}

/// Runs one HTTP/1.1 exchange at a time on a client connection: writes the
/// request it is handed and passes the response parts to that exchange.
/// Lives on the channel's event loop only.
final class HTTPClientExchangeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientExchange
    typealias OutboundOut = HTTPClientRequestPart

    /// Why a request was refused before a byte of it was written.
    struct Refused: Error {
        /// What broke the connection, when known (a failed TLS handshake, say).
        var failure: HTTPClientFailure?
    }

    private let events: HTTPConnectionEvents
    private var current: HTTPClientExchange?
    private var served = 0
    private var keepAlive = true
    /// The error that broke the connection while no exchange was on it.
    private var brokenBy: HTTPClientFailure?

    init(events: HTTPConnectionEvents) {
        self.events = events
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        // Refused before anything is written: the pool sends it elsewhere.
        guard current == nil, context.channel.isActive, brokenBy == nil else {
            promise?.fail(Refused(failure: brokenBy))
            return
        }
        current = exchange
        served += 1
        keepAlive = true
        let r = exchange.request
        context.write(wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: r.method, uri: r.url.target,
                                                            headers: r.headers))), promise: nil)
        if let body = r.body, !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        promise?.succeed(())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            current?.deliverHead(head)
        case .body(let buffer):
            current?.deliverBody(buffer)
        case .end:
            guard let exchange = current else { return }
            current = nil
            // The connection goes back to the pool before the answer goes up:
            // the caller it wakes often sends its next request at once, and
            // would otherwise find no idle connection and open a new one. The
            // exchange is finished first, so that a late cancel() of it cannot
            // close the connection under the next exchange.
            let end = exchange.takeEnd()
            if keepAlive, context.channel.isActive {
                events.idle(context.channel)
            } else {
                context.close(promise: nil)
            }
            end?()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.closed("The server closed the connection before the response was complete"))
        events.closed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is NIOSSLError || error is BoringSSLError {
            fail(.connect("TLS: \(error)"))
        } else {
            fail(.closed("HTTP connection error: \(error)"))
        }
        context.close(promise: nil)
    }

    private func fail(_ failure: HTTPClientFailure) {
        guard let exchange = current else {
            if brokenBy == nil, case .connect = failure {
                brokenBy = failure
                events.broken(failure)
            }
            return
        }
        current = nil
        var stale = false
        if case .closed = failure { stale = served > 1 && !exchange.hasResponse }
        events.failed(exchange, failure, stale)
    }
}
