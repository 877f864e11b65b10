import Glibc
import Synchronization

/// The engine's own log lines (errors, warnings, the optional access log),
/// handed to one process-wide host hook (mcp_set_log_hook).
///
/// Records are queued and delivered on a thread of their own, never on the
/// thread that logged: that is often an I/O event loop, and host code (a
/// Python hook waiting for the GIL) must not stall it. The queue is bounded;
/// past it records are dropped and counted, and the next delivered record
/// says how many were lost. With no hook set, or below its level, a log call
/// costs one atomic load.
public enum EngineLog {
    /// Severities, numbered as Python's `logging` numbers them (MCP_LOG_* in mcp.h).
    public enum Level: Int32, Sendable, Comparable {
        case debug = 10, info = 20, warning = 30, error = 40

        public var name: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warning: "warning"
            case .error: "error"
            }
        }

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    /// One record, as the JSON object text the hook receives.
    public typealias Hook = @Sendable (Level, String) -> Void

    /// The lowest level delivered; Int32.max when no hook is set.
    private static let threshold = Atomic<Int32>(Int32.max)
    /// Records queued for the hook; past 4096 they are dropped and counted.
    private static let delivery = HookQueue<(Level, String)>(limit: 4096) { lost in
        (.warning, LogRecord(level: .warning, component: "log", message: "log records dropped: the hook did not keep up")
            .adding("dropped", .int(lost)).finish())
    }

    /// Whether a record at `level` would be delivered (to skip building it).
    @inline(__always)
    public static func enabled(_ level: Level) -> Bool {
        level.rawValue >= threshold.load(ordering: .relaxed)
    }

    /// Logs a message with extra fields (values: String, Int, Double, Bool).
    public static func log(_ level: Level, _ component: String, _ message: String,
                           _ fields: KeyValuePairs<String, LogValue> = [:])
    {
        guard enabled(level) else { return }
        var record = LogRecord(level: level, component: component, message: message)
        for (k, v) in fields { record.add(k, v) }
        delivery.push((level, record.finish()))
    }

    /// Queues a record built by the caller (check `enabled` first).
    public static func deliver(_ level: Level, _ record: LogRecord) {
        guard enabled(level) else { return }
        delivery.push((level, record.finish()))
    }

    public static func warning(_ component: String, _ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        log(.warning, component, message, fields)
    }

    public static func error(_ component: String, _ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        log(.error, component, message, fields)
    }

    public static func info(_ component: String, _ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        log(.info, component, message, fields)
    }

    /// Replaces the hook (nil removes it). When it returns the previous hook
    /// is not running and will not run again, unless called from the hook
    /// itself (it cannot wait for its own return then). Records still queued
    /// go to the new hook, or are dropped with none.
    public static func setHook(_ hook: Hook?, minimum: Level) {
        var forward: HookQueue<(Level, String)>.Hook?
        if let hook { forward = { item in hook(item.0, item.1) } }
        delivery.replace(forward)
        threshold.store(hook == nil ? Int32.max : minimum.rawValue, ordering: .relaxed)
    }

    /// Waits until every record queued so far was delivered (tests, shutdown).
    public static func flush(timeoutMs: Int) -> Bool { delivery.waitUntilEmpty(timeoutMs: timeoutMs) }
}

/// A field value of a log record.
public enum LogValue: Sendable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
}

/// A log record built as one JSON object: ts (UTC, RFC 3339 with
/// milliseconds), level, component, msg, then the extra fields in order.
public struct LogRecord: Sendable {
    private var text: String

    public init(level: EngineLog.Level, component: String, message: String) {
        text = "{\"ts\":\"\(Self.timestamp())\",\"level\":\"\(level.name)\",\"component\":"
        Self.appendQuoted(component, to: &text)
        text += ",\"msg\":"
        Self.appendQuoted(message, to: &text)
    }

    public mutating func add(_ key: String, _ value: LogValue) {
        text += ","
        Self.appendQuoted(key, to: &text)
        text += ":"
        switch value {
        case .string(let s): Self.appendQuoted(s, to: &text)
        case .int(let i): text += String(i)
        case .double(let d): text += d.isFinite ? String(d) : "null"
        case .bool(let b): text += b ? "true" : "false"
        }
    }

    public func adding(_ key: String, _ value: LogValue) -> LogRecord {
        var r = self
        r.add(key, value)
        return r
    }

    public func finish() -> String { text + "}" }

    /// JSON string escaping (RFC 8259): quote, backslash and control characters.
    static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }

    /// Now, as 2026-12-05T10:11:12.345Z (no Foundation in the engine).
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
            + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }
}
