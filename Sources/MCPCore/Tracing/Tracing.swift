import MCPRuntime
import Synchronization

/// The switch and the way out for request spans: one process-wide host hook
/// (mcp_set_trace_hook) that receives each finished span.
///
/// With no hook set, tracing costs one relaxed atomic load per request and
/// per request sent: no span is started, no id drawn, no `_meta` touched.
/// With a hook, a finished span is queued (HookQueue, as the log hook) and
/// handed over on the delivery thread, so neither an I/O loop nor a worker
/// waits for host code.
///
/// Why no tracing library here. swift-distributed-tracing (1.7.3) is an API
/// for Swift code that starts spans through a bootstrapped global `Tracer`
/// and carries them in `ServiceContext` task-locals; it has no span storage,
/// id generation, exporter or W3C propagation of its own, so it would only
/// add an existential `Span` per request and a second global to bootstrap,
/// while our requests cross threads in `InboundRequest` and peer tables, not
/// in Swift tasks where task-locals would follow them. The host already has
/// its tracer (OpenTelemetry in Python, Go or C++): the engine's job is to
/// record what happened and hand it over, so a span here is a plain value.
/// The W3C parts (ids, `traceparent` and `tracestate` parsing and printing)
/// come from swift-otel's swift-w3c-trace-context, which does exactly that.
public enum Tracing {
    private static let on = Atomic<Bool>(false)
    /// Finished spans waiting for the hook; past the bound they are dropped,
    /// and the engine log says how many.
    private static let delivery = HookQueue<SpanRecord>(limit: defaultQueueLimit) { lost in
        EngineLog.warning("trace", "spans dropped: the trace hook did not keep up", ["dropped": .int(lost)])
        return nil
    }
    public static let defaultQueueLimit = 4096

    /// Whether spans are recorded (a hook is set).
    @inline(__always)
    public static var isOn: Bool { on.load(ordering: .relaxed) }

    /// Replaces the hook (nil removes it: spans queued are dropped). When it
    /// returns the previous hook is not running and will not run again,
    /// unless called from the hook itself.
    public static func setHook(_ hook: (@Sendable (SpanRecord) -> Void)?, queueLimit: Int = defaultQueueLimit) {
        if hook == nil { on.store(false, ordering: .relaxed) }
        delivery.replace(hook, limit: queueLimit)
        if hook != nil { on.store(true, ordering: .relaxed) }
    }

    /// Waits until every span finished so far reached the hook (tests, shutdown).
    public static func flush(timeoutMs: Int) -> Bool { delivery.waitUntilEmpty(timeoutMs: timeoutMs) }

    static func emit(_ record: SpanRecord) { delivery.push(record) }
}
