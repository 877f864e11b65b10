internal import NIOConcurrencyHelpers
internal import NIOCore
import MCPCore

/// The session's channel: queues outgoing messages from any thread and has
/// the event loop write them as text frames, in order, bounded like
/// ResponseSink (messages and bytes; past either the connection is cut).
///
/// @unchecked Sendable: `queue`, `queuedBytes`, `scheduled`, `dead` are
/// guarded by `lock`; `handler` is loop-bound.
final class WebSocketWriter: MessageChannel, @unchecked Sendable {
    private let eventLoop: EventLoop
    private let handler: NIOLoopBound<WebSocketHandler>
    private let maxQueued: Int
    private let maxQueuedBytes: Int
    private let lock = NIOLock()
    private var queue: [[UInt8]] = []
    private var queuedBytes = 0
    private var scheduled = false
    private var dead = false
    /// Who upgraded the connection (HTTP with "auth"), for the session's calls.
    let principal: Principal?
    /// The connection, for span attributes (nil while tracing was off at the upgrade).
    let spanTransport: SpanTransport?

    init(handler: WebSocketHandler, eventLoop: EventLoop, maxQueued: Int, maxQueuedBytes: Int, principal: Principal? = nil,
         spanTransport: SpanTransport? = nil)
    {
        self.principal = principal
        self.spanTransport = spanTransport
        self.eventLoop = eventLoop
        self.handler = NIOLoopBound(handler, eventLoop: eventLoop)
        self.maxQueued = max(4, maxQueued)
        self.maxQueuedBytes = maxQueuedBytes
    }

    func send(_ message: [UInt8]) {
        let (schedule, overflow) = lock.withLock { () -> (Bool, Bool) in
            if dead { return (false, false) }
            queue.append(message)
            queuedBytes += message.count
            if queue.count > maxQueued || (queuedBytes > maxQueuedBytes && queue.count > 1) {
                dead = true
                queue = []
                queuedBytes = 0
                return (false, true)
            }
            if scheduled { return (false, false) }
            scheduled = true
            return (true, false)
        }
        if overflow {
            eventLoop.execute { self.handler.value.abort() }
        } else if schedule {
            eventLoop.execute { self.drain() }
        }
    }

    func finish(_ answer: [UInt8]?) {
        if let answer { send(answer) }
    }

    func drain() {
        let h = handler.value
        let batch = lock.withLock { () -> [[UInt8]] in
            scheduled = false
            guard h.isWritable, !dead else { return [] }
            let b = queue
            queue = []
            queuedBytes = 0
            return b
        }
        if !batch.isEmpty { h.write(batch) }
    }

    func closed() {
        lock.withLock {
            dead = true
            queue = []
            queuedBytes = 0
        }
    }
}
