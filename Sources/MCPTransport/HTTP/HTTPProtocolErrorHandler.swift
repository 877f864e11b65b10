internal import NIOCore
internal import NIOHTTP1

/// Turns HTTP parse errors into a response before the decoder closes the
/// connection: 431 when the request head is over the limit, 400 otherwise,
/// each with a JSON-RPC error body. (NIO's own handler only knows 400.)
final class HTTPProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let maxHeaderBytes: Int
    /// A response has started and not ended: no error response can be sent.
    private var responding = false

    init(maxHeaderBytes: Int) {
        self.maxHeaderBytes = maxHeaderBytes
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parseError = error as? HTTPParserError else {
            // Anything else (a TLS failure, a reset) ends the connection quietly.
            context.close(promise: nil)
            return
        }
        let status: HTTPResponseStatus
        let message: String
        if case .headerOverflow = parseError {
            status = .requestHeaderFieldsTooLarge
            message = "Request head larger than the \(maxHeaderBytes)-byte limit"
        } else {
            status = .badRequest
            message = "Malformed HTTP request: \(parseError)"
        }
        // The decoder closes the connection after this; a response that has
        // already started cannot be replaced by another.
        guard !responding else {
            context.close(promise: nil)
            return
        }
        let body = HTTPEndpoint.errorBody(code: -32600, message)
        let headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", String(body.count)),
                                   ("Connection", "close")])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                      promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        // The parser cannot resynchronise: nothing more can be read on this connection.
        context.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let h) where h.status.code >= 200: responding = true
        case .end: responding = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
