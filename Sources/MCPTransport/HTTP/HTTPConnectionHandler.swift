internal import NIOCore
internal import NIOHTTP1
import MCPCore
import MCPRuntime

/// One HTTP connection: collects each request (head and a body up to the
/// limit), hands it to the endpoint with a ResponseSink, and writes the parts
/// that sink queues. It never reads the request's meaning. All of its methods
/// run on the connection's event loop.
///
/// HTTP/1.1 pipelining is handled here rather than by NIO's pipelining
/// handler: that one pauses reading whenever a response is still being made,
/// which costs two epoll_ctl calls per request when answers are produced
/// asynchronously (they always are here). Requests that arrive while a
/// response is open wait in `waiting`, in order; past `maxWaiting` requests or
/// one body limit of bytes the connection stops reading until the queue drains.
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler, ResponseWriter {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let endpoint: HTTPEndpoint
    private var context: ChannelHandlerContext?
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// Bytes of `body` charged to the endpoint's budget; a complete request's
    /// charge is its body size, released once the endpoint has handled it
    /// (waiting requests keep theirs, counted in `waitingBytes`).
    private var bodyCharged = 0
    /// The body went over the limit: a 413 was sent; the connection closes after it.
    private var refusing = false
    private var current: ResponseSink?
    /// Whether the connection stays open after the current response.
    private var keepAlive = true
    /// Complete requests that arrived while a response was open (pipelining).
    private var waiting: [Waiting] = []
    private var waitingBytes = 0
    private var readPaused = false
    private static let maxWaiting = 16

    private enum Waiting {
        case request(HTTPRequest)
        case refusal(HTTPRequestHead, Refusal)
    }

    typealias Refusal = HTTPEndpoint.Refusal
    private var quiescing = false
    private var registration: ConnectionRegistry.Key?
    /// Idle detection without a handler of its own (NIO's IdleStateHandler
    /// would sit in the path of every part read and written): a check every
    /// quarter of the shorter of the idle and body timeouts; `checksForIdle`
    /// in a row with nothing read mean idle.
    private var idleTimer: RepeatedTask?
    private var readSinceCheck = false
    private var quietChecks = 0
    private var checksForIdle = 4
    /// Checks in a row that found a response open, the socket full and no
    /// fewer bytes waiting for it than at the check before.
    private var stalledChecks = 0
    private var lastBuffered = 0
    /// When the head of the request whose body is coming arrived.
    private var headArrived: NIODeadline?
    private var heartbeat: SSEHeartbeat
    private var heartbeatTimer: Scheduled<Void>?
    /// CORS headers for the current response (CORSPolicy); nil without CORS
    /// or without an Origin in its request.
    private var corsHeaders: HTTPHeaders?
    /// Metrics and the access log of the current response.
    private var observed = ResponseObservation()
    /// The client's address and port, read at the first request: formatting
    /// the address (inet_ntop and a String) cost ~3K instructions a request.
    private var peer: (address: String?, port: Int?)?

    init(endpoint: HTTPEndpoint) {
        self.endpoint = endpoint
        heartbeat = SSEHeartbeat(intervalMs: endpoint.config.sseKeepaliveMs)
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    /// A response is open (or owed): a parse error can no longer be answered.
    var isResponding: Bool { current != nil || !waiting.isEmpty }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        registration = endpoint.connections.add(
            eventLoop: context.eventLoop,
            quiesce: { bound.value.quiesce() },
            close: { bound.value.context?.close(promise: nil) })
        guard registration != nil else {
            // At the limit with every connection busy: refused at once, before
            // it costs a timer or a read.
            endpoint.refusal(cause: "connection_limit", method: nil, asRequest: false,
                             "Connection refused: every connection is busy at the connection limit")
            context.close(promise: nil)
            return
        }
        let config = endpoint.config
        let periodMs = max(1, min(config.connectionIdleTimeoutMs, config.requestBodyTimeoutMs) / 4)
        checksForIdle = max(1, config.connectionIdleTimeoutMs / periodMs)
        let every = TimeAmount.milliseconds(Int64(periodMs))
        idleTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { _ in
            bound.value.checkIdle()
        }
    }

    private func setPhase(_ phase: ConnectionRegistry.Phase) {
        if let registration { endpoint.connections.setPhase(registration, phase) }
    }

    /// Nothing read for the idle timeout: with no response open (an idle
    /// keep-alive connection, or a head or body that stopped arriving) the
    /// connection goes. A response still open (a stream, a call) keeps it.
    /// A body still incomplete after the body timeout gets 408, however
    /// steadily its bytes trickle in.
    private func checkIdle() {
        if let since = headArrived, !refusing,
           NIODeadline.now() - since >= .milliseconds(Int64(endpoint.config.requestBodyTimeoutMs)), let h = head
        {
            headArrived = nil
            dropBody()
            refuse(h, .tooSlow)
            return
        }
        // A client that stopped reading its response (a legacy SSE stream, a
        // GET stream, a long call) for the idle timeout is cut: what waits
        // for it is freed, and a resumable stream can be picked up again. A
        // slow reader of a large answer keeps the socket full too, but the
        // bytes waiting for it go down.
        if current != nil, let context, !context.channel.isWritable {
            let buffered = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
            stalledChecks = buffered < lastBuffered ? 0 : stalledChecks + 1
            lastBuffered = buffered
            if stalledChecks >= checksForIdle {
                context.close(promise: nil)
                return
            }
        } else {
            stalledChecks = 0
            lastBuffered = 0
        }
        if readSinceCheck {
            readSinceCheck = false
            quietChecks = 0
            return
        }
        quietChecks += 1
        guard quietChecks >= checksForIdle else { return }
        quietChecks = 0
        if current == nil || head != nil { context?.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Removed for a WebSocket upgrade, or at close: either way this
        // handler's bookkeeping ends here (the WebSocket handler registers itself).
        release()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    private func release() {
        dropBody()
        for case .request(let r) in waiting { endpoint.budget.release(r.body.readableBytes) }
        waiting = []
        waitingBytes = 0
        idleTimer?.cancel()
        idleTimer = nil
        let sink = current
        current = nil
        sink?.complete()
        observed.ended(observer: endpoint.core.observer)
        heartbeat.reset()
        heartbeatTimer?.cancel()
        heartbeatTimer = nil
        heartbeat.armed = false
        if let registration {
            endpoint.connections.remove(registration)
            self.registration = nil
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stalledChecks = 0
            current?.drain()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        readSinceCheck = true
        // After a 413 nothing more is read from this connection.
        guard !refusing else { return }
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            dropBody()
            headArrived = NIODeadline.now()
            if current == nil { setPhase(.receiving) }
            if let declared = h.headers.first(name: "content-length").flatMap(Int.init),
               declared > endpoint.config.maxBodyBytes
            {
                refuse(h, .tooLarge)
            }
        case .body(var chunk):
            let have = body?.readableBytes ?? 0
            if have + chunk.readableBytes > endpoint.config.maxBodyBytes {
                if let h = head { refuse(h, .tooLarge) }
                dropBody()
                return
            }
            endpoint.core.observer?.bytesReceived(chunk.readableBytes)
            guard endpoint.budget.charge(chunk.readableBytes) else {
                if let h = head { refuse(h, .busy) }
                dropBody()
                return
            }
            bodyCharged += chunk.readableBytes
            if body == nil {
                body = chunk
            } else {
                body?.writeBuffer(&chunk)
            }
        case .end:
            guard let h = head else { return }
            head = nil
            headArrived = nil
            if peer == nil {
                let remote = context.channel.remoteAddress
                peer = (remote?.ipAddress, remote?.port)
            }
            let request = HTTPRequest(head: h, body: body ?? ByteBuffer(),
                                      remoteAddress: peer?.address, remotePort: peer?.port)
            body = nil
            bodyCharged = 0
            if current != nil {
                wait(.request(request), context)
            } else {
                start(request, context)
            }
        }
    }

    private func start(_ request: HTTPRequest, _ context: ChannelHandlerContext) {
        keepAlive = request.head.isKeepAlive
        if endpoint.config.accessLog {
            observed.access = AccessLogEntry(request.head, bodyBytes: request.body.readableBytes)
        }
        setPhase(.busy)
        let sink = newSink(context, for: request.head)
        // Calls this request hands to workers wake them once, with the rest
        // read in this loop iteration, by a task that runs after its I/O.
        if HandOffBatch.open() { context.eventLoop.execute { HandOffBatch.close() } }
        endpoint.handle(request, sink: sink)
        endpoint.budget.release(request.body.readableBytes)
    }

    private func dropBody() {
        body = nil
        endpoint.budget.release(bodyCharged)
        bodyCharged = 0
    }

    private func wait(_ item: Waiting, _ context: ChannelHandlerContext) {
        waiting.append(item)
        if case .request(let r) = item { waitingBytes += r.body.readableBytes }
        if waiting.count >= Self.maxWaiting || waitingBytes >= endpoint.config.maxBodyBytes, !readPaused {
            readPaused = true
            context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
        }
    }

    /// The open response ended: the next waiting request (if any) starts.
    private func startNext(_ context: ChannelHandlerContext) {
        guard current == nil, !waiting.isEmpty else { return }
        switch waiting.removeFirst() {
        case .request(let r):
            waitingBytes -= r.body.readableBytes
            start(r, context)
        case .refusal(let h, let why):
            sendRefusal(h, why, context)
        }
        if readPaused, waiting.count < Self.maxWaiting / 2, waitingBytes < endpoint.config.maxBodyBytes / 2 {
            readPaused = false
            context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
        }
    }

    /// 413 or 408 with a JSON-RPC error body; the connection closes after it.
    /// Nothing more is read; responses still owed to earlier pipelined
    /// requests go out first.
    private func refuse(_ h: HTTPRequestHead, _ why: Refusal) {
        guard let context else { return }
        refusing = true
        headArrived = nil
        if current != nil {
            wait(.refusal(h, why), context)
        } else {
            sendRefusal(h, why, context)
        }
    }

    private func sendRefusal(_ h: HTTPRequestHead, _ why: Refusal, _ context: ChannelHandlerContext) {
        keepAlive = false
        setPhase(.busy)
        endpoint.refuse(h, why, sink: newSink(context, for: h))
    }

    private func newSink(_ context: ChannelHandlerContext, for request: HTTPRequestHead) -> ResponseSink {
        current?.complete()
        heartbeat.reset()
        if let cors = endpoint.cors { corsHeaders = cors.responseHeaders(for: request.headers, policy: endpoint.policy) }
        let sink = ResponseSink(connection: self, eventLoop: context.eventLoop,
                                maxQueued: endpoint.config.maxQueuedMessages,
                                maxQueuedBytes: endpoint.config.maxQueuedBytes)
        current = sink
        return sink
    }

    /// Writes parts queued by `sink` (ignored if that response is over).
    func write(_ parts: [ResponseSink.Part], from sink: ResponseSink) {
        guard let context, sink === current else { return }
        var close = false
        var ended = false
        var head: HTTPResponseHead?
        for part in parts {
            switch part {
            case .head(var h):
                if !keepAlive || quiescing {
                    h.headers.replaceOrAdd(name: "Connection", value: "close")
                }
                if let corsHeaders { h.headers.add(contentsOf: corsHeaders) }
                head = h
                observed.started(h, observer: endpoint.core.observer)
                context.write(wrapOutboundOut(.head(h)), promise: nil)
            case .body(let b):
                endpoint.core.observer?.bytesSent(b.readableBytes)
                observed.sent(bytes: b.readableBytes)
                context.write(wrapOutboundOut(.body(.byteBuffer(b))), promise: nil)
            case .end:
                ended = true
                close = !keepAlive || quiescing
                current = nil
                sink.complete()
                observed.ended(observer: endpoint.core.observer)
                context.write(wrapOutboundOut(.end(nil)), promise: nil)
            case .abort:
                close = true
            }
            if ended || close { break }
        }
        context.flush()
        if heartbeat.didWrite(head: head, ended: ended || close) { armHeartbeat(context) }
        if close {
            if current === sink { current = nil }
            sink.complete()
            observed.ended(observer: endpoint.core.observer)
            if refusing {
                // The client may still be sending the refused body: closing now
                // would reset the connection under the 413. FIN first; the full
                // close when the client closes, or 2 s later.
                let channel = context.channel
                context.close(mode: .output, promise: nil)
                context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
            return
        }
        if ended {
            startNext(context)
            if current == nil { setPhase(head == nil ? .idle : .receiving) }
        }
    }

    /// Looks at the open SSE stream every half keep-alive interval (SSEHeartbeat).
    private func armHeartbeat(_ context: ChannelHandlerContext) {
        guard let period = heartbeat.period else { return }
        heartbeat.armed = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        heartbeatTimer = context.eventLoop.scheduleTask(in: period) { bound.value.heartbeatFired() }
    }

    private func heartbeatFired() {
        heartbeatTimer = nil
        guard let context else { return }
        switch heartbeat.look() {
        case .stop:
            return
        case .again:
            break
        case .comment:
            // Between two parts of the stream (each a whole event); skipped
            // when the socket is full, as events are waiting anyway.
            if context.channel.isWritable {
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(SSEHeartbeat.comment))), promise: nil)
            }
        }
        armHeartbeat(context)
    }

    /// Graceful stop: an idle connection closes now; a long-lived stream (GET,
    /// legacy SSE) ends now; a request in flight closes after its response.
    func quiesce() {
        quiescing = true
        guard let current else {
            context?.close(promise: nil)
            return
        }
        if current.isLongLived { current.push(.end) }
    }
}
