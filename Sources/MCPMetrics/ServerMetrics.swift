import MCPCore
import MCPRuntime
import Prometheus
import Synchronization

/// One server's metrics, in a Prometheus registry of its own (swift-prometheus,
/// whose collectors implement swift-metrics' CoreMetrics handlers): what
/// MCPCore and the transports report through `ServerObserver`, the figures
/// read when scraped (`RuntimeFigures`), and the process figures.
///
/// Hot path, per request: one atomic for in-flight at arrival; at the end one
/// short lock to find the series (method, era, outcome), an atomic counter
/// increment and a histogram record (swift-prometheus locks each histogram).
/// Label sets are bounded: unknown methods count as "other", and only the
/// first `maxToolNames` tool names and `maxErrorCodes` error codes get a series
/// of their own, since both can come from clients.
///
/// Names follow Prometheus conventions and the OpenTelemetry MCP semantic
/// conventions where they exist (mcp.server.operation.duration,
/// mcp.method.name, gen_ai.tool.name), with dots made underscores.
public final class ServerMetrics: ServerObserver {
    public static let maxToolNames = 64
    public static let maxErrorCodes = 32
    public static let maxRefusalCauses = 32

    /// Requests a server answers; anything else is "other".
    static let knownMethods: Set<String> = [
        "initialize", "ping", "tools/list", "tools/call", "resources/list", "resources/templates/list",
        "resources/read", "resources/subscribe", "resources/unsubscribe", "prompts/list", "prompts/get",
        "logging/setLevel", "completion/complete", "tasks/get", "tasks/result", "tasks/cancel", "tasks/list",
        "server/discover", "subscriptions/listen",
    ]

    /// Seconds: the engine answers in microseconds, host tools in up to minutes.
    static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60), .seconds(120), .seconds(300),
    ]

    public let registry = PrometheusCollectorRegistry()
    private let inFlight = Atomic<Int>(0)
    private let table = LockedState(SeriesTable())

    private struct SeriesKey: Hashable {
        let method: String
        let era: ProtocolEra
        let outcome: RequestOutcome
    }

    private struct Series {
        let requests: Counter
        let duration: DurationHistogram
    }

    private struct SeriesTable {
        var series: [SeriesKey: Series] = [:]
        var tools: [String: DurationHistogram] = [:]
        var codes: Set<Int64> = []
        var refusals: [String: Counter] = [:]
    }

    private let received: Counter
    private let sent: Counter
    private let stored: Counter
    private let replayed: Counter
    private let streams: [StreamKind: Gauge]
    private let inFlightGauge: Gauge
    private let workerThreads: Gauge
    private let workerBusy: Gauge
    private let workerQueue: Gauge
    private let workerMax: Gauge
    private let connections: Gauge
    private let sessions: Gauge

    public init() {
        let r = registry
        received = r.makeCounter(descriptor: .init(namespace: "mcp", subsystem: "server", metricName: "received",
                                                   unitName: "bytes_total",
                                                   helpText: "Bytes of MCP messages received (HTTP bodies, WebSocket frames, stdio lines)"))
        sent = r.makeCounter(descriptor: .init(namespace: "mcp", subsystem: "server", metricName: "sent",
                                               unitName: "bytes_total",
                                               helpText: "Bytes of MCP messages and response bodies sent"))
        stored = r.makeCounter(descriptor: .init(namespace: "mcp", subsystem: "server", metricName: "events_stored",
                                                 unitName: "total", helpText: "SSE events kept for resumption"))
        replayed = r.makeCounter(descriptor: .init(namespace: "mcp", subsystem: "server", metricName: "events_replayed",
                                                   unitName: "total", helpText: "SSE events sent again to a resuming client"))
        var s: [StreamKind: Gauge] = [:]
        for kind in StreamKind.allCases {
            s[kind] = r.makeGauge(descriptor: Self.streamsDescriptor, labels: [("kind", kind.rawValue)])
        }
        streams = s
        func gauge(_ subsystem: String, _ name: String, _ help: String) -> Gauge {
            r.makeGauge(descriptor: .init(namespace: "mcp", subsystem: subsystem, metricName: name, unitName: "",
                                          helpText: help))
        }
        inFlightGauge = gauge("server", "calls_in_flight", "Requests received and not yet answered")
        workerThreads = gauge("worker", "threads", "Threads of the worker pool that runs host callbacks")
        workerBusy = gauge("worker", "busy_threads", "Worker threads running a callback")
        workerQueue = gauge("worker", "queue_depth", "Callbacks waiting for a worker thread")
        workerMax = gauge("worker", "max_threads", "The worker pool's thread limit (worker_threads)")
        connections = gauge("server", "connections", "Open HTTP and WebSocket connections of the listener")
        sessions = gauge("server", "sessions", "Open 2025-era sessions (Mcp-Session-Id) of the HTTP listener")
    }

    // Computed: MetricNameDescriptor is not Sendable, so it cannot be a static let.
    private static var streamsDescriptor: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mcp", subsystem: "server", metricName: "streams", unitName: "",
        helpText: "Open long-lived streams by kind (sse, websocket, stdio)") }
    private static var requestsDescriptor: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mcp", subsystem: "server", metricName: "requests", unitName: "total",
        helpText: "Requests answered, by method, era and outcome (ok, tool_error, cancelled, refused, or the JSON-RPC error code)") }
    private static var durationDescriptor: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mcp", subsystem: "server", metricName: "operation_duration", unitName: "seconds",
        helpText: "Time from a request's arrival to its answer, by method and era") }
    private static var toolDurationDescriptor: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mcp", subsystem: "server", metricName: "tool_duration", unitName: "seconds",
        helpText: "Time from a tools/call's arrival to its answer, by tool (names past the first 64: other)") }
    private static var refusalsDescriptor: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mcp", subsystem: "server", metricName: "refusals", unitName: "total",
        helpText: "Requests and connections refused, by cause (HTTP status, or a word such as connection_limit)") }

    // MARK: ServerObserver

    public func requestStarted() {
        inFlight.add(1, ordering: .relaxed)
    }

    public func requestFinished(method: String, toolName: String?, era: ProtocolEra, outcome: RequestOutcome,
                                nanoseconds: UInt64)
    {
        inFlight.subtract(1, ordering: .relaxed)
        let ns = Int64(clamping: nanoseconds)
        let (found, tool) = table.withLock { t -> (Series, DurationHistogram?) in
            let s = series(&t, method: method, era: era, outcome: outcome)
            guard let toolName else { return (s, nil) }
            return (s, toolHistogram(&t, toolName))
        }
        found.requests.increment()
        found.duration.recordNanoseconds(ns)
        tool?.recordNanoseconds(ns)
    }

    public func refused(cause: String, method: String?, asRequest: Bool) {
        let (counter, found) = table.withLock { t -> (Counter, Series?) in
            let key = t.refusals[cause] != nil || t.refusals.count < Self.maxRefusalCauses ? cause : "other"
            let c = t.refusals[key] ?? registry.makeCounter(descriptor: Self.refusalsDescriptor, labels: [("cause", key)])
            t.refusals[key] = c
            let s = asRequest ? series(&t, method: method ?? "unknown", era: .unknown, outcome: .refused) : nil
            return (c, s)
        }
        counter.increment()
        found?.requests.increment()
    }

    public func bytesReceived(_ count: Int) { received.increment(by: Int64(count)) }
    public func bytesSent(_ count: Int) { sent.increment(by: Int64(count)) }
    public func streamOpened(_ kind: StreamKind) { streams[kind]?.increment() }
    public func streamClosed(_ kind: StreamKind) { streams[kind]?.decrement() }
    public func eventsStored(_ count: Int) { stored.increment(by: Int64(count)) }
    public func eventsReplayed(_ count: Int) { replayed.increment(by: Int64(count)) }

    /// Requests received and not yet answered.
    public var callsInFlight: Int { inFlight.load(ordering: .relaxed) }

    // MARK: series

    private func series(_ t: inout SeriesTable, method: String, era: ProtocolEra, outcome: RequestOutcome) -> Series {
        let key = SeriesKey(method: method, era: era, outcome: outcome)
        if let s = t.series[key] { return s }
        let m = Self.knownMethods.contains(method) || method == "unknown" ? method : "other"
        var label: String
        switch outcome {
        case .ok: label = "ok"
        case .toolError: label = "tool_error"
        case .cancelled: label = "cancelled"
        case .refused: label = "refused"
        case .error(let code):
            if t.codes.contains(code) || t.codes.count < Self.maxErrorCodes {
                t.codes.insert(code)
                label = String(code)
            } else {
                label = "error_other"
            }
        }
        let s = Series(
            requests: registry.makeCounter(descriptor: Self.requestsDescriptor,
                                           labels: [("mcp_method_name", m), ("mcp_era", era.rawValue), ("outcome", label)]),
            duration: registry.makeDurationHistogram(descriptor: Self.durationDescriptor,
                                                     labels: [("mcp_method_name", m), ("mcp_era", era.rawValue)],
                                                     buckets: Self.durationBuckets))
        // Only known keys are kept: an unbounded stream of made-up methods
        // must not grow the table (they all map to the "other" series).
        if m == method, label != "error_other" { t.series[key] = s }
        return s
    }

    private func toolHistogram(_ t: inout SeriesTable, _ name: String) -> DurationHistogram {
        if let h = t.tools[name] { return h }
        let label = t.tools.count < Self.maxToolNames ? name : "other"
        let h = t.tools[label] ?? registry.makeDurationHistogram(descriptor: Self.toolDurationDescriptor,
                                                                 labels: [("gen_ai_tool_name", label)],
                                                                 buckets: Self.durationBuckets)
        t.tools[label] = h
        return h
    }

    // MARK: exposition

    /// The Prometheus text exposition (format 0.0.4): the registry with the
    /// figures read now, then the process figures.
    public func exposition(_ figures: RuntimeFigures) -> String {
        inFlightGauge.set(Int64(callsInFlight))
        workerThreads.set(Int64(figures.workerThreads))
        workerBusy.set(Int64(figures.busyWorkers))
        workerQueue.set(Int64(figures.queueDepth))
        workerMax.set(Int64(figures.maxWorkers))
        connections.set(Int64(figures.connections))
        sessions.set(Int64(figures.sessions))
        return registry.emitToString() + ProcessFigures.read().exposition()
    }
}

/// What is read from the rest of the server when it is scraped.
public struct RuntimeFigures: Sendable {
    public var workerThreads = 0
    public var busyWorkers = 0
    public var queueDepth = 0
    public var maxWorkers = 0
    public var connections = 0
    public var sessions = 0

    public init() {}
}
