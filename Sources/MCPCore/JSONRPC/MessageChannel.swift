import MCPRuntime
/// Where a session's outgoing messages go. A transport gives one channel per
/// incoming message (an HTTP POST's response stream, or stdout for stdio) and
/// one default channel for messages unrelated to any request (list changes,
/// the standalone GET stream). The engine never sees connections or streams.
///
/// Both methods may be called from several threads at once; an implementation
/// must keep each message whole.
public protocol MessageChannel: AnyObject, Sendable {
    /// A message related to the channel's request(s) but not a final answer:
    /// progress, logs, server-to-client requests made while handling it.
    func send(_ message: [UInt8])
    /// The final answer to one request received on this channel; nil when the
    /// request ends without an answer (it was cancelled or its session closed).
    func finish(_ answer: [UInt8]?)
    /// The final answer when it is a JSON-RPC error with `code`: a transport
    /// whose status line depends on it (HTTP at 2026-07-28) reads the code
    /// here instead of parsing the answer again. Defaults to `finish`.
    func finish(error answer: [UInt8], code: Int64)
    /// Who the messages arriving with this channel come from, when the
    /// transport authenticated them (HTTP with "auth"); nil otherwise.
    /// Calls read it as `ServerCall.principal`.
    var principal: Principal? { get }
    /// The W3C trace context the transport carried with these messages (an
    /// HTTP POST's `traceparent` and `tracestate` headers), read only while
    /// tracing is on; a request's own `_meta.traceparent` comes first.
    var traceHeaders: TraceHeaders? { get }
    /// How these messages travelled and from where, for the network
    /// attributes of their server spans; read only while tracing is on.
    var spanTransport: SpanTransport? { get }
    /// An empty array with room for at least `capacity` bytes, into which the
    /// next answer of about that size is written. A transport that is done
    /// with a large message's bytes once written (stdio) hands back the
    /// buffer of the last one, so megabytes of answer do not take fresh pages
    /// (a page fault each) every time. Defaults to a new array.
    func outputBuffer(capacity: Int) -> [UInt8]
}

/// A `traceparent` header and its optional `tracestate`.
public struct TraceHeaders: Sendable {
    public var traceParent: String
    public var traceState: String?

    public init(traceParent: String, traceState: String?) {
        self.traceParent = traceParent
        self.traceState = traceState
    }
}

extension MessageChannel {
    public func finish(error answer: [UInt8], code: Int64) { finish(answer) }
    public var principal: Principal? { nil }
    public var traceHeaders: TraceHeaders? { nil }
    public var spanTransport: SpanTransport? { nil }
    public func outputBuffer(capacity: Int) -> [UInt8] { JSONSerializer.emptyBuffer(capacity: capacity) }
}

/// A channel made of two closures, for transports that need no state of their own.
public final class ClosureChannel: MessageChannel {
    private let onSend: @Sendable ([UInt8]) -> Void
    private let onFinish: @Sendable ([UInt8]?) -> Void
    private let buffers: (@Sendable (Int) -> [UInt8])?
    public let spanTransport: SpanTransport?

    /// `outputBuffer`: where `outputBuffer(capacity:)` comes from (the default's new array when nil).
    public init(send: @escaping @Sendable ([UInt8]) -> Void, finish: @escaping @Sendable ([UInt8]?) -> Void,
                spanTransport: SpanTransport? = nil, outputBuffer: (@Sendable (Int) -> [UInt8])? = nil)
    {
        onSend = send
        onFinish = finish
        buffers = outputBuffer
        self.spanTransport = spanTransport
    }

    /// Everything, answers included, goes to one place (stdio, custom transports).
    public convenience init(spanTransport: SpanTransport? = nil, outputBuffer: (@Sendable (Int) -> [UInt8])? = nil,
                            _ write: @escaping @Sendable ([UInt8]) -> Void)
    {
        self.init(send: write, finish: { if let a = $0 { write(a) } }, spanTransport: spanTransport,
                  outputBuffer: outputBuffer)
    }

    public func send(_ message: [UInt8]) { onSend(message) }
    public func finish(_ answer: [UInt8]?) { onFinish(answer) }
    public func outputBuffer(capacity: Int) -> [UInt8] {
        buffers?(capacity) ?? JSONSerializer.emptyBuffer(capacity: capacity)
    }
}

/// Collects the answers to a JSON-RPC batch (revision 2025-03-26) into one
/// array answer on the underlying channel.
final class BatchChannel: MessageChannel {
    private let base: MessageChannel
    private let state: LockedState<(remaining: Int, answers: [[UInt8]])>

    init(base: MessageChannel, expected: Int) {
        self.base = base
        state = LockedState((expected, []))
    }

    func send(_ message: [UInt8]) { base.send(message) }
    var principal: Principal? { base.principal }
    var traceHeaders: TraceHeaders? { base.traceHeaders }
    var spanTransport: SpanTransport? { base.spanTransport }

    func finish(_ answer: [UInt8]?) {
        let done = state.withLock { s -> [[UInt8]]? in
            if let answer { s.answers.append(answer) }
            s.remaining -= 1
            return s.remaining == 0 ? s.answers : nil
        }
        guard let done else { return }
        if done.isEmpty {
            base.finish(nil)
            return
        }
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, a) in done.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: a)
        }
        out.append(UInt8(ascii: "]"))
        base.finish(out)
    }
}
