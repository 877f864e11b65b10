internal import NIOCore

/// Paces accepting ("accept_rate"): at most `perSecond` new connections a
/// second on one listening socket, with a burst of one accept batch. Without
/// it a burst of thousands of new connections keeps the event loop (and on a
/// small machine, the CPU) busy with TLS, parsing and set-up until all are in,
/// and every call on an already-open connection waits behind them. Paced,
/// the open connections are served between small slices of accepting; the
/// rest wait in the kernel's listen backlog (then in their SYN retries), which
/// costs the new connections time, not the open ones.
///
/// On the listening channel's pipeline, used on its event loop only: it holds
/// back the channel's `read` (one `read` accepts up to an accept batch) while
/// the bucket is empty and asks again once a token is due.
final class AcceptPacer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = Channel
    typealias InboundOut = Channel
    typealias OutboundIn = Never

    private let perSecond: Double
    private let burst: Double
    private var tokens: Double
    private var last = NIODeadline.now()
    private var retry: Scheduled<Void>?

    init(perSecond: Int, burst: Int) {
        self.perSecond = Double(perSecond)
        self.burst = Double(max(1, burst))
        tokens = self.burst
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        tokens -= 1  // may go below 0 by the rest of an accept batch: repaid before the next read
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        tokens = min(burst, tokens + Double((now - last).nanoseconds) / 1e9 * perSecond)
        last = now
        if tokens >= 1 {
            context.read()
            return
        }
        guard retry == nil else { return }
        let wait = TimeAmount.nanoseconds(Int64((1 - tokens) / perSecond * 1e9) + 1)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        retry = context.eventLoop.scheduleTask(in: wait) {
            let (pacer, context) = bound.value
            pacer.retry = nil
            pacer.read(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        retry?.cancel()
        retry = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        retry?.cancel()
        retry = nil
        context.fireChannelInactive()
    }
}
