internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOWebSocket
import MCPCore
import MCPRuntime

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
    /// Bytes of `message` charged to the endpoint's buffer budget.
    private var messageCharged = 0
    private var registration: ConnectionRegistry.Key?
    private var closing = false
    private var quiescing = false
    /// Idle detection: a ping every third of the idle timeout; a connection
    /// that sends nothing (not even the pongs) for three checks in a row is
    /// closed. A client that stopped reading cannot answer pings, so this also
    /// frees what waits for a stalled reader.
    private var idleTimer: RepeatedTask?
    private var readSinceCheck = false
    private var quietChecks = 0
    private static let checksPerTimeout = 3
    /// Counted as an open stream in the metrics (until channelInactive).
    private var observedStream = false

    /// Who the upgrade request authenticated as (HTTP with "auth").
    private let principal: Principal?
    /// Fires when that token expires: the connection then closes with 1008,
    /// since no later message may be taken under a token no longer valid
    /// (each HTTP request is checked anew; a WebSocket has only its upgrade).
    private var expiryTimer: Scheduled<Void>?

    init(endpoint: HTTPEndpoint, principal: Principal? = nil) {
        self.endpoint = endpoint
        self.principal = principal
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        // Takes the place of the HTTP connection it upgraded; never shed.
        registration = endpoint.connections.add(
            eventLoop: context.eventLoop, phase: .busy, always: true,
            quiesce: { bound.value.quiesce() },
            close: { bound.value.context?.close(promise: nil) })
        guard endpoint.sessions.reserve() else {
            close(context, .unknown(1013), reason: "Too many sessions; try again later")
            return
        }
        let writer = WebSocketWriter(handler: self, eventLoop: context.eventLoop,
                                     maxQueued: endpoint.config.maxQueuedMessages,
                                     maxQueuedBytes: endpoint.config.maxQueuedBytes, principal: principal,
                                     spanTransport: Tracing.isOn ? Self.spanTransport(context.channel) : nil)
        self.writer = writer
        let s = HTTPSession(server: endpoint.core, legacyChannel: writer, owner: principal)
        endpoint.sessions.commit(s)
        session = s
        observedStream = true
        endpoint.core.observer?.streamOpened(.websocket)
        let every = TimeAmount.milliseconds(Int64(max(1, endpoint.config.connectionIdleTimeoutMs / Self.checksPerTimeout)))
        idleTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { _ in
            bound.value.checkIdle()
        }
        checkExpiry()
    }

    /// Closes the connection if its token has expired, else looks again when
    /// it will have (at most a day ahead: a far "exp" is looked at again then).
    private func checkExpiry() {
        guard let context, !closing, let principal, let ms = endpoint.authenticator?.msUntilExpiry(principal) else { return }
        if ms > 0 {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            expiryTimer = context.eventLoop.scheduleTask(in: .milliseconds(min(ms, 86_400_000))) { bound.value.checkExpiry() }
            return
        }
        EngineLog.warning("auth", "Access token expired on an open WebSocket; closing it",
                          ["reason": .string("expired"), "subject": .string(principal.subject ?? "")])
        close(context, .policyViolation, reason: "The access token expired; connect again with a new one")
        // The close frame may never leave a full socket.
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    private static func spanTransport(_ channel: Channel) -> SpanTransport {
        let remote = channel.remoteAddress
        return SpanTransport(transport: "tcp", protocolName: "websocket", peerAddress: remote?.ipAddress,
                             peerPort: remote?.port)
    }

    private func checkIdle() {
        guard let context, !closing else { return }
        if readSinceCheck {
            readSinceCheck = false
            quietChecks = 0
        } else {
            quietChecks += 1
            if quietChecks >= Self.checksPerTimeout {
                close(context, .goingAway, reason: "Idle timeout")
                // The close frame may never leave a full socket.
                let channel = context.channel
                context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
                return
            }
        }
        if context.channel.isWritable {
            let ping = WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(capacity: 0))
            context.writeAndFlush(wrapOutboundOut(ping), promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        expiryTimer?.cancel()
        expiryTimer = nil
        if let s = session {
            _ = endpoint.sessions.remove(s.id)
            s.close()
            session = nil
        }
        writer?.closed()
        dropMessage()
        if let registration { endpoint.connections.remove(registration) }
        registration = nil
        if observedStream {
            observedStream = false
            endpoint.core.observer?.streamClosed(.websocket)
        }
        context.fireChannelInactive()
        release()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    /// The writer holds this handler, and the handler's context holds it too:
    /// both references back are dropped when the connection ends, or every
    /// WebSocket connection would keep its handler, writer, context and
    /// pipeline (and through them the endpoint) after it closed. (Found by
    /// fuzz/targets/http-server.)
    private func release() {
        writer = nil
        self.context = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { writer?.drain() }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        readSinceCheck = true
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary, .continuation:
            guard !closing else { return }
            if frame.opcode != .continuation { dropMessage() }
            var data = frame.unmaskedData
            endpoint.core.observer?.bytesReceived(data.readableBytes)
            if (message?.readableBytes ?? 0) + data.readableBytes > endpoint.config.maxBodyBytes {
                dropMessage()
                endpoint.refusal(.payloadTooLarge, method: nil, "WebSocket message over the body limit")
                // Written here, not through the writer, so it precedes the close frame.
                write([HTTPEndpoint.errorBody(code: ErrorCode.invalidRequest,
                                              "Message larger than the \(endpoint.config.maxBodyBytes)-byte limit")])
                close(context, .messageTooLarge, reason: "Message too large")
                return
            }
            guard endpoint.budget.charge(data.readableBytes) else {
                dropMessage()
                refuseBusy(context)
                return
            }
            messageCharged += data.readableBytes
            if message == nil { message = data } else { message?.writeBuffer(&data) }
            guard frame.fin, let whole = message else { return }
            message = nil
            defer { dropMessage() }
            if let s = session {
                whole.withUnsafeReadableBytes { bytes in
                    let cost = BufferBudget.parseEstimate(bytes)
                    guard endpoint.budget.charge(cost) else { return refuseBusy(context) }
                    defer { endpoint.budget.release(cost) }
                    _ = s.core.receive(bytes, channel: writer)
                }
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

    private func dropMessage() {
        message = nil
        endpoint.budget.release(messageCharged)
        messageCharged = 0
    }

    /// The buffer budget is spent: the message is dropped unread, so the
    /// client hears why and the connection closes with 1013 (try again later).
    private func refuseBusy(_ context: ChannelHandlerContext) {
        endpoint.refusal(.serviceUnavailable, method: nil, "WebSocket message refused: buffer budget spent")
        write([HTTPEndpoint.errorBody(code: ErrorCode.internalError,
                                      "Server busy: request buffers are full (\(endpoint.budget.limit)-byte budget); retry shortly")])
        close(context, .unknown(1013), reason: "Server busy")
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
            endpoint.core.observer?.bytesSent(m.count)
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
