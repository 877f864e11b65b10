internal import NIOConcurrencyHelpers
internal import NIOCore
internal import NIOHTTP1

/// One HTTP response on its way out, writable from any thread. Parts pushed
/// from engine worker threads are queued in order and written by the
/// writer's event loop (a connection's, or a host exchange's), several at a
/// time and flushed once (head and body in one packet; TCP_NODELAY does the rest).
///
/// Backpressure: parts wait here while the socket is not writable; past
/// `maxQueued` parts or `maxQueuedBytes` bytes of them the connection is cut
/// instead of growing memory (a resumable client reconnects with
/// Last-Event-ID and loses nothing). A byte bound as well as a count: a
/// stalled reader of large answers would otherwise pin count × size.
///
/// @unchecked Sendable: `queue`, `queuedBytes`, `scheduled`, `ended`, `dead`,
/// `doneHandlers`, `longLived`, `aborting` are only touched with `lock` held;
/// `connection` is loop-bound.
final class ResponseSink: @unchecked Sendable {
    enum Part {
        case head(HTTPResponseHead)
        case body(ByteBuffer)
        /// The last part: ends the response (a keep-alive connection stays open).
        case end
        /// Cuts the connection (the response cannot be finished properly).
        case abort
    }

    let eventLoop: EventLoop
    private let connection: NIOLoopBound<any ResponseWriter>
    private let maxQueued: Int
    private let maxQueuedBytes: Int
    private let lock = NIOLock()
    private var queue: [Part] = []
    private var queuedBytes = 0
    private var scheduled = false
    private var ended = false
    private var dead = false
    private var doneHandlers: [@Sendable () -> Void] = []
    private var longLived = false
    /// The queue overflowed: the connection is cut even though it is not writable.
    private var aborting = false

    init(connection: any ResponseWriter, eventLoop: EventLoop, maxQueued: Int, maxQueuedBytes: Int) {
        self.eventLoop = eventLoop
        self.connection = NIOLoopBound(connection, eventLoop: eventLoop)
        self.maxQueued = max(4, maxQueued)
        self.maxQueuedBytes = maxQueuedBytes
    }

    /// Runs once when the response ended or its connection went away.
    func onDone(_ body: @escaping @Sendable () -> Void) {
        let runNow = lock.withLock { () -> Bool in
            if dead { return true }
            doneHandlers.append(body)
            return false
        }
        if runNow { body() }
    }

    /// A stream with no natural end (standalone GET, legacy SSE): a graceful
    /// stop ends it at once instead of waiting for it.
    var isLongLived: Bool {
        get { lock.withLock { longLived } }
        set { lock.withLock { longLived = newValue } }
    }

    /// False once the response ended or the connection is gone.
    var isOpen: Bool { lock.withLock { !ended && !dead } }

    func push(_ parts: Part...) { push(parts) }

    func push(_ parts: [Part]) {
        let action = lock.withLock { () -> Int in  // 0 nothing, 1 schedule, 2 abort
            if ended || dead { return 0 }
            for p in parts {
                switch p {
                case .end, .abort: ended = true
                case .body(let b): queuedBytes += b.readableBytes
                case .head: break
                }
            }
            queue.append(contentsOf: parts)
            // One part larger than the byte bound alone still goes out (an
            // answer may be large); anything queued behind it does not.
            if queue.count > maxQueued || (queuedBytes > maxQueuedBytes && queue.count > parts.count) {
                queue = [.abort]
                queuedBytes = 0
                ended = true
                aborting = true
            }
            if scheduled { return 0 }
            scheduled = true
            return 1
        }
        guard action == 1 else { return }
        // Always a separate task, even on the event loop: callers may hold
        // their locks, and writing ends responses whose done handlers take them.
        eventLoop.execute { self.drain() }
    }

    // MARK: helpers for whole responses

    func respond(status: HTTPResponseStatus, headers: HTTPHeaders, body: [UInt8], version: HTTPVersion = .http1_1) {
        var h = headers
        // add, not replaceOrAdd: no caller's headers carry a Content-Length
        // (the remove would scan them all, ~1.3K instructions per answer).
        h.add(name: "Content-Length", value: String(body.count))
        let head = HTTPResponseHead(version: version, status: status, headers: h)
        if body.isEmpty {
            push(.head(head), .end)
        } else {
            push(.head(head), .body(ByteBuffer(bytes: body)), .end)
        }
    }

    // MARK: event loop side

    /// Writes what is queued, if the socket takes it. Runs on the event loop.
    func drain() {
        let handler = connection.value
        let parts = lock.withLock { () -> [Part] in
            guard handler.isWritable || dead || aborting else { scheduled = false; return [] }
            let p = queue
            queue = []
            queuedBytes = 0
            scheduled = false
            return p
        }
        if !parts.isEmpty { handler.write(parts, from: self) }
    }

    /// The response ended or its connection closed: nothing more is written;
    /// done handlers run (once).
    func complete() {
        let handlers = lock.withLock { () -> [@Sendable () -> Void] in
            if dead { return [] }
            dead = true
            ended = true
            queue = []
            queuedBytes = 0
            let h = doneHandlers
            doneHandlers = []
            return h
        }
        for h in handlers { h() }
    }
}

/// Where a ResponseSink's parts go: a connection of the built-in listener
/// (HTTPConnectionHandler) or an exchange the host's own web server handed in
/// (HostExchange). Both methods run on the sink's event loop only.
protocol ResponseWriter: AnyObject {
    /// False while the peer is not taking bytes: parts wait in the sink.
    var isWritable: Bool { get }
    /// Writes parts queued by `sink` (ignored if that response is over).
    func write(_ parts: [ResponseSink.Part], from sink: ResponseSink)
}
