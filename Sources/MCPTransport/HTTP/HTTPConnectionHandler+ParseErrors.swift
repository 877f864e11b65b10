internal import NIOCore
internal import NIOHTTP1

/// HTTP parse errors become a response before the decoder closes the
/// connection: 431 when the request head is over the limit, 400 otherwise,
/// each with a JSON-RPC error body (NIO's own error handler only knows 400).
/// Handled here rather than in a handler of its own, which every part of every
/// response would have to pass through.
extension HTTPConnectionHandler {
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parseError = error as? HTTPParserError else {
            // Not a parse error (e.g. an upgrader that declined: the request then
            // goes on as plain HTTP): not ours to act on. NIO closes on I/O errors.
            context.fireErrorCaught(error)
            return
        }
        let status: HTTPResponseStatus
        let message: String
        if case .headerOverflow = parseError {
            status = .requestHeaderFieldsTooLarge
            message = "Request head larger than the \(endpoint.config.maxHeaderBytes)-byte limit"
        } else {
            status = .badRequest
            message = "Malformed HTTP request: \(parseError)"
        }
        endpoint.refusal(status, method: nil, message)
        // The decoder closes the connection after this. A response already
        // under way (or owed to an earlier request) cannot be followed by another.
        guard !isResponding else {
            lingeringClose(context)
            return
        }
        let body = HTTPEndpoint.errorBody(code: -32600, message)
        let headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", String(body.count)),
                                   ("Connection", "close")])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                      promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        lingeringClose(context)
    }

    /// The parser cannot resynchronise, so the connection must go; but closing
    /// at once with the client still sending (a huge head) makes the kernel
    /// reset the connection, and the client may lose the response. So: FIN
    /// after the response, and the full close when the client closes, or 2 s later.
    private func lingeringClose(_ context: ChannelHandlerContext) {
        let channel = context.channel
        context.close(mode: .output, promise: nil)
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }
}
