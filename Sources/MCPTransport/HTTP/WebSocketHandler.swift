internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOWebSocket
import MCPCore

/// One MCP session over a WebSocket (subprotocol "mcp"): each text message is
/// one JSON-RPC message, in both directions. Fragmented messages are joined up
/// to the body limit; a larger one is answered with a JSON-RPC error and the
/// connection closes with 1009. Runs on the connection's event loop.
final class WebSocketHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let endpoint: HTTPEndpoint
    private var context: ChannelHandlerContext?
    private var session: HTTPSession?
    private var writer: WebSocketWriter?
    private var message: ByteBuffer?
    private var registration: ConnectionRegistry.Key?
    private var closing = false
    private var quiescing = false

    init(endpoint: HTTPEndpoint) {
        self.endpoint = endpoint
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        registration = endpoint.connections.add(
            eventLoop: context.eventLoop,
            quiesce: { bound.value.quiesce() },
            close: { bound.value.context?.close(promise: nil) })
        guard endpoint.sessions.reserve() else {
            close(context, .unknown(1013), reason: "Too many sessions; try again later")
            return
        }
        let writer = WebSocketWriter(handler: self, eventLoop: context.eventLoop,
                                     maxQueued: endpoint.config.maxQueuedMessages)
        self.writer = writer
        let s = HTTPSession(server: endpoint.core, legacyChannel: writer)
        endpoint.sessions.commit(s)
        session = s
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let s = session {
            _ = endpoint.sessions.remove(s.id)
            s.close()
            session = nil
        }
        writer?.closed()
        if let registration { endpoint.connections.remove(registration) }
        registration = nil
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { writer?.drain() }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary, .continuation:
            if frame.opcode != .continuation { message = nil }
            var data = frame.unmaskedData
            if (message?.readableBytes ?? 0) + data.readableBytes > endpoint.config.maxBodyBytes {
                message = nil
                // Written here, not through the writer, so it precedes the close frame.
                write([HTTPEndpoint.errorBody(code: ErrorCode.invalidRequest,
                                              "Message larger than the \(endpoint.config.maxBodyBytes)-byte limit")])
                close(context, .messageTooLarge, reason: "Message too large")
                return
            }
            if message == nil { message = data } else { message?.writeBuffer(&data) }
            guard frame.fin, let whole = message else { return }
            message = nil
            if let s = session {
                whole.withUnsafeReadableBytes { _ = s.core.receive($0, channel: writer) }
            }
        case .ping:
            var pong = frame.unmaskedData
            let reply = WebSocketFrame(fin: true, opcode: .pong, data: pong.readSlice(length: pong.readableBytes) ?? pong)
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        case .connectionClose:
            close(context, .normalClosure, reason: "")
        default:
            break
        }
    }

    private func close(_ context: ChannelHandlerContext, _ code: WebSocketErrorCode, reason: String) {
        guard !closing else { return }
        closing = true
        var buf = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        buf.write(webSocketErrorCode: code)
        buf.writeString(reason)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: buf)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Writes messages queued by the writer (on the event loop).
    func write(_ messages: [[UInt8]]) {
        guard let context else { return }
        for m in messages {
            let frame = WebSocketFrame(fin: true, opcode: .text, data: context.channel.allocator.buffer(bytes: m))
            context.write(wrapOutboundOut(frame), promise: nil)
        }
        context.flush()
        if quiescing, session?.core.inFlightCount ?? 0 == 0 { close(context, .goingAway, reason: "Server stopping") }
    }

    func abort() { context?.close(promise: nil) }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    /// Graceful stop: closes now if no call is in flight, else after the last answer.
    func quiesce() {
        quiescing = true
        guard let context else { return }
        if session?.core.inFlightCount ?? 0 == 0 { close(context, .goingAway, reason: "Server stopping") }
    }
}
